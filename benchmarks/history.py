"""History rows: bucket units per 1000 records and wall time for never, auto and only.

Run: ``.venv/bin/python -m benchmarks.history`` (``python -m benchmarks.hosted`` runs
only the hosted rows). First a course harvest of four and of twelve months on the ``history-year``
world (a year of views, most of them from September to April), the fake's
throttle with the list endpoint's extra cost as docs/canvas.md#request-costs reports it (0.4 a
unit of per_page: about 40 a page of 100), outflow raised to 100/s so the runs
stay short (units are independent of it). ``never`` runs with retention off, so
it reads everything and can be compared. Jobs end at once (the fake's clock
stands still): wall time leaves out the export service's queue and run times,
which on Canvas add seconds to minutes.

Then issue 17's hosted rows (:mod:`benchmarks.hosted`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import aiohttp
import anyio

from pageviews.testing import FakeConfig, HistoryConfig, World, WorldSpec, expected_reports, serve
from pageviews.testing.throttle import ThrottleConfig

from . import hosted
from .acceptance import Verdict, records_exact
from .history_common import END, NOW, RANGES, cost_trace, harvest


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
    return rows + await hosted.measure(say)


def table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as the aligned tables ``make bench`` prints: modes, then the hosted term."""
    hosted_rows = [r for r in rows if "row" in r]
    rows = [r for r in rows if "row" not in r]
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
    if hosted_rows:
        lines += ["", hosted.table(hosted_rows)]
    return "\n".join(lines)


def judge(rows: Sequence[Mapping[str, Any]]) -> list[Verdict]:
    """One point per run: it harvested exactly the range's records; the hosted rows' own."""
    return [
        records_exact(f"history {r['range']}/{r['history']}", r["records"], r["expected"])
        for r in rows
        if "row" not in r
    ] + hosted.judge([r for r in rows if "row" in r])


def run(say: Callable[[str], None]) -> list[dict[str, Any]]:
    """The group as ``python -m benchmarks`` runs it."""
    return anyio.run(measure_all, say)


def main() -> None:
    rows = run(lambda _: None)
    print(table(rows))
    for verdict in judge(rows):
        print(f"{'PASS' if verdict.passed else 'FAIL'}  {verdict.name}: {verdict.measured}")


if __name__ == "__main__":
    main()
