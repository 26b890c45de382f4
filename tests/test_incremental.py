"""Incremental nights: only what the store does not cover is read, and late views are caught."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from pageviews import CanvasClient, HarvestOptions, HarvestResult, TimeRange, harvest_course
from pageviews.canvas.retry import FAST_RETRIES
from pageviews.testing import FakeCanvas, FakeConfig, LateViews, World, expected_reports, serve
from pageviews.testing.report_files import files_in
from pageviews.testing.truth import fewest_page_view_requests

from .harvesting import STUDENTS

pytestmark = pytest.mark.anyio
START = datetime(2015, 2, 1, tzinfo=UTC)
NIGHT_1 = datetime(2015, 3, 1, 2, 0, tzinfo=UTC)
NIGHT_2 = NIGHT_1 + timedelta(days=1)


async def night(
    canvas: FakeCanvas, now: datetime, out: Path, state: Path, *, incremental: bool
) -> HarvestResult:
    """The nightly command: the term so far, ending today (pinned to just before now)."""
    canvas.config.now = now
    async with aiohttp.ClientSession() as session:
        client = CanvasClient(
            session, canvas.base_url, canvas.world.admin_token, retry=FAST_RETRIES
        )
        options = HarvestOptions(
            course=1693,
            time_range=TimeRange(START, now.replace(hour=23, minute=59, second=59)),
            enrollment_types=STUDENTS,
            out_dir=out,
            state_path=state,
            incremental=incremental,
        )
        return await harvest_course(client, options, now=lambda: now)


def page_view_requests(canvas: FakeCanvas, since: int) -> int:
    return sum(1 for r in canvas.requests[since:] if "/page_views" in r.path)


async def test_an_incremental_night_reads_less_and_equals_a_full_run(
    small_world: World, tmp_path: Path
) -> None:
    # Up to half an hour late: views of the first night's last minutes appear only later,
    # inside the hour the second night re-reads.
    config = FakeConfig(throttle=None, late=LateViews(share=0.3, min_delay=60, max_delay=1800))
    nightly = tmp_path / "nightly.sqlite"
    async with serve(small_world, config) as canvas:
        first = await night(canvas, NIGHT_1, tmp_path / "n1", nightly, incremental=True)
        before = len(canvas.requests)
        second = await night(canvas, NIGHT_2, tmp_path / "n2", nightly, incremental=True)
        incremental_requests = page_view_requests(canvas, before)
        before = len(canvas.requests)
        full = await night(canvas, NIGHT_2, tmp_path / "full", tmp_path / "full.sqlite",
                           incremental=False)  # fmt: skip
        full_requests = page_view_requests(canvas, before)
    assert first.complete and second.complete and full.complete
    assert second.records == full.records > first.records
    names = [n for n in files_in(tmp_path / "full") if n.endswith((".csv", ".json"))]
    assert len(names) == 8  # the three reports and the inactive users, CSV and JSON
    for name in names:
        assert (tmp_path / "n2" / name).read_bytes() == (tmp_path / "full" / name).read_bytes()
    # Each user's coverage is trusted up to an hour before it was read: the second night
    # reads from 01:00 of the first, one chain per user, the fewest any client needs.
    roster = expected_reports(small_world, 1693, START, NIGHT_2, enrollment_types=STUDENTS)
    window = (NIGHT_1 - timedelta(hours=1), NIGHT_2 - timedelta(seconds=1))
    fewest = fewest_page_view_requests(small_world, roster.roster, *window)
    assert incremental_requests == fewest < full_requests
