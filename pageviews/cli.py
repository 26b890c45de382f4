"""The command line: parse, run the library, map errors to one line and an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import aiohttp
import anyio

from .client import CanvasClient, normalize_base_url
from .errors import PageviewsError, TokenFileError, UsageError
from .harvest import (
    DEFAULT_CONCURRENCY,
    HarvestOptions,
    HarvestResult,
    Progress,
    harvest_course,
    range_warnings,
)
from .progress import show_progress, summary_lines
from .retry import RetryPolicy
from .timerange import TimeRange, parse_bound, parse_timezone

EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70
ENROLLMENT_TYPES = (
    "StudentEnrollment",
    "TeacherEnrollment",
    "TaEnrollment",
    "DesignerEnrollment",
    "ObserverEnrollment",
)
ENROLLMENT_STATES = (
    "active",
    "invited",
    "creation_pending",
    "inactive",
    "completed",
    "rejected",
    "deleted",
)
DEFAULT_TOKEN_FILE = "oauthtoken.txt"

log = logging.getLogger("pageviews")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see pageviews --help)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; underscore spellings match the original script."""
    p = _Parser(
        prog="pageviews",
        description="Harvest a Canvas course's page views into three reports (CSV and JSON).",
        epilog="Exit codes and examples: see README.md. Fake Canvas: pageviews fake-canvas --help",
    )
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
    p.add_argument("--base-url", "--base_url", help="Canvas address (default $CANVAS_BASE_URL)")
    p.add_argument(
        "--token-file",
        "--token_file",
        type=Path,
        help=f"file holding the access token (default $CANVAS_TOKEN, else {DEFAULT_TOKEN_FILE})",
    )
    p.add_argument("--out-dir", "--out_dir", type=Path, default=Path(), help="report directory")
    p.add_argument(
        "--state", type=Path, help="state store (default OUT_DIR/pageviews-state.sqlite)"
    )
    p.add_argument("--fresh", action="store_true", help="discard the state store and start over")
    p.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"most requests in flight (default {DEFAULT_CONCURRENCY}; "
        "Canvas's rate-limit headers may hold it lower)",
    )
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for a reply")
    p.add_argument("--retries", type=int, default=10, help="tries per request (default 10)")
    p.add_argument(
        "--retry-max-wait",
        type=float,
        default=60.0,
        help="longest wait between tries, seconds (default 60)",
    )
    p.add_argument("--retry-base-wait", type=float, default=1.0, help=argparse.SUPPRESS)
    p.add_argument("--no-split", action="store_true", help="never split heavy users in time")
    p.add_argument("--allow-http", action="store_true", help="allow plain http to a remote host")
    p.add_argument("-v", "--verbose", action="store_true", help="log each step")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    return p


@dataclass(frozen=True, slots=True)
class Invocation:
    """Everything a run needs, validated."""

    base_url: str
    token: str
    options: HarvestOptions
    retry: RetryPolicy
    concurrency: int
    timeout: float
    verbose: bool
    quiet: bool


def read_token(path: Path | None, environ: dict[str, str] | os._Environ[str]) -> str:
    """The token from ``--token-file``, else ``$CANVAS_TOKEN``, else ``oauthtoken.txt``."""
    if path is None and environ.get("CANVAS_TOKEN", "").strip():
        return environ["CANVAS_TOKEN"].strip()
    path = path or Path(DEFAULT_TOKEN_FILE)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TokenFileError(
            f"token file {path} not found: put a Canvas access token in it or set CANVAS_TOKEN"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not text"
        raise TokenFileError(f"cannot read token file {path}: {reason}") from None
    token = text.strip()
    if not token:
        raise TokenFileError(f"token file {path} is empty")
    if any(c.isspace() for c in token):
        raise TokenFileError(
            f"token file {path} holds more than one word; it should hold only the token"
        )
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(
            f"pageviews: warning: token file {path} is readable by other users; "
            f"run chmod 600 {path}",
            file=sys.stderr,
        )
    return token


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


def resolve(args: argparse.Namespace, environ: dict[str, str] | os._Environ[str]) -> Invocation:
    """Validate the parsed arguments and gather the run's inputs."""
    course = str(args.course).strip()
    if not (course.isdigit() or (course.startswith("sis_course_id:") and len(course) > 14)):
        raise UsageError(f"course {course!r} must be a numeric id or sis_course_id:<id>")
    tz = parse_timezone(args.timezone)
    start = parse_bound(args.start_time, tz, end=False, flag="--start_time")
    end = parse_bound(args.end_time, tz, end=True, flag="--end_time")
    if end < start:
        raise UsageError("--end_time is before --start_time")
    if start > datetime.now(UTC):
        raise UsageError("--start_time is in the future")
    if args.concurrency < 1 or args.retries < 1 or args.timeout <= 0:
        raise UsageError("--concurrency, --retries and --timeout must be positive")
    base = args.base_url or environ.get("CANVAS_BASE_URL")
    if not base:
        raise UsageError(
            "no Canvas address: pass --base-url https://canvas.example.edu or set CANVAS_BASE_URL"
        )
    base_url = normalize_base_url(base, allow_http=args.allow_http)
    options = HarvestOptions(
        course=course,
        time_range=TimeRange(start, end),
        enrollment_types=_names(
            args.enrollment_types, ENROLLMENT_TYPES, "enrollment type", "Enrollment"
        ),
        enrollment_states=_names(args.enrollment_states, ENROLLMENT_STATES, "enrollment state"),
        out_dir=args.out_dir,
        state_path=args.state,
        fresh=args.fresh,
        workers=args.concurrency,
        split_heavy_users=not args.no_split,
    )
    retry = RetryPolicy(
        attempts=args.retries, initial=args.retry_base_wait, cap=args.retry_max_wait
    )
    return Invocation(
        base_url=base_url,
        token=read_token(args.token_file, environ),
        options=options,
        retry=retry,
        concurrency=args.concurrency,
        timeout=args.timeout,
        verbose=args.verbose,
        quiet=args.quiet,
    )


async def run(inv: Invocation) -> HarvestResult:
    """Harvest with a fresh session, showing progress on a terminal."""
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
        )
        failure: PageviewsError | None = None
        async with anyio.create_task_group() as tg:
            if not inv.quiet and sys.stderr.isatty():
                tg.start_soon(show_progress, progress, client.stats, sys.stderr)
            try:
                result = await harvest_course(client, inv.options, progress=progress)
            except PageviewsError as exc:
                # Raised outside the task group, so it is not wrapped in an ExceptionGroup.
                failure = exc
            finally:
                tg.cancel_scope.cancel()
    if failure is not None:
        raise failure
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["fake-canvas"]:
        from .testing.__main__ import main as fake_main

        return fake_main(args_list[1:])
    inv: Invocation | None = None
    try:
        inv = resolve(build_parser().parse_args(args_list), os.environ)
        if inv.verbose:
            logging.basicConfig(level=logging.INFO, format="pageviews: %(message)s")
        if not inv.quiet:
            for warning in range_warnings(inv.options.time_range, datetime.now(UTC)):
                print(f"pageviews: warning: {warning}", file=sys.stderr)
        result = anyio.run(run, inv)
    except KeyboardInterrupt:
        where = f" (state in {inv.options.store_path})" if inv else ""
        print(
            f"pageviews: interrupted; run the same command again to resume{where}", file=sys.stderr
        )
        return EXIT_INTERRUPTED
    except PageviewsError as exc:
        print(f"pageviews: error: {_redact(str(exc), inv)}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:
        print(
            f"pageviews: internal error: {type(exc).__name__}: {_redact(str(exc), inv)}",
            file=sys.stderr,
        )
        if inv is not None and inv.verbose:
            import traceback

            print(_redact(traceback.format_exc(), inv), file=sys.stderr)
        return EXIT_INTERNAL
    if not inv.quiet:
        for line in summary_lines(result):
            print(f"pageviews: {line}", file=sys.stderr)
    if not result.complete:
        print(
            f"pageviews: error: {len(result.failed_users)} users incomplete; "
            "run the same command again to retry them",
            file=sys.stderr,
        )
        return 9
    return 0


def _redact(text: str, inv: Invocation | None) -> str:
    if inv is not None and inv.token:
        text = text.replace(inv.token, "[token]")
    return text
