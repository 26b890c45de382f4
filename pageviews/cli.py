"""The command line: parse, run the library, map errors to one line and an exit code."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from importlib import metadata
from itertools import pairwise
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import aiohttp
import anyio

from .canvas.client import DEFAULT_CONCURRENCY, DEFAULT_MAX_BODY, CanvasClient, normalize_base_url
from .canvas.retry import RetryPolicy
from .courselist import course_ref
from .errors import (
    CanvasUnreachableError,
    IncompleteHarvestError,
    PageviewsError,
    UsageError,
    first_error,
)
from .gctune import fewer_collections
from .harvest import (
    HarvestOptions,
    HarvestResult,
    Progress,
    harvest_course,
)
from .interrupts import SigtermWatch, Terminated, sigterm_as_interrupt
from .jsonlog import emit, log_json
from .logsetup import log_verbosely
from .options import DEFAULT_HISTORY, ENROLLMENT_STATES, ENROLLMENT_TYPES, BatchOptions
from .outputs.formats import DEFAULT_FORMATS, parse_formats
from .outputs.rebuild import rebuild_reports
from .progress import counted, log_progress, show_progress, summary_lines
from .sources.history_calls import DEFAULT_HISTORY_WAIT
from .sources.history_plan import MODES
from .timerange import TimeRange, parse_bound, parse_timezone
from .tokens import DEFAULT_TOKEN_FILE, read_token

T = TypeVar("T")
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a run killed by it
EXIT_INTERNAL = 70


def _version() -> str:
    try:
        return metadata.version("pageviews")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


class _ReadmeAction(argparse.Action):
    """``--readme``: the README ships inside the installed package's metadata."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        try:
            text = str(metadata.metadata("pageviews").json.get("description", ""))
        except metadata.PackageNotFoundError:
            text = ""
        print(text or "This copy was installed without its README: see README.md in the source.")
        parser.exit()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see pageviews --help)")


def build_parser(*, report: bool = False, batch: bool = False) -> argparse.ArgumentParser:
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
    p = _Parser(
        prog=prog,
        description=description,
        epilog="Documentation (usage, exit codes, bad input, the library): pageviews --readme. "
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
    p.add_argument(
        "--start_time",
        "--start-time",
        required=True,
        metavar="WHEN",
        help="YYYY-MM-DD (start of day) or ISO 8601",
    )
    p.add_argument(
        "--end_time",
        "--end-time",
        required=True,
        metavar="WHEN",
        help="YYYY-MM-DD (inclusive: through the end of that day) or ISO 8601",
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
    p.add_argument("--timezone", default="UTC", help="zone for bare dates (default UTC)")
    p.add_argument("--out-dir", "--out_dir", type=Path, default=Path(), help="report directory")
    p.add_argument(
        "--state", type=Path, help="state store (default OUT_DIR/pageviews-state.sqlite)"
    )
    p.add_argument(
        "--excel",
        action="store_true",
        help="CSV for spreadsheets: a UTF-8 byte-order mark, and a ' before cells "
        "starting with = + - @ so they are not run as formulas",
    )
    p.add_argument(
        "--format",
        action="append",
        metavar="FORMATS",
        help="report formats, comma-separated: csv, json, jsonl, parquet (default csv,json; "
        "parquet needs pip install 'pageviews[parquet]')",
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
    if report:
        return p
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
        default=DEFAULT_CONCURRENCY,
        help=f"most requests in flight (default {DEFAULT_CONCURRENCY}; "
        "Canvas's rate-limit headers may hold it lower)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds one request may take, body included, before it is retried (default 60)",
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
        default=10,
        help="tries per request against faults (default 10); throttles are waited out "
        "until --retry-time instead",
    )
    p.add_argument(
        "--retry-max-wait",
        type=float,
        default=60.0,
        help="longest wait between tries, seconds (default 60)",
    )
    p.add_argument(
        "--retry-time",
        type=float,
        default=900.0,
        help="give up on a request after this many seconds of retrying (default 900)",
    )
    p.add_argument("--retry-base-wait", type=float, default=1.0, help=argparse.SUPPRESS)
    # Seconds between the progress lines of --log-format json.
    p.add_argument("--progress-every", type=float, default=10.0, help=argparse.SUPPRESS)
    p.add_argument("--no-split", action="store_true", help="never split heavy users in time")
    p.add_argument(
        "--incremental",
        action="store_true",
        help="read only what the store does not cover yet (re-reading --overlap)",
    )
    p.add_argument(
        "--overlap",
        type=float,
        default=60.0,
        metavar="MINUTES",
        help="with --incremental: re-read this much before where each user's coverage "
        "was read, for views that arrive late (default 60)",
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
        default=os.environ.get("PAGEVIEWS_HISTORY", DEFAULT_HISTORY),
        help="older views from Canvas's page-view history: auto (beyond the list window), "
        "only, never (default auto, or $PAGEVIEWS_HISTORY)",
    )
    p.add_argument(
        "--history-wait",
        type=float,
        default=DEFAULT_HISTORY_WAIT,
        metavar="SECONDS",
        help="longest a history job may stay queued or running, and a start may wait for "
        "a free job slot, before its users are named incomplete; a rerun polls the same "
        f"job again (default {DEFAULT_HISTORY_WAIT:g})",
    )
    p.add_argument(
        "--list-window-days",
        "--list_window_days",
        type=int,
        default=30,
        help="days back the list endpoint serves, counted from now (default 30)",
    )
    # The moment the run takes as now: for a simulated Canvas with its own clock.
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.add_argument("--allow-http", action="store_true", help="allow plain http to a remote host")
    p.add_argument("-v", "--verbose", action="store_true", help="log each step")
    return p


@dataclass(frozen=True, slots=True)
class Invocation:
    """Everything a run needs, validated."""

    base_url: str
    token: str
    options: HarvestOptions | BatchOptions
    retry: RetryPolicy
    concurrency: int
    timeout: float
    max_body: int
    verbose: bool
    quiet: bool
    now: datetime | None = None
    progress_every: float = 10.0  # seconds between JSON progress lines


def _names(
    values: Sequence[str] | None, allowed: Sequence[str], what: str, suffix: str = ""
) -> tuple[str, ...] | None:
    if not values:
        return None
    lookup = {a.lower(): a for a in allowed}
    lookup.update({a.lower().removesuffix(suffix.lower()): a for a in allowed} if suffix else {})
    chosen: list[str] = []
    for value in values:
        for item in filter(None, (v.strip() for v in value.split(","))):
            if item.lower() not in lookup:
                raise UsageError(f"unknown {what} {item!r} (one of: {', '.join(allowed)})")
            chosen.append(lookup[item.lower()])
    return tuple(dict.fromkeys(chosen))


def selected_range(
    args: argparse.Namespace,
) -> tuple[TimeRange, tuple[str, ...] | None, tuple[str, ...] | None]:
    """The range and the enrollment filter the arguments select."""
    tz = parse_timezone(args.timezone)
    now = datetime.now(UTC)
    start = parse_bound(args.start_time, tz, end=False, flag="--start_time", now=now)
    end = parse_bound(args.end_time, tz, end=True, flag="--end_time", now=now)
    if end < start:
        raise UsageError("--end_time is before --start_time")
    if start > now:
        raise UsageError("--start_time is in the future")
    types = _names(args.enrollment_types, ENROLLMENT_TYPES, "enrollment type", "Enrollment")
    states = _names(args.enrollment_states, ENROLLMENT_STATES, "enrollment state")
    return TimeRange(start, end), types, states


def selection(args: argparse.Namespace) -> HarvestOptions:
    """The course, range, enrollments and paths the arguments select."""
    course = course_ref(str(args.course))
    time_range, types, states = selected_range(args)
    return HarvestOptions(
        course=course,
        time_range=time_range,
        enrollment_types=types,
        enrollment_states=states,
        out_dir=args.out_dir,
        state_path=args.state,
        excel=args.excel,
        formats=parse_formats(args.format) if args.format else DEFAULT_FORMATS,
        records_dataset=args.records_dataset,
        include_ip=args.include_ip,
        summary=not args.no_summary,
    )


def resolve(args: argparse.Namespace, environ: dict[str, str] | os._Environ[str]) -> Invocation:
    """Validate the parsed arguments and gather the run's inputs."""
    options = selection(args)
    if args.overlap < 0:
        raise UsageError("--overlap must not be negative")
    options = replace(
        options,
        fresh=args.fresh,
        workers=args.concurrency,
        split_heavy_users=not args.no_split,
        incremental=args.incremental,
        overlap=timedelta(minutes=args.overlap),
        history=args.history,
        list_window_days=args.list_window_days,
        history_wait=args.history_wait,
    )
    return resolve_client(args, environ, options)


def resolve_client(
    args: argparse.Namespace,
    environ: dict[str, str] | os._Environ[str],
    options: HarvestOptions | BatchOptions,
) -> Invocation:
    """Check the client settings and read the token: everything to talk to Canvas."""
    if (
        min(args.concurrency, args.retries) < 1
        or not min(args.timeout, args.retry_time, args.max_body_mb) > 0
    ):
        raise UsageError(
            "--concurrency, --retries, --retry-time, --timeout and --max-body-mb must be positive"
        )
    base = args.base_url or environ.get("CANVAS_BASE_URL")
    if not base:
        raise UsageError(
            "no Canvas address: pass --base-url https://canvas.example.edu or set CANVAS_BASE_URL"
        )
    base_url = normalize_base_url(base, allow_http=args.allow_http)
    retry = RetryPolicy(
        attempts=args.retries,
        max_elapsed=args.retry_time,
        initial=args.retry_base_wait,
        cap=args.retry_max_wait,
    )
    return Invocation(
        base_url=base_url,
        token=read_token(args.token_file, environ),
        options=options,
        retry=retry,
        concurrency=args.concurrency,
        timeout=args.timeout,
        max_body=int(args.max_body_mb * 2**20),
        verbose=args.verbose,
        quiet=args.quiet,
        now=None if args.now is None else parse_bound(args.now, UTC, end=False, flag="--now"),
        progress_every=max(0.01, args.progress_every),
    )


async def run(inv: Invocation, sigterm: SigtermWatch | None = None) -> HarvestResult:
    """Harvest with a fresh session, showing progress on a terminal; SIGTERM cancels it."""
    options = inv.options
    assert isinstance(options, HarvestOptions)

    moment = inv.now
    clock = (lambda: datetime.now(UTC)) if moment is None else (lambda: moment)

    async def job(client: CanvasClient, progress: Progress) -> HarvestResult:
        return await harvest_course(client, options, progress=progress, now=clock)

    with (sigterm or SigtermWatch()).cancelling_this_task():
        return await with_client(inv, job)


async def with_client(inv: Invocation, job: Callable[[CanvasClient, Progress], Awaitable[T]]) -> T:
    """Run ``job`` with a client on a fresh session, showing progress on a terminal.

    With ``--log-format json`` the same counters and estimate go out as a JSON line
    every ``--progress-every`` seconds instead.
    """
    progress = Progress()
    connector = aiohttp.TCPConnector(limit=inv.concurrency + 4)
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        client = CanvasClient(
            session,
            inv.base_url,
            inv.token,
            retry=inv.retry,
            concurrency=inv.concurrency,
            timeout=inv.timeout,
            max_body=inv.max_body,
        )
        done = anyio.Event()
        counters = (progress, client.stats, client.gate, sys.stderr, done)
        if inv.quiet:
            return await job(client, progress)
        if json_lines():
            display = partial(log_progress, *counters, inv.progress_every)
        elif sys.stderr.isatty():
            display = partial(show_progress, *counters)
        else:
            return await job(client, progress)
        failure: PageviewsError | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(display)
            try:
                result = await job(client, progress)
            except PageviewsError as exc:
                # Raised outside the task group, so it is not wrapped in an ExceptionGroup.
                failure = exc
            finally:
                done.set()
    if failure is not None:
        raise failure
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = relative_dates(list(sys.argv[1:] if argv is None else argv))
    if args[:1] == ["fake-canvas"]:
        from .testing.__main__ import main as fake_main

        return fake_main(args[1:])
    _LOG_FORMAT[0] = (
        "json" if "--log-format=json" in args or _follows(args, "--log-format", "json") else "text"
    )
    with sigterm_as_interrupt():
        if args[:1] == ["report"]:
            return _guarded(lambda: _report(args[1:]), None)
        if args[:1] == ["store"]:
            from .storecli import store_main

            return _guarded(lambda: store_main(args[1:]), None)
        holder: list[Invocation] = []
        if args[:1] == ["batch"]:
            from .batchcli import batch_main

            return _guarded(lambda: batch_main(args[1:], holder), holder)
        return _guarded(lambda: _harvest(args, holder), holder)


def _follows(args: list[str], flag: str, value: str) -> bool:
    return any(a == flag and b == value for a, b in pairwise(args))


_DATE_FLAGS = frozenset({"--start_time", "--start-time", "--end_time", "--end-time"})


def relative_dates(args: list[str]) -> list[str]:
    """Join ``--start_time -7d`` into ``--start_time=-7d``: argparse takes -7d for a flag."""
    joined: list[str] = []
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        following = args[i + 1] if i + 1 < len(args) else ""
        if arg in _DATE_FLAGS and following[:1] == "-" and following[1:-1].isdigit():
            joined.append(f"{arg}={following}")
            skip = True
        else:
            joined.append(arg)
    return joined


def logging_for(inv: Invocation) -> AbstractContextManager[object]:
    """``-v`` text lines, or with ``--log-format json`` every step as a JSON line."""
    if json_lines():
        return log_json(sys.stderr)
    return log_verbosely(sys.stderr) if inv.verbose else nullcontext()


def _harvest(args: list[str], holder: list[Invocation]) -> int:
    inv = resolve(build_parser().parse_args(args), os.environ)
    holder.append(inv)
    sigterm = SigtermWatch()
    try:
        with fewer_collections(), logging_for(inv):
            result = anyio.run(run, inv, sigterm)
    except asyncio.CancelledError:
        if sigterm.seen:
            raise Terminated from None
        raise
    except CanvasUnreachableError as exc:
        if not inv.options.store_path.exists():
            raise
        raise CanvasUnreachableError(
            f"{exc}; what was harvested is kept in {inv.options.store_path}: "
            "run the same command again to resume"
        ) from None
    if sigterm.seen:  # it landed after the last await: the reports are complete
        raise Terminated
    if not inv.quiet:
        for line in summary_lines(result):
            _say(line)
    if not result.complete:
        raise IncompleteHarvestError(
            f"{counted(len(result.failed_users), 'user')} incomplete (named above), "
            "reports written without them; run the same command again to retry them"
        )
    return 0


def _report(args: list[str]) -> int:
    parsed = build_parser(report=True).parse_args(args)
    options = selection(parsed)
    result = rebuild_reports(options.as_batch())
    if not parsed.quiet:
        _say(
            f"{counted(result.records, 'page view')} of course {result.course_id} "
            f"from {options.store_path}"
        )
        _say("reports: " + ", ".join(sorted(str(p) for p in result.reports.values())))
    if result.failed_users:
        raise IncompleteHarvestError(
            f"{counted(len(result.failed_users), 'user')} could not be read in that harvest "
            f"({', '.join(map(str, result.failed_users))}), reports written without them; "
            "run the harvest again to retry them"
        )
    return 0


#: ``--log-format``: "text" lines, or JSON objects for log collectors.
_LOG_FORMAT: list[str] = ["text"]


def json_lines() -> bool:
    """Whether this run speaks JSON lines on stderr (``--log-format json``)."""
    return _LOG_FORMAT[0] == "json"


def _say(line: str) -> None:
    if json_lines():
        level, _, text = line.partition(": ")
        known = level in ("error", "warning", "note", "internal error")
        emit(sys.stderr, text if known else line, level if known else "info")
    else:
        print(f"pageviews: {line}", file=sys.stderr)


def _guarded(body: Callable[[], int], holder: list[Invocation] | None) -> int:
    """Run ``body``; turn every failure into one line on stderr and an exit code."""

    def redact(text: str) -> str:
        token = holder[0].token if holder else ""
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
        where = f" (state in {holder[0].options.store_path})" if holder else ""
        what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        _say(f"{what}; run the same command again to resume{where}")
        return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
    except PageviewsError as exc:
        _say(f"error: {redact(str(exc))}")
        return exc.exit_code
    except Exception as exc:
        # The last line of defence: no traceback for users, and never the token.
        _say(f"internal error: {type(exc).__name__}: {redact(str(exc))}")
        if holder and holder[0].verbose:
            _say(redact(traceback.format_exc()))
        return EXIT_INTERNAL
