"""One measured harvest in its own process: ``python -m benchmarks.harvester --mode ...``.

Prints one JSON line: wall time, counters, and this process's CPU and peak RSS.
Running each client alone in a process keeps its CPU and memory apart from the
fake's and from the benchmark's ground truth.
"""

from __future__ import annotations

import argparse
import cProfile
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import orjson

from pageviews import (
    CanvasClient,
    HarvestOptions,
    Progress,
    TimeRange,
    harvest_course,
    parse_bound,
)
from pageviews.batch import harvest_courses
from pageviews.formats import parse_formats
from pageviews.gctune import fewer_collections
from pageviews.options import BatchOptions
from pageviews.outlook import seconds_left
from pageviews.progress import outlook
from pageviews.store import PostgresStore, StateLocation
from pageviews.timerange import canvas_timestamp

from .sequential import fetch_only, harvest_sequentially

MODES = ("pageviews", "static", "sequential", "floor", "batch", "loop")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.harvester", description=__doc__)
    p.add_argument("--mode", choices=MODES, required=True)
    p.add_argument("--base-url", required=True)
    p.add_argument("--token-file", type=Path, required=True)
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--course", type=int, default=1693)
    p.add_argument("--start", default="2015-01-05")
    p.add_argument("--end", default="2015-03-31")
    p.add_argument("--state", action="append", help="enrollment state (repeat); default Canvas's")
    p.add_argument("--concurrency", type=int, help="static pool size; pageviews' ceiling")
    p.add_argument("--profile", type=Path, help="write a cProfile of the harvest here")
    p.add_argument("--format", default="csv,json", help="report formats (pageviews modes)")
    p.add_argument("--no-summary", action="store_true", help="no summary HTML (pageviews modes)")
    p.add_argument("--courses", help="batch and loop modes: comma-separated course ids")
    p.add_argument(
        "--state-path",
        type=StateLocation.of,
        help="batch mode: the store, a file or a postgresql:// URL (default temporary)",
    )
    p.add_argument("--incremental", action="store_true", help="batch mode: reuse coverage")
    p.add_argument(
        "--now", type=datetime.fromisoformat, help="the harvester's clock (the fake's --now)"
    )
    p.add_argument(
        "--history", choices=("never", "auto", "only"), default="never", help="pageviews mode"
    )
    return p.parse_args(argv)


def cpu_seconds() -> float:
    """This process's CPU seconds, user plus system."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def peak_rss_mb() -> tuple[float, float]:
    """Peak RSS in MB: ``VmHWM`` of this process's memory, and ``ru_maxrss``.

    On Linux ``ru_maxrss`` survives ``execve``: a child spawned by a parent holding
    gigabytes of ground truth starts with the parent's peak. ``VmHWM`` belongs to
    the address space the exec created, so it is this harvester's own peak.
    """
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024, maxrss
    return maxrss, maxrss


async def run_pageviews(args: argparse.Namespace, time_range: TimeRange) -> dict[str, Any]:
    """Harvest with the library: its defaults, or a static pool without splitting."""
    token = args.token_file.read_text().strip()
    static = args.mode == "static"
    client_kw: dict[str, Any] = {}
    options_kw: dict[str, Any] = {}
    if static:
        client_kw = {"concurrency": args.concurrency, "adaptive": False}
        options_kw = {"workers": args.concurrency, "split_heavy_users": False}
    elif args.concurrency:
        client_kw = {"concurrency": args.concurrency}
        options_kw = {"workers": args.concurrency}
    # limit=0: the client's gate, not the connection pool, decides how many are in flight.
    connector = aiohttp.TCPConnector(limit=0)
    with tempfile.TemporaryDirectory(prefix="pageviews-bench-") as state_dir:
        async with aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar()
        ) as session:
            client = CanvasClient(session, args.base_url, token, **client_kw)
            options = HarvestOptions(
                course=args.course,
                time_range=time_range,
                enrollment_states=tuple(args.state) if args.state else None,
                out_dir=args.out_dir,
                state_path=Path(state_dir) / "state.sqlite",
                fresh=True,
                formats=parse_formats(args.format),
                summary=not args.no_summary,
                history=args.history,
                **options_kw,
            )
            progress = Progress()
            samples: list[tuple[float, float | None]] = []
            async with anyio.create_task_group() as tg:
                tg.start_soon(sample_estimates, progress, client, samples)
                result = await harvest_course(
                    client, options, progress=progress, now=lambda: args.now or datetime.now(UTC)
                )
                tg.cancel_scope.cancel()
            ended = time.monotonic() - progress.started
    if not result.complete:
        raise RuntimeError(f"incomplete harvest: {result.failed_users[:3]}")
    return {
        "estimates": [(t, ended - t, left) for t, left in samples],
        "records": result.records,
        "users": result.users,
        "requests": result.stats.requests,
        "throttled": result.stats.throttled,
        "retries": result.stats.retries,
        "peak_in_flight": result.peak_in_flight,
    }


async def sample_estimates(
    progress: Progress, client: CanvasClient, samples: list[tuple[float, float | None]]
) -> None:
    """Note the progress display's estimate of the time left every half second."""
    while True:
        await anyio.sleep(0.5)
        now = time.monotonic()
        samples.append((now - progress.started, seconds_left(outlook(progress, client.gate, now))))


def plain_session(limit: int) -> aiohttp.ClientSession:
    """A session of ``limit`` connections (0: no limit, the client's gate decides), no cookies."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit), cookie_jar=aiohttp.DummyCookieJar()
    )


def selection(
    args: argparse.Namespace, time_range: TimeRange
) -> tuple[str, str, int, str, str, tuple[str, ...] | None]:
    """(base URL, token, course, start, end, states) for the benchmark's own clients."""
    return (
        args.base_url,
        args.token_file.read_text().strip(),
        args.course,
        canvas_timestamp(time_range.start),
        canvas_timestamp(time_range.end),
        tuple(args.state) if args.state else None,
    )


async def run_sequential(args: argparse.Namespace, time_range: TimeRange) -> dict[str, Any]:
    """Harvest one request at a time; leave the in-memory reports for the benchmark."""
    async with plain_session(1) as session:
        result = await harvest_sequentially(session, *selection(args, time_range))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "sequential.json").write_bytes(result.to_json())
    return {
        "records": len(result.records),
        "users": len(result.roster),
        "requests": result.requests,
        "throttled": 0,
        "retries": 0,
        "peak_in_flight": 1,
    }


async def run_floor(args: argparse.Namespace, time_range: TimeRange) -> dict[str, Any]:
    """Fetch and parse every page, with no harvester around it: the CPU floor."""
    concurrency = args.concurrency or 16
    async with plain_session(concurrency) as session:
        users, parsed, requests = await fetch_only(
            session, *selection(args, time_range), concurrency
        )
    return {
        "records": parsed,
        "users": users,
        "requests": requests,
        "throttled": 0,
        "retries": 0,
        "peak_in_flight": concurrency,
    }


def course_ids(args: argparse.Namespace) -> tuple[int, ...]:
    """The ``--courses`` of a batch or loop run."""
    return tuple(int(c) for c in args.courses.split(","))


def store_facts(state: StateLocation) -> tuple[int, int]:
    """The views a store holds and its bytes: the file and its log, or the tables."""
    if state.path is None:
        store = state.open(None)
        try:
            views = store.info()["views"]
            assert isinstance(store, PostgresStore)
            assert isinstance(views, int)
            return views, store.size()
        finally:
            store.close()
    with closing(sqlite3.connect(state.path)) as db:
        (stored,) = db.execute("SELECT count(*) FROM views").fetchone()
    return stored, sum(p.stat().st_size for p in state.path.parent.glob(state.path.name + "*"))


async def run_batch(args: argparse.Namespace, time_range: TimeRange) -> dict[str, Any]:
    """Harvest every course as one batch; report the store's size too."""
    token = args.token_file.read_text().strip()
    now: datetime | None = args.now
    with tempfile.TemporaryDirectory(prefix="pageviews-bench-") as state_dir:
        state = StateLocation.of(args.state_path or Path(state_dir) / "state.sqlite")
        async with plain_session(0) as session:
            client = CanvasClient(session, args.base_url, token)
            options = BatchOptions(
                courses=course_ids(args),
                time_range=time_range,
                out_dir=args.out_dir,
                state_path=state,
                incremental=args.incremental,
                history=args.history,
            )
            result = await harvest_courses(client, options, now=lambda: now or datetime.now(UTC))
        stored, store_bytes = store_facts(state)
    if not result.complete or result.failed_courses:
        raise RuntimeError(f"incomplete batch: {[c.ref for c in result.courses][:3]}")
    return {
        "records": sum(c.records for c in result.courses),
        "users": result.users,
        "requests": result.stats.requests,
        "throttled": result.stats.throttled,
        "retries": result.stats.retries,
        "peak_in_flight": result.peak_in_flight,
        "stored_views": stored,
        "store_bytes": store_bytes,
    }


async def run_loop(args: argparse.Namespace, time_range: TimeRange) -> dict[str, Any]:
    """Harvest the courses one at a time, as a loop of single-course commands would."""
    token = args.token_file.read_text().strip()
    counts = dict.fromkeys(("records", "users", "requests", "throttled", "retries"), 0)
    peak = 0
    for course in course_ids(args):
        # A fresh client and store per course: each command of the loop starts afresh.
        with tempfile.TemporaryDirectory(prefix="pageviews-bench-") as state_dir:
            async with plain_session(0) as session:
                client = CanvasClient(session, args.base_url, token)
                options = HarvestOptions(
                    course=course,
                    time_range=time_range,
                    out_dir=args.out_dir / str(course),
                    state_path=Path(state_dir) / "state.sqlite",
                    history=args.history,
                )
                result = await harvest_course(client, options)
        if not result.complete:
            raise RuntimeError(f"incomplete harvest of {course}: {result.failed_users[:3]}")
        for name, value in (
            ("records", result.records),
            ("users", result.users),
            ("requests", result.stats.requests),
            ("throttled", result.stats.throttled),
            ("retries", result.stats.retries),
        ):
            counts[name] += value
        peak = max(peak, result.peak_in_flight)
    return {**counts, "peak_in_flight": peak}


RUNNERS = {
    "pageviews": run_pageviews,
    "static": run_pageviews,
    "sequential": run_sequential,
    "floor": run_floor,
    "batch": run_batch,
    "loop": run_loop,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one harvest and print its measurements as one JSON line."""
    args = parse_args(argv)
    time_range = TimeRange(
        parse_bound(args.start, UTC, end=False, flag="--start"),
        parse_bound(args.end, UTC, end=True, flag="--end"),
    )
    runner = RUNNERS[args.mode]
    profiler = cProfile.Profile() if args.profile else None
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    with fewer_collections():  # as the pageviews command does
        counts = anyio.run(runner, args, time_range)
    wall = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    cpu_after = cpu_seconds()
    max_rss_mb, ru_maxrss_mb = peak_rss_mb()
    line = {
        "mode": args.mode,
        "concurrency": args.concurrency,
        "wall_seconds": wall,
        **counts,
        # The harvest's own CPU, without interpreter start-up and imports.
        "cpu_seconds": cpu_after - cpu_before,
        "cpu_seconds_process": cpu_after,
        "max_rss_mb": max_rss_mb,
        "ru_maxrss_mb": ru_maxrss_mb,
    }
    sys.stdout.write(orjson.dumps(line).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
