"""Command: `python -m pageviews.testing` serves a fake Canvas until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import orjson

from .config import FakeConfig, LateViews, ListQuirks
from .faults import FaultConfig
from .history_config import HistoryConfig
from .server import FakeCanvas, serve
from .throttle import ThrottleConfig
from .world import World, WorldSpec


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m pageviews.testing", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--preset", default="demo", choices=WorldSpec.PRESETS)
    parser.add_argument("--seed", type=int, help="override the preset's seed")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--latency-jitter", type=float, default=0.0)
    parser.add_argument("--throttle", choices=("off", "403", "429"), default="403")
    parser.add_argument(
        "--retry-after", action="store_true", help="send Retry-After on throttled replies"
    )
    defaults = ThrottleConfig()
    parser.add_argument("--maximum", type=float, default=defaults.maximum)
    parser.add_argument("--hwm", type=float, default=defaults.hwm)
    parser.add_argument("--outflow", type=float, default=defaults.outflow)
    parser.add_argument("--up-front-cost", type=float, default=defaults.up_front_cost)
    parser.add_argument("--cost-base", type=float, default=defaults.cost_base)
    parser.add_argument("--cost-per-item", type=float, default=defaults.cost_per_item)
    parser.add_argument(
        "--list-cost-per-page-size",
        type=float,
        default=defaults.list_cost_per_page_size,
        help="extra cost of a page-views list call per unit of per_page (0.4: 40 at 100)",
    )
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--pagination", choices=("bookmark", "numeric"), default="bookmark")
    parser.add_argument(
        "--max-per-page",
        type=int,
        choices=(10, 50, 100, 200),
        default=200,
        help="clamp page-view pages to this size (Canvas: 200; before 2025: 100; older: 50)",
    )
    parser.add_argument("--retention-days", type=int)
    parser.add_argument(
        "--history", action="store_true", help="serve the PageView History API (default: 404)"
    )
    parser.add_argument(
        "--now",
        type=_moment,
        help="the fake's clock, ISO 8601 (the worlds' views are in early 2015)",
    )
    parser.add_argument(
        "--late-share",
        type=float,
        default=0.0,
        help="share of views visible only some time after they happen (needs --now)",
    )
    parser.add_argument(
        "--late-max-delay", type=float, default=600.0, help="seconds a late view can lag"
    )
    parser.add_argument(
        "--history-jobs", type=int, default=3, help="history jobs one token may run at once"
    )
    parser.add_argument(
        "--history-run-seconds",
        type=float,
        default=5.0,
        help="how long a history job runs (inf: jobs that never finish)",
    )
    parser.add_argument(
        "--history-absent",
        choices=("unconfigured", "raising", "routes", "proxy"),
        default="unconfigured",
        help="without --history, history calls answer Canvas's 'not available in this "
        "environment', Canvas's 500 (an export service not configured, as the source has "
        "it), Canvas's 404 for an unknown route, or a proxy's bare 'Not Found'",
    )
    parser.add_argument(
        "--clock-runs",
        action="store_true",
        help="with --now, the clock runs on from it in real time (history jobs then end)",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        help="write the admin token here (0600); default a private temporary file, "
        "removed when the fake stops",
    )
    parser.add_argument("--list", action="store_true", help="print the courses served and exit")
    parser.add_argument("--ready-file", type=Path, help='write {"base_url", "pid"} once listening')
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> FakeConfig:
    """Turn parsed arguments into a `FakeConfig`."""
    throttle = None
    if args.throttle != "off":
        throttle = ThrottleConfig(
            maximum=args.maximum,
            hwm=args.hwm,
            outflow=args.outflow,
            up_front_cost=args.up_front_cost,
            status=403 if args.throttle == "403" else 429,
            retry_after=args.retry_after,
            cost_base=args.cost_base,
            cost_per_item=args.cost_per_item,
            list_cost_per_page_size=args.list_cost_per_page_size,
        )
    return FakeConfig(
        pagination=args.pagination,
        throttle=throttle,
        faults=FaultConfig(seed=args.fault_seed, rate=args.fault_rate),
        latency=args.latency,
        latency_jitter=args.latency_jitter,
        retention_days=args.retention_days,
        history=HistoryConfig(
            max_jobs_per_requester=args.history_jobs, run_seconds=args.history_run_seconds
        )
        if args.history
        else None,
        history_absent=args.history_absent,
        now=args.now,
        late=LateViews(share=args.late_share, max_delay=args.late_max_delay)
        if args.late_share > 0
        else None,
        quirks=ListQuirks(max_per_page=args.max_per_page),
    )


def _moment(text: str) -> datetime:
    """Parse `--now`; a value without an offset is UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write `data` to a temporary file beside `path`, then rename it into place."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def course_lines(world: World) -> list[str]:
    """One line per course served: id, ``sis_course_id:`` form, roster size, name."""
    rows = [
        (
            str(course.id),
            f"sis_course_id:{course.sis_course_id}" if course.sis_course_id else "-",
            f"{len({e.user_id for e in world.enrollment_records(course.id)})} users",
            course.name,
        )
        for course in sorted(world.courses.values(), key=lambda c: c.id)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [
        f"  {i:>{widths[0]}}  {sis:<{widths[1]}}  {size:>{widths[2]}}  {name}"
        for i, sis, size, name in rows
    ]


def build_world(args: argparse.Namespace) -> World:
    """The world the arguments describe."""
    spec = WorldSpec.preset(args.preset)
    if args.seed is not None:
        spec = replace(spec, seed=args.seed)
    return World.generate(spec)


async def run(args: argparse.Namespace, world: World, token_file: Path) -> None:
    """Serve until SIGINT or SIGTERM."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with serve(world, build_config(args), host=args.host, port=args.port) as fake:
            write_atomically(token_file, world.admin_token.encode() + b"\n", 0o600)
            if args.ready_file:
                ready = {"base_url": fake.base_url, "pid": os.getpid()}
                write_atomically(args.ready_file, orjson.dumps(ready))
            print(f"fake Canvas listening at {fake.base_url}", file=sys.stderr, flush=True)
            print(f"base URL:   {fake.base_url}\ntoken file: {token_file}", flush=True)
            print("courses (id, sis form, roster, name):", *course_lines(world), sep="\n")
            sys.stdout.flush()
            async with anyio.create_task_group() as tg:
                if args.now is not None and args.clock_runs:
                    tg.start_soon(_run_clock, fake, args.now)
                async for _ in signals:
                    break
                tg.cancel_scope.cancel()


async def _run_clock(fake: FakeCanvas, start: datetime) -> None:
    """Move the fake's clock on in real time from ``start``."""
    began = time.monotonic()
    while True:
        fake.config.now = start + timedelta(seconds=time.monotonic() - began)
        await anyio.sleep(0.05)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the exit status."""
    args = parse_args(argv)
    world = build_world(args)
    if args.list:
        print("courses (id, sis form, roster, name):", *course_lines(world), sep="\n")
        return 0
    try:
        with ExitStack() as stack:
            token_file = (
                args.token_file
                or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pageviews-fake-")))
                / "token.txt"
            )
            anyio.run(run, args, world, token_file)
    except OSError as exc:
        print(f"fake Canvas: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
