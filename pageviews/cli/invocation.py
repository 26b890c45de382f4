"""From parsed arguments to what a run needs: its options, its client settings, its token.

The arguments become one :class:`~pageviews.options.RunSettings` here, whichever
subcommand parsed them; the subcommands add their courses to it.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from ..canvas.client import normalize_base_url
from ..canvas.retry import RetryPolicy
from ..courselist import course_ref
from ..errors import UsageError
from ..formats import parse_formats
from ..harvest import HarvestOptions
from ..options import ENROLLMENT_STATES, ENROLLMENT_TYPES, RunSettings
from ..timerange import TimeRange, parse_bound, parse_timezone
from ..tokens import read_token

#: The longest --overlap taken: re-reading more than a year is no longer an overlap.
_MAX_OVERLAP_MINUTES = 366 * 24 * 60


@dataclass(frozen=True, slots=True)
class Invocation:
    """Everything a run needs, validated."""

    base_url: str
    token: str
    options: RunSettings
    retry: RetryPolicy
    concurrency: int
    timeout: float
    max_body: int
    verbose: bool
    quiet: bool
    now: datetime | None
    progress_every: float  # seconds between JSON progress lines


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


def selected(args: argparse.Namespace) -> tuple[TimeRange, RunSettings]:
    """The range the arguments select and the settings they choose.

    A setting whose flag the subcommand lacks (``pageviews report`` reads nothing from
    Canvas) keeps the library's default. Nothing is checked beyond the range and the
    names: each subcommand checks the rest in its own order.
    """
    tz = parse_timezone(args.timezone)
    now = datetime.now(UTC)
    start = parse_bound(args.start_time, tz, end=False, flag="--start_time", now=now)
    end = parse_bound(args.end_time, tz, end=True, flag="--end_time", now=now)
    if end < start:
        raise UsageError("--end_time is before --start_time")
    if start > now:
        raise UsageError("--start_time is in the future")
    settings = RunSettings(
        enrollment_types=_names(
            args.enrollment_types, ENROLLMENT_TYPES, "enrollment type", "Enrollment"
        ),
        enrollment_states=_names(args.enrollment_states, ENROLLMENT_STATES, "enrollment state"),
        out_dir=args.out_dir,
        state_path=args.state,
        excel=args.excel,
        formats=parse_formats(args.format) if args.format else RunSettings().formats,
        records_dataset=args.records_dataset,
        include_ip=args.include_ip,
        summary=not args.no_summary,
    )
    if "history" not in args:
        return TimeRange(start, end), settings
    if not 0 <= args.overlap <= _MAX_OVERLAP_MINUTES:
        raise UsageError(f"--overlap must be 0 to {_MAX_OVERLAP_MINUTES:,} minutes (a year)")
    return TimeRange(start, end), replace(
        settings,
        fresh=args.fresh,
        workers=args.concurrency,
        split_heavy_users=not args.no_split,
        incremental=args.incremental,
        overlap=timedelta(minutes=args.overlap),
        history=args.history,
        list_window_days=args.list_window_days,
        history_wait=args.history_wait,
    )


def selection(args: argparse.Namespace) -> HarvestOptions:
    """The one course, the range and the settings the arguments select."""
    course = course_ref(str(args.course))
    time_range, settings = selected(args)
    return HarvestOptions(course=course, time_range=time_range, **settings.settings())


#: The client's numeric flags (by their ``args`` names), each of which must be positive.
_POSITIVE = {
    "concurrency": "--concurrency",
    "retries": "--retries",
    "retry_time": "--retry-time",
    "timeout": "--timeout",
    "max_body_mb": "--max-body-mb",
}


def not_positive(args: argparse.Namespace) -> list[tuple[str, float]]:
    """Each client flag given zero or less, with its value: only those are named."""
    values = ((flag, getattr(args, name)) for name, flag in _POSITIVE.items())
    return [(flag, value) for flag, value in values if not value > 0]


def resolve_client(
    args: argparse.Namespace,
    environ: dict[str, str] | os._Environ[str],
    options: RunSettings,
) -> Invocation:
    """Check the client settings and read the token: everything to talk to Canvas."""
    if bad := not_positive(args):
        raise UsageError(
            "; ".join(f"{flag} must be positive, not {value:g}" for flag, value in bad)
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
