"""Run the library harvester against a running fake Canvas, as a user's program would."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from pageviews import CanvasClient, HarvestOptions, HarvestResult, TimeRange, harvest_course
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
) -> HarvestResult:
    """Harvest ``course`` from ``canvas`` into ``out_dir`` with the library API.

    The simulated worlds are in 2015, beyond the History API's 12 months from today's
    clock: these harvests read the list endpoint alone unless a test asks for history.
    """
    async with aiohttp.ClientSession() as session:
        client = CanvasClient(
            session,
            canvas.base_url,
            token or canvas.world.admin_token,
            retry=retry,
            concurrency=concurrency,
            timeout=read_timeout,
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
