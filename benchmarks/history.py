"""History rows: bucket units per 1000 records and wall time for never, auto and only.

Run: ``.venv/bin/python -m benchmarks.history`` (``--hosted`` runs only the hosted
rows). First a course harvest of four and of twelve months on the ``history-year``
world (a year of views, most of them from September to April), the fake's
throttle with the list endpoint's extra cost as contract §9 reports it (0.4 a
unit of per_page: about 40 a page of 100), outflow raised to 100/s so the runs
stay short (units are independent of it). ``never`` runs with retention off, so
it reads everything and can be compared. Jobs end at once (the fake's clock
stands still): wall time leaves out the export service's queue and run times,
which on Canvas add seconds to minutes.

Then issue 17's hosted rows, at Canvas's own pace: the ``history-term`` course
(about 150 students, four months back) under Canvas's default bucket (outflow
10/s, answering 429) with the costs of contract §9, 20 ms latency, export jobs
queued 2 s and running 5 s on a clock that runs, 3 % of the students outside the
token's accounts (401 on every call naming them) and 2 % deleted (404).
``hosted auto`` is the default command, ``hosted only`` the same with
``--history only``; ``self-hosted auto`` is the same course on a Canvas without
the History API whose list endpoint keeps everything (the deleted users only: a
refused user alone makes any run exit 9). The bound is the bucket's: the units
spent beyond its high-water mark, plus the last request's up-front charge, at
its outflow. Extra starts: history job starts beyond one per group of 10, per
refused or deleted user.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from types import SimpleNamespace
from typing import Any

import aiohttp
import anyio

from pageviews import CanvasClient, HarvestOptions, HarvestResult, TimeRange, harvest_course
from pageviews.testing import (
    FakeCanvas,
    FakeConfig,
    FaultConfig,
    HistoryConfig,
    World,
    WorldSpec,
    expected_reports,
    serve,
)
from pageviews.testing.report_files import assert_reports_exact, without_users
from pageviews.testing.throttle import ThrottleConfig

from .acceptance import Verdict, records_exact

NOW = datetime(2015, 4, 20, 12, tzinfo=UTC)
STUDENTS = ("StudentEnrollment",)
END = datetime(2015, 4, 19, 23, 59, 59, tzinfo=UTC)
RANGES = {
    "4 months": datetime(2015, 1, 1, tzinfo=UTC),
    "12 months": datetime(2014, 5, 1, tzinfo=UTC),
}


async def harvest(
    canvas: FakeCanvas, session: aiohttp.ClientSession, out: Path, start: datetime, mode: str
) -> tuple[HarvestResult, float]:
    """Harvest course 1693's students from ``start`` with ``--history mode``; and its wall time."""
    client = CanvasClient(session, canvas.base_url, canvas.world.admin_token)
    options = HarvestOptions(
        course=1693,
        time_range=TimeRange(start, END),
        enrollment_types=STUDENTS,
        out_dir=out,
        history=mode,
    )
    began = time.monotonic()
    result = await harvest_course(client, options, now=lambda: NOW)
    return result, time.monotonic() - began


def cost_trace() -> tuple[aiohttp.TraceConfig, list[float]]:
    """A trace adding up every reply's ``X-Request-Cost``: the bucket units spent."""
    spent = [0.0]

    async def on_end(
        _s: object, _c: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        spent[0] += float(params.response.headers.get("X-Request-Cost", 0) or 0)

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_end)
    return trace, spent


async def one(world: World, start: datetime, mode: str) -> tuple[float, float, int, str]:
    throttle = replace(ThrottleConfig(), outflow=100.0, list_cost_per_page_size=0.4)
    config = FakeConfig(
        throttle=throttle,
        now=NOW,
        latency=0.02,
        retention_days=None if mode == "never" else 30,
        history=HistoryConfig(queue_seconds=0, run_seconds=0),
    )
    trace, spent = cost_trace()
    with TemporaryDirectory() as out:
        async with (
            serve(world, config) as canvas,
            aiohttp.ClientSession(trace_configs=[trace]) as session,
        ):
            result, wall = await harvest(canvas, session, Path(out), start, mode)
    throttled = f"{result.stats.throttled}/{result.stats.requests}"
    return spent[0], wall, result.records, throttled


#: Issue 17's course: a share of students outside the token's accounts, and deleted.
REFUSED_SHARE, DELETED_SHARE = 0.03, 0.02


def refused_and_deleted(world: World) -> tuple[frozenset[int], frozenset[int]]:
    """Every 33rd student refused and every 50th deleted (3 % and 2 %), spread evenly."""
    roster = expected_reports(
        world, 1693, RANGES["4 months"], END, enrollment_types=STUDENTS
    ).roster
    refused = frozenset(roster[16 :: round(1 / REFUSED_SHARE)])
    deleted = frozenset(u for u in roster[7 :: round(1 / DELETED_SHARE)] if u not in refused)
    return refused, deleted


async def _tick(canvas: FakeCanvas) -> None:
    """The fake's clock runs on from NOW in real time: export jobs queue, run and end."""
    began = time.monotonic()
    while True:
        canvas.config.now = NOW + timedelta(seconds=time.monotonic() - began)
        await anyio.sleep(0.05)


async def hosted(world: World, *, history_api: bool, mode: str = "auto") -> dict[str, object]:
    """One run of issue 17's course: exactness, units, wall against the bound, starts."""
    refused, deleted = refused_and_deleted(world)
    if not history_api:
        refused = frozenset()
    throttle = replace(ThrottleConfig(), status=429, list_cost_per_page_size=0.4)
    config = FakeConfig(
        throttle=throttle,
        now=NOW,
        latency=0.02,
        retention_days=30 if history_api else None,
        history=HistoryConfig(queue_seconds=2, run_seconds=5) if history_api else None,
        faults=FaultConfig(missing_users=deleted, refused_users=refused),
    )
    start = RANGES["4 months"]
    truth = without_users(
        expected_reports(world, 1693, start, END, enrollment_types=STUDENTS), refused | deleted
    )
    trace, spent = cost_trace()
    with TemporaryDirectory() as out:
        async with (
            serve(world, config) as canvas,
            aiohttp.ClientSession(trace_configs=[trace]) as session,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(_tick, canvas)
            result, wall = await harvest(canvas, session, Path(out), start, mode)
            tg.cancel_scope.cancel()
        try:
            assert_reports_exact(Path(out), truth, 1693, start, END)
            exact = "exact"
        except AssertionError:
            exact = "DIFFERS"
    # Job starts Canvas accepted or refused for a user (not its throttle, nor the export
    # service's "jobs still running" and "queue full", which are waits).
    starts = [
        r
        for r in canvas.requests
        if r.history is not None and r.history.kind == "start" and r.status in (201, 401, 403, 404)
    ]
    planned = len(truth.roster) + len(refused | deleted)
    groups = -(-planned // 10)  # a run without refused users starts one job a group
    named = {u for u, _ in result.failed_users} | {u for u, _ in result.missing_users}
    return {
        "row": f"{'hosted' if history_api else 'self-hosted'} {mode}",
        "exit": 0 if result.complete else 9,
        "exact": exact if named == refused | deleted else f"{exact}, named {sorted(named)}",
        "records": result.records,
        "units": spent[0],
        "wall": wall,
        "bound": max(0.0, spent[0] - throttle.hwm + throttle.up_front_cost) / throttle.outflow,
        "starts": len(starts),
        "extra": max(0, len(starts) - groups) / max(1, len(refused | deleted)),
        "throttled": f"{result.stats.throttled}/{result.stats.requests}",
    }


async def hosted_rows() -> None:
    world = World.generate(WorldSpec.preset("history-term"))
    head = ("row", "exit", "reports", "records", "units", "units/1k rec", "wall s", "bound s",
            "ratio", "starts", "extra/refused", "throttled")  # fmt: skip
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, WIDTHS, strict=True)))
    for history_api, mode in ((True, "auto"), (True, "only"), (False, "auto")):
        r = await hosted(world, history_api=history_api, mode=mode)
        units, records = float(r["units"]), int(str(r["records"]))  # type: ignore[arg-type]
        wall, bound = float(r["wall"]), float(r["bound"])  # type: ignore[arg-type]
        cells = (r["row"], r["exit"], r["exact"], f"{records:,}", f"{units:,.0f}",
                 f"{1000 * units / max(records, 1):,.1f}", f"{wall:.1f}", f"{bound:.1f}",
                 f"{wall / max(bound, 1e-9):.2f}x", r["starts"], f"{r['extra']:.1f}",
                 r["throttled"])  # fmt: skip
        print(" ".join(f"{c!s:>{w}}" for c, w in zip(cells, WIDTHS, strict=True)), flush=True)


WIDTHS = (16, 4, 7, 8, 7, 12, 7, 7, 6, 6, 13, 9)


async def measure_all(say: Callable[[str], None]) -> list[dict[str, Any]]:
    """Every range in every mode, as rows of plain data; the records' truth beside each."""
    world = World.generate(WorldSpec.preset("history-year"))
    rows = []
    for label, start in RANGES.items():
        want = expected_reports(world, 1693, start, END, enrollment_types=("StudentEnrollment",))
        truth = len(want.records)
        for mode in ("never", "auto", "only"):
            say(f"[history] {label}, {mode}: running ...")
            units, wall, records, throttled = await one(world, start, mode)
            rows.append(
                {
                    "range": label, "history": mode, "records": records, "expected": truth,
                    "units": units, "units_per_1k_records": 1000 * units / max(records, 1),
                    "wall_seconds": wall, "throttled": throttled,
                }
            )  # fmt: skip
    return rows


def table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as the aligned table ``make bench`` prints."""
    head = ("range", "history", "records", "units", "units/1k rec", "wall s", "throttled")
    lines = [
        f"{head[0]:<10} {head[1]:<7} {head[2]:>8} {head[3]:>9} {head[4]:>12} {head[5]:>7} "
        f"{head[6]:>9}"
    ]
    for r in rows:
        lines.append(
            f"{r['range']:<10} {r['history']:<7} {r['records']:>8,} {r['units']:>9,.0f} "
            f"{r['units_per_1k_records']:>12,.1f} {r['wall_seconds']:>7.2f} {r['throttled']:>9}"
        )
    return "\n".join(lines)


def judge(rows: Sequence[Mapping[str, Any]]) -> list[Verdict]:
    """One point per run: it harvested exactly the range's records."""
    return [
        records_exact(f"history {r['range']}/{r['history']}", r["records"], r["expected"])
        for r in rows
    ]


def run(say: Callable[[str], None]) -> list[dict[str, Any]]:
    """The group as ``python -m benchmarks`` runs it."""
    return anyio.run(measure_all, say)


def main() -> None:
    if "--hosted" in sys.argv[1:]:
        anyio.run(hosted_rows)
        return
    rows = run(lambda _: None)
    print(table(rows))
    for verdict in judge(rows):
        print(f"{'PASS' if verdict.passed else 'FAIL'}  {verdict.name}: {verdict.measured}")


if __name__ == "__main__":
    main()
