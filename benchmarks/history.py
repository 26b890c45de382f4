"""History rows: bucket units per 1000 records and wall time for never, auto and only.

Run: ``.venv/bin/python -m benchmarks.history``. A course harvest of four and of
twelve months on the ``history-year`` world (a year of views, most of them from
September to April), the fake's throttle with the list endpoint's
extra cost as contract §9 reports it (0.4 a unit of per_page: about 40 a page of
100), outflow raised to 100/s so the runs stay short (units are independent of
it). ``never`` runs with retention off, so it reads everything and can be
compared. Jobs end at once (the fake's clock stands still): wall time leaves out
the export service's queue and run times, which on Canvas add seconds to minutes.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from types import SimpleNamespace

import aiohttp
import anyio

from pageviews import CanvasClient, HarvestOptions, TimeRange, harvest_course
from pageviews.testing import FakeConfig, HistoryConfig, World, WorldSpec, serve
from pageviews.testing.throttle import ThrottleConfig

NOW = datetime(2015, 4, 20, 12, tzinfo=UTC)
END = datetime(2015, 4, 19, 23, 59, 59, tzinfo=UTC)
RANGES = {
    "4 months": datetime(2015, 1, 1, tzinfo=UTC),
    "12 months": datetime(2014, 5, 1, tzinfo=UTC),
}


async def one(world: World, start: datetime, mode: str) -> tuple[float, float, int, str]:
    throttle = replace(ThrottleConfig(), outflow=100.0, list_cost_per_page_size=0.4)
    config = FakeConfig(
        throttle=throttle,
        now=NOW,
        latency=0.02,
        retention_days=None if mode == "never" else 30,
        history=HistoryConfig(queue_seconds=0, run_seconds=0),
    )
    spent = [0.0]

    async def on_end(
        _s: object, _c: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        spent[0] += float(params.response.headers.get("X-Request-Cost", 0) or 0)

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_end)
    with TemporaryDirectory() as out:
        async with (
            serve(world, config) as canvas,
            aiohttp.ClientSession(trace_configs=[trace]) as session,
        ):
            client = CanvasClient(session, canvas.base_url, world.admin_token)
            options = HarvestOptions(
                course=1693,
                time_range=TimeRange(start, END),
                enrollment_types=("StudentEnrollment",),
                out_dir=Path(out),
                history=mode,
            )
            began = time.monotonic()
            result = await harvest_course(client, options, now=lambda: NOW)
            wall = time.monotonic() - began
    throttled = f"{result.stats.throttled}/{result.stats.requests}"
    return spent[0], wall, result.records, throttled


async def main() -> None:
    world = World.generate(WorldSpec.preset("history-year"))
    head = ("range", "history", "records", "units", "units/1k rec", "wall s", "throttled")
    print(
        f"{head[0]:<10} {head[1]:<7} {head[2]:>8} {head[3]:>9} {head[4]:>12} {head[5]:>7} "
        f"{head[6]:>9}"
    )
    for label, start in RANGES.items():
        for mode in ("never", "auto", "only"):
            units, wall, records, throttled = await one(world, start, mode)
            per = 1000 * units / max(records, 1)
            print(
                f"{label:<10} {mode:<7} {records:>8,} {units:>9,.0f} {per:>12,.1f} {wall:>7.2f} "
                f"{throttled:>9}"
            )


if __name__ == "__main__":
    anyio.run(main)
