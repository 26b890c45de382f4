"""What every subcommand shares: its messages, its logging, and failures as exit codes.

A subcommand raises :class:`~pageviews.errors.PageviewsError` (or is interrupted);
:func:`guarded` turns that into one line on stderr and the error's exit code.
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from itertools import pairwise

from ..errors import PageviewsError, first_error
from ..interrupts import Terminated
from ..jsonlog import emit, log_json
from ..logsetup import log_verbosely
from .invocation import Invocation

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a run killed by it
EXIT_INTERNAL = 70

_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*):\S*@")
#: ``--log-format``: "text" lines, or JSON objects for log collectors.
_LOG_FORMAT: list[str] = ["text"]


def choose_log_format(args: Sequence[str]) -> None:
    """Read ``--log-format`` before parsing, so even a usage error speaks the chosen way."""
    flagged = any(a == "--log-format" and b == "json" for a, b in pairwise(args))
    _LOG_FORMAT[0] = "json" if "--log-format=json" in args or flagged else "text"


def json_lines() -> bool:
    """Whether this run speaks JSON lines on stderr (``--log-format json``)."""
    return _LOG_FORMAT[0] == "json"


def say(line: str) -> None:
    """One message on stderr: ``pageviews: LINE``, or a JSON line with its level."""
    if json_lines():
        level, _, text = line.partition(": ")
        known = level in ("error", "warning", "note", "internal error")
        emit(sys.stderr, text if known else line, level if known else "info")
    else:
        print(f"pageviews: {line}", file=sys.stderr)


def logging_for(inv: Invocation) -> AbstractContextManager[object]:
    """``-v`` text lines, or with ``--log-format json`` every step as a JSON line."""
    if json_lines():
        return log_json(sys.stderr)
    return log_verbosely(sys.stderr) if inv.verbose else nullcontext()


def guarded(body: Callable[[], int], holder: list[Invocation] | None) -> int:
    """Run ``body``; turn every failure into one line on stderr and an exit code.

    ``holder`` receives the run's :class:`Invocation` once it is resolved: its token
    is kept out of every message, and an interruption names its state store.
    """

    def redact(text: str) -> str:
        token = holder[0].token if holder else ""
        text = _URL_PASSWORD.sub(r"\1@", text)  # a database URL's password, wherever it came from
        return text.replace(token, "[token]") if token else text

    try:
        try:
            return body()
        except BaseExceptionGroup as group:
            # A task group wraps what its tasks raised: report the error, not the wrapper.
            raise first_error(group) from None
    except SystemExit as exc:  # --help, --version, --readme
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt as exc:
        where = f" (state in {holder[0].options.state})" if holder else ""
        what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        say(f"{what}; run the same command again to resume{where}")
        return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
    except PageviewsError as exc:
        say(f"error: {redact(str(exc))}")
        return exc.exit_code
    except Exception as exc:
        # The last line of defence: no traceback for users, and never the token.
        say(f"internal error: {type(exc).__name__}: {redact(str(exc))}")
        if holder and holder[0].verbose:
            say(redact(traceback.format_exc()))
        return EXIT_INTERNAL
