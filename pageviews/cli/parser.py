"""The arguments of ``pageviews``, ``pageviews batch`` and ``pageviews report``.

Every default a flag shares with the library is read from the library's own:
:class:`~pageviews.options.RunSettings`, :class:`~pageviews.canvas.retry.RetryPolicy`
and the client's constants, so the two cannot drift apart.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

from ..canvas.client import DEFAULT_MAX_BODY, DEFAULT_TIMEOUT
from ..canvas.retry import RetryPolicy
from ..errors import UsageError
from ..options import RunSettings
from ..sources.history_plan import MODES
from ..store.location import STATE_VARIABLE, StateLocation
from ..tokens import DEFAULT_TOKEN_FILE

#: The library's defaults, which the flags' defaults are.
DEFAULTS = RunSettings()


def add_state(parser: argparse.ArgumentParser, help: str, default: str | None = None) -> None:
    """``--state``, defaulting to ``$PAGEVIEWS_STATE``: a URL with a password need not be
    on a command line, where ``ps`` would show it."""
    parser.add_argument(
        "--state",
        type=StateLocation.of,
        default=os.environ.get(STATE_VARIABLE, "").strip() or default,
        metavar="STATE",
        help=help,
    )


RETRY = RetryPolicy()
#: The zone of bare dates unless ``--timezone`` names another.
DEFAULT_TIMEZONE = "UTC"


def _version() -> str:
    try:
        return metadata.version("pageviews")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def readme() -> str:
    """The README: the source tree's when run from one, else the installed metadata's.

    An editable install's metadata holds the README as it was at install time, so a
    source tree's own file is the newer one.
    """
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "README.md").is_file():
        return (root / "README.md").read_text(encoding="utf-8")
    try:
        return str(metadata.metadata("pageviews").json.get("description", ""))
    except metadata.PackageNotFoundError:
        return ""


class _ReadmeAction(argparse.Action):
    """``--readme``: the README ships inside the installed package's metadata."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        text = readme().rstrip("\n")
        print(text or "This copy was installed without its README: see README.md in the source.")
        parser.exit()


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are :class:`UsageError` (exit 2, one line).

    An error points to the help of the (sub)command that raised it.

    Its date options take the relative forms (``--before -180d``): argparse alone
    reads a value starting with ``-`` as a flag, so each is joined to its option
    (``--before=-180d``) before parsing. No option starts with a dash and a digit.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.date_options: set[str] = set()

    def add_date(self, *names: str, **kwargs: Any) -> None:
        """An option whose value is a date: YYYY-MM-DD, ISO 8601, today, yesterday or -Nd."""
        self.add_argument(*names, metavar=kwargs.pop("metavar", "WHEN"), **kwargs)
        self.date_options.update(names)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        """Parse as argparse does, after joining each date option to a relative value."""
        given = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(join_dates(given, self.date_options), namespace)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def join_dates(args: list[str], options: set[str]) -> list[str]:
    """Join ``--start_time -7d`` into ``--start_time=-7d`` for each of ``options``."""
    joined: list[str] = []
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        following = args[i + 1] if i + 1 < len(args) else ""
        if arg in options and following[:1] == "-" and following[1:2].isdigit():
            joined.append(f"{arg}={following}")
            skip = True
        else:
            joined.append(arg)
    return joined


def build_parser(*, report: bool = False, batch: bool = False) -> Parser:
    """The argument parser; underscore spellings match the original script.

    ``report=True`` is ``pageviews report``: the same selection of course, range and
    enrollments, rendered from the state store without any request to Canvas.
    ``batch=True`` is ``pageviews batch``: many courses, each user read once.
    """
    if batch:
        prog, description = (
            "pageviews batch",
            (
                "Harvest many courses in one run, each user's page views read once, into "
                "OUT_DIR/<course_id>/ and OUT_DIR/batch-summary.{json,csv}."
            ),
        )
    elif report:
        prog, description = (
            "pageviews report",
            ("Rebuild the three reports from the state store, offline."),
        )
    else:
        prog, description = (
            "pageviews",
            ("Harvest a Canvas course's page views into three reports (CSV and JSON)."),
        )
    p = Parser(
        prog=prog,
        description=description,
        epilog="Documentation: pageviews --readme, and the pages under docs/ it lists "
        "(usage, exit codes and bad input: docs/usage.md). "
        "Subcommands: pageviews batch, pageviews report, pageviews store, pageviews fake-canvas",
    )
    p.add_argument("--version", action="version", version=f"pageviews {_version()}")
    p.add_argument(
        "--readme", action=_ReadmeAction, help="print the documentation (the README) and exit"
    )
    if batch:
        p.add_argument("courses", nargs="*", metavar="COURSE", help="course ids or sis forms")
        p.add_argument(
            "--courses-file",
            "--courses_file",
            type=Path,
            help="a file of courses, one per line ('#' starts a comment)",
        )
        p.add_argument("--account", help="with --term: every course of this account in the term")
        p.add_argument("--term", help="the enrollment term id (or sis_term_id:X) for --account")
    else:
        p.add_argument("course", help="course id, or sis_course_id:<id>")
    _selection_arguments(p)
    if not report:
        _harvest_arguments(p)
    return p


def _selection_arguments(p: Parser) -> None:
    """The range, the enrollments and the outputs: what every one of the three reads."""
    p.add_date(
        "--start_time",
        "--start-time",
        required=True,
        help="YYYY-MM-DD (from the start of that day), ISO 8601, or for cron today, "
        "yesterday or -Nd (N days ago, a whole day like YYYY-MM-DD)",
    )
    p.add_date(
        "--end_time",
        "--end-time",
        required=True,
        help="YYYY-MM-DD (inclusive: through the end of that day), ISO 8601, today, "
        "yesterday or -Nd",
    )
    p.add_argument(
        "--enrollment_types",
        "--enrollment-types",
        nargs="+",
        metavar="TYPE",
        help="e.g. StudentEnrollment (default: all types)",
    )
    p.add_argument(
        "--enrollment_states",
        "--enrollment-states",
        nargs="+",
        metavar="STATE",
        help="e.g. active completed (default: Canvas's default states)",
    )
    p.add_argument(
        "--timezone",
        default=DEFAULT_TIMEZONE,
        help=f"zone for bare dates (default {DEFAULT_TIMEZONE})",
    )
    p.add_argument(
        "--out-dir", "--out_dir", type=Path, default=DEFAULTS.out_dir, help="report directory"
    )
    add_state(p, "state store: a SQLite file or a postgresql:// URL (default "
              "$PAGEVIEWS_STATE, else OUT_DIR/pageviews-state.sqlite)")  # fmt: skip
    p.add_argument(
        "--excel",
        action="store_true",
        help="every CSV for spreadsheets (reports, tables, batch summary): a UTF-8 "
        "byte-order mark, and a ' before text cells starting with = + - @ so they are "
        "not run as formulas",
    )
    p.add_argument(
        "--format",
        action="append",
        metavar="FORMATS",
        help=f"report formats, comma-separated: csv, json, jsonl, parquet (default "
        f"{','.join(DEFAULTS.formats)}; parquet needs pip install 'pageviews[parquet]')",
    )
    p.add_argument(
        "--records-dataset",
        action="store_true",
        help="also write page-views_<course>_<range>: one row per view, every field",
    )
    p.add_argument(
        "--include-ip",
        action="store_true",
        help="keep remote_ip in the records dataset (personal data: off by default)",
    )
    p.add_argument("--no-summary", action="store_true", help="write no summary HTML")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")


def _harvest_arguments(p: Parser) -> None:
    """Talking to Canvas: the address, the token, the client, the sources."""
    p.add_argument("--base-url", "--base_url", help="Canvas address (default $CANVAS_BASE_URL)")
    p.add_argument(
        "--token-file",
        "--token_file",
        type=Path,
        help=f"file holding the access token (default $CANVAS_TOKEN, else {DEFAULT_TOKEN_FILE})",
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="start this selection's run over instead of resuming it (other data is kept)",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULTS.workers,
        help=f"most requests in flight (default {DEFAULTS.workers}; "
        "Canvas's rate-limit headers may hold it lower)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds one request may take, body included, before it is retried "
        f"(default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument(
        "--max-body-mb",
        type=float,
        default=DEFAULT_MAX_BODY / 2**20,
        help=f"largest response read, MiB (default {DEFAULT_MAX_BODY // 2**20})",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=RETRY.attempts,
        help=f"tries per request against faults (default {RETRY.attempts}); throttles are "
        "waited out until --retry-time instead",
    )
    p.add_argument(
        "--retry-max-wait",
        type=float,
        default=RETRY.cap,
        help=f"longest wait between tries, seconds (default {RETRY.cap:g})",
    )
    p.add_argument(
        "--retry-time",
        type=float,
        default=RETRY.max_elapsed,
        help=f"give up on a request after this many seconds of retrying "
        f"(default {RETRY.max_elapsed:g})",
    )
    p.add_argument("--retry-base-wait", type=float, default=RETRY.initial, help=argparse.SUPPRESS)
    # Seconds between the progress lines of --log-format json.
    p.add_argument("--progress-every", type=float, default=10.0, help=argparse.SUPPRESS)
    p.add_argument("--no-split", action="store_true", help="never split heavy users in time")
    p.add_argument(
        "--incremental",
        action="store_true",
        help="read only what the store does not cover yet (re-reading --overlap)",
    )
    overlap = DEFAULTS.overlap / timedelta(minutes=1)
    p.add_argument(
        "--overlap",
        type=float,
        default=overlap,
        metavar="MINUTES",
        help="with --incremental: re-read this much before where each user's coverage "
        f"was read, for views that arrive late (default {overlap:g})",
    )
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="json: one JSON object per line on stderr, for log collectors",
    )
    p.add_argument(
        "--history",
        choices=MODES,
        default=os.environ.get("PAGEVIEWS_HISTORY", DEFAULTS.history),
        help="older views from Canvas's page-view history: auto (beyond the list window), "
        f"only, never (default {DEFAULTS.history}, or $PAGEVIEWS_HISTORY)",
    )
    p.add_argument(
        "--history-wait",
        type=float,
        default=DEFAULTS.history_wait,
        metavar="SECONDS",
        help="longest a history job may stay queued or running, and a start may wait for "
        "a free job slot, before its users are named incomplete; a rerun polls the same "
        f"job again (default {DEFAULTS.history_wait:g})",
    )
    p.add_argument(
        "--list-window-days",
        "--list_window_days",
        type=int,
        default=DEFAULTS.list_window_days,
        help="days back the list endpoint serves, counted from now "
        f"(default {DEFAULTS.list_window_days})",
    )
    # The moment the run takes as now: for a simulated Canvas with its own clock.
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.add_argument("--allow-http", action="store_true", help="allow plain http to a remote host")
    p.add_argument("-v", "--verbose", action="store_true", help="log each step")
