"""The command line: ``pageviews COURSE``, ``batch``, ``report``, ``store`` and ``fake-canvas``.

One module per subcommand parses its arguments, runs the library and raises
:class:`~pageviews.errors.PageviewsError` when it fails; :mod:`.shell` turns that into
one line on stderr and an exit code. :mod:`.parser` reads every default it shares
with the library from the library's options.
"""

from .dispatch import main

__all__ = ["main"]
