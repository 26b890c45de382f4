"""``pageviews``: choose the subcommand, run it guarded, return its exit code."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..interrupts import sigterm_as_interrupt
from .batch import batch_main
from .harvest import harvest_main
from .invocation import Invocation
from .report import report_main
from .shell import choose_log_format, guarded
from .store import store_main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["fake-canvas"]:
        from ..testing.__main__ import main as fake_main

        return fake_main(args[1:])
    choose_log_format(args)
    with sigterm_as_interrupt():
        if args[:1] == ["report"]:
            return guarded(lambda: report_main(args[1:]), None)
        if args[:1] == ["store"]:
            return guarded(lambda: store_main(args[1:]), None)
        holder: list[Invocation] = []
        if args[:1] == ["batch"]:
            return guarded(lambda: batch_main(args[1:], holder), holder)
        return guarded(lambda: harvest_main(args, holder), holder)
