"""What the history benchmarks share: the range, the clock, a harvest and its units."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import aiohttp

from pageviews import CanvasClient, HarvestOptions, HarvestResult, TimeRange, harvest_course
from pageviews.testing import FakeCanvas

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
