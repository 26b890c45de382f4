"""Run the library harvester against a running fake Canvas, as a user's program would."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from pageviews import CanvasClient, HarvestOptions, HarvestResult, TimeRange, harvest_course
from pageviews.canvas.cpuload import CpuLoad
from pageviews.canvas.retry import FAST_RETRIES, RetryPolicy
from pageviews.testing import ExpectedReports, FakeCanvas, expected_reports

START = datetime(2015, 1, 26, tzinfo=UTC)
END = datetime(2015, 3, 12, 23, 59, 59, tzinfo=UTC)
STUDENTS = ("StudentEnrollment",)


async def harvest(
    canvas: FakeCanvas,
    out_dir: Path,
    *,
    course: int | str = 1693,
    types: Sequence[str] | None = STUDENTS,
    states: Sequence[str] | None = None,
    token: str | None = None,
    retry: RetryPolicy = FAST_RETRIES,
    concurrency: int = 16,
    read_timeout: float = 5.0,
    start: datetime = START,
    end: datetime = END,
    split: bool = True,
    now: datetime | None = None,
    history: str = "never",
    cpu_bound: bool = False,
) -> HarvestResult:
    """Harvest ``course`` from ``canvas`` into ``out_dir`` with the library API.

    The simulated worlds are in 2015, beyond the History API's 12 months from today's
    clock: these harvests read the list endpoint alone unless a test asks for history.

    The fake serves from the harvest's own thread, which keeps that thread busy: unless
    ``cpu_bound``, the client is told its thread is idle, so chains are cut into windows
    as they would be against a Canvas across the network.
    """
    async with aiohttp.ClientSession() as session:
        client = CanvasClient(
            session,
            canvas.base_url,
            token or canvas.world.admin_token,
            retry=retry,
            concurrency=concurrency,
            timeout=read_timeout,
            load=_Ticking(busy=cpu_bound).load(),
        )
        options = HarvestOptions(
            course=course,
            time_range=TimeRange(start, end),
            enrollment_types=tuple(types) if types else None,
            enrollment_states=tuple(states) if states else None,
            out_dir=out_dir,
            workers=concurrency,
            split_heavy_users=split,
            history=history,
        )
        if now is None:
            return await harvest_course(client, options)
        return await harvest_course(client, options, now=lambda: now)


class _Ticking:
    """Clocks for the client's CPU load that show a thread wholly busy or wholly idle
    from its first reading on: each reading is a second later."""

    def __init__(self, *, busy: bool) -> None:
        self.busy, self.wall = busy, 0.0

    def load(self) -> CpuLoad:
        return CpuLoad(wall=self.tick, demand=lambda: self.wall if self.busy else 0.0)

    def tick(self) -> float:
        self.wall += 1.0
        return self.wall


def truth_for(
    canvas: FakeCanvas,
    *,
    course: int = 1693,
    types: Sequence[str] | None = STUDENTS,
    states: Sequence[str] | None = None,
    start: datetime = START,
    end: datetime = END,
) -> ExpectedReports:
    """The fake's independent expectation for the same harvest."""
    return expected_reports(
        canvas.world,
        course,
        start,
        end,
        enrollment_types=types,
        enrollment_states=states,
    )
