"""Crash and fault figures for issue 4: ``python -m benchmarks.resume``.

Against the ``test`` world (course 1693, ~55k page views), the real command
line is killed with SIGKILL three times mid-harvest and then run to the end;
the script prints how many page requests were open at each kill, how many
pages were requested twice in all, and whether the reports are exact. Then one
run with 5% injected faults of every kind for each of ten seeds. The world has
bursts (several views a second, kept to the millisecond), so window edges and
the range end fall inside seconds that hold more views. ``--max-per-page 50`` (or 10)
runs it all against a fake that clamps pages as an older Canvas does. Not a test: the
tests assert the same outcomes with bounds; this prints the figures.

First, the history row (issue 22): the ``history-term`` course four months back on
a hosted Canvas (30-day list, the History API with the costs of docs/canvas.md's
history-costs, Canvas's bucket answering 429), run at ten times Canvas's pace as
``make bench``'s hosted rows are; once uninterrupted, then killed with SIGKILL
once jobs run and the bucket is near its mark, and started again at once: the
rerun's throttled share and wall time against the uninterrupted run's.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from pageviews.testing import (
    FakeCanvas,
    FakeConfig,
    FaultConfig,
    ListQuirks,
    World,
    WorldSpec,
    expected_reports,
    serve,
)
from pageviews.testing.report_files import assert_reports_exact

from .history_common import END as TERM_END
from .history_common import RANGES, STUDENTS
from .hosted import SPEED, hosted_canvas, tick

# The list endpoint alone: a 2015 range is past what the History API reaches from today.
ARGS = ["1693", "--start_time", "2015-01-26", "--end_time", "2015-03-12",
        "--enrollment_types", "StudentEnrollment", "--history", "never"]  # fmt: skip
START = datetime(2015, 1, 26, tzinfo=UTC)
END = datetime(2015, 3, 12, 23, 59, 59, tzinfo=UTC)
KILL_AFTER_PAGES = (60, 300, 600)
FAULT_SEEDS = range(1, 11)


def served_pages(canvas: FakeCanvas) -> int:
    return sum(1 for r in canvas.requests if r.status == 200 and "/page_views" in r.path)


def reached(pages: int) -> Callable[[FakeCanvas], bool]:
    """A condition: the fake has served ``pages`` page-view pages in all."""
    return lambda canvas: served_pages(canvas) >= pages


def workspace(token: str) -> Path:
    directory = Path(tempfile.mkdtemp(prefix="pageviews-resume-"))
    (directory / "oauthtoken.txt").write_text(token + "\n")
    (directory / "oauthtoken.txt").chmod(0o600)
    return directory


def command(extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "pageviews", *ARGS, *extra]


def environment(canvas: FakeCanvas) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANVAS_")}
    return {**env, "CANVAS_BASE_URL": canvas.base_url}


async def kills(world: World, quirks: ListQuirks) -> None:
    truth = expected_reports(world, 1693, START, END, enrollment_types=["StudentEnrollment"])
    cwd = workspace(world.admin_token)
    async with serve(world, FakeConfig(latency=0.01, quirks=quirks)) as canvas:
        for pages in KILL_AFTER_PAGES:
            before = len(canvas.requests)
            process = await anyio.open_process(command([]), cwd=cwd, env=environment(canvas))
            async with process:
                await canvas.wait_until(reached(pages))
                killed_at = canvas.clock()
                process.send_signal(signal.SIGKILL)
                await process.wait()
            await anyio.sleep(0.5)  # let the fake log the requests the kill cut off
            open_at_kill = [
                r
                for r in canvas.requests[before:]
                if "/page_views" in r.path
                and r.started <= killed_at
                and (r.finished >= killed_at or r.status == 499)
            ]
            print(f"SIGKILL after {pages} pages: {len(open_at_kill)} page requests open")
        done = await anyio.run_process(command([]), cwd=cwd, env=environment(canvas), check=False)
        served = Counter(
            (r.path, r.query)
            for r in canvas.requests
            if r.status == 200 and "/page_views" in r.path
        )
    twice = sum(n - 1 for n in served.values() if n > 1)
    assert_reports_exact(cwd, truth, 1693, START, END)
    print(
        f"final run: exit {done.returncode}; {sum(served.values())} pages served, "
        f"{twice} requested twice; reports exact ({len(truth.records):,} page views)"
    )


def bursts(world: World, truth_ids: set[str]) -> str:
    """How many of the range's views share their second with another view of the user."""
    shared = 0
    for user_id in world.user_ids:
        store = world.views(user_id)
        seconds = Counter(t // 1000 for t in store.ms)
        shared += sum(
            1
            for view_id, t in zip(store.ids, store.ms, strict=True)
            if view_id in truth_ids and seconds[t // 1000] > 1
        )
    return f"{shared:,} of {len(truth_ids):,} views share their second with another"


async def faults(world: World, seed: int, quirks: ListQuirks) -> None:
    truth = expected_reports(world, 1693, START, END, enrollment_types=["StudentEnrollment"])
    cwd = workspace(world.admin_token)
    config = FakeConfig(
        faults=FaultConfig(seed=seed, rate=0.05, stall_seconds=3.0, targets="all"), quirks=quirks
    )
    async with serve(world, config) as canvas:
        started = time.monotonic()
        done = await anyio.run_process(
            command(["--timeout", "1", "--retry-base-wait", "0.2", "--retry-max-wait", "2"]),
            cwd=cwd,
            env=environment(canvas),
            check=False,
        )
        wall = time.monotonic() - started
        stats = canvas.stats
    assert_reports_exact(cwd, truth, 1693, START, END)
    print(
        f"5% faults, seed {seed}: exit {done.returncode} in {wall:.1f}s; "
        f"{stats.requests} requests, {stats.faults} faults of {len(stats.by_fault)} kinds "
        f"{dict(stats.by_fault)}; reports exact"
    )


#: The hosted term's command: four months back, the default ``--history auto``.
TERM_ARGS = ["1693", "--start_time", "2015-01-01", "--end_time", "2015-04-19",
             "--enrollment_types", "StudentEnrollment",
             "--now", "2015-04-20T12:00:00Z"]  # fmt: skip


def _throttled(requests: Sequence[Any]) -> str:
    refused = sum(1 for r in requests if r.throttled)
    return f"{refused}/{len(requests)} throttled ({refused / max(len(requests), 1):.1%})"


async def history_row(world: World) -> None:
    """Issue 22: a hosted term killed near the bucket's mark and started again at once."""
    start = RANGES["4 months"]
    truth = expected_reports(world, 1693, start, TERM_END, enrollment_types=STUDENTS)
    walls = []
    for kill in (False, True):
        cwd = workspace(world.admin_token)
        config, throttle = hosted_canvas(SPEED)
        async with serve(world, config) as canvas, anyio.create_task_group() as tg:
            tg.start_soon(tick, canvas)
            began = time.monotonic()
            args = [*TERM_ARGS]
            if kill:
                mark = throttle.hwm - 3 * throttle.up_front_cost

                def near_the_mark(c: FakeCanvas, mark: float = mark) -> bool:
                    level = max((b.level for b in c.buckets.values()), default=0.0)
                    polls = any(
                        r.history is not None and r.history.kind == "poll" and r.status == 200
                        for r in c.requests
                    )
                    return polls and level >= mark

                process = await anyio.open_process(
                    [sys.executable, "-m", "pageviews", *args], cwd=cwd, env=environment(canvas)
                )
                async with process:
                    await canvas.wait_until(near_the_mark)
                    process.send_signal(signal.SIGKILL)
                    await process.wait()
                killed_after = time.monotonic() - began
            before = len(canvas.requests)
            rerun_began = time.monotonic()
            done = await anyio.run_process(
                [sys.executable, "-m", "pageviews", *args],
                cwd=cwd,
                env=environment(canvas),
                check=False,
            )
            wall = time.monotonic() - rerun_began
            tg.cancel_scope.cancel()
            starts = Counter(
                r.history.user_ids
                for r in canvas.requests
                if r.history is not None and r.history.kind == "start" and r.status == 201
            )
        try:
            assert_reports_exact(cwd, truth, 1693, start, TERM_END)
            exact = "exact"
        except AssertionError:
            exact = "DIFFER"
        twice = sum(n - 1 for n in starts.values())
        if not kill:
            walls.append(wall)
            print(
                f"hosted term, uninterrupted: exit {done.returncode} in {wall:.1f}s; "
                f"{_throttled(canvas.requests)}; reports {exact}"
            )
            continue
        print(
            f"hosted term, SIGKILL after {killed_after:.1f}s near the bucket's mark, rerun at "
            f"once: exit {done.returncode} in {wall:.1f}s ({killed_after + wall:.1f}s in all, "
            f"{(killed_after + wall) / walls[0]:.2f}x the uninterrupted run); rerun "
            f"{_throttled(canvas.requests[before:])}; {twice} queries started twice; "
            f"reports {exact}"
        )


async def main(max_per_page: int) -> None:
    if max_per_page == 100:
        await history_row(World.generate(WorldSpec.preset("history-term")))
    world = World.generate(WorldSpec.preset("test"))
    truth = expected_reports(world, 1693, START, END, enrollment_types=["StudentEnrollment"])
    quirks = ListQuirks(max_per_page=max_per_page)
    print(f"world 'test', course 1693: {bursts(world, {r.id for r in truth.records})}")
    print(f"pages of at most {max_per_page} page views")
    await kills(world, quirks)
    for seed in FAULT_SEEDS:
        await faults(world, seed, quirks)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.resume", description=__doc__)
    parser.add_argument("--max-per-page", type=int, default=100, choices=(10, 50, 100))
    anyio.run(main, parser.parse_args().max_per_page)
