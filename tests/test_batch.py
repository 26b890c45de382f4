"""A batch of courses over the user-centred store, against the fake Canvas."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from pageviews import CanvasClient, TimeRange
from pageviews.batch import BatchResult, harvest_courses
from pageviews.canvas.retry import FAST_RETRIES
from pageviews.options import BatchOptions
from pageviews.testing import FakeCanvas, FakeConfig, World, expected_reports, serve
from pageviews.testing.report_files import assert_reports_exact
from tests.harvesting import END, START, STUDENTS


async def batch(
    canvas: FakeCanvas, out_dir: Path, *courses: str | int, **kw: object
) -> BatchResult:
    async with aiohttp.ClientSession() as session:
        client = CanvasClient(
            session, canvas.base_url, canvas.world.admin_token, retry=FAST_RETRIES, concurrency=16
        )
        options = BatchOptions(
            courses=courses,
            time_range=TimeRange(START, END),
            enrollment_types=STUDENTS,
            out_dir=out_dir,
            workers=16,
            **kw,  # type: ignore[arg-type]
        )
        return await harvest_courses(client, options)


@pytest.mark.anyio
async def test_two_overlapping_courses_read_each_user_once(
    test_world: World, tmp_path: Path
) -> None:
    async with serve(test_world, FakeConfig(throttle=None)) as canvas:
        result = await batch(canvas, tmp_path, 1693, 169)
        first_pages = Counter(
            r.user_id
            for r in canvas.requests
            if r.user_id is not None and "bookmark" not in r.query and "2015-03-13T00" in r.query
        )
    assert [c.status for c in result.courses] == ["complete", "complete"]
    for course in (1693, 169):
        truth = expected_reports(test_world, course, START, END, enrollment_types=STUDENTS)
        assert_reports_exact(tmp_path / str(course), truth, course, START, END)
    both = set(
        expected_reports(test_world, 1693, START, END, enrollment_types=STUDENTS).roster
    ) & set(expected_reports(test_world, 169, START, END, enrollment_types=STUDENTS).roster)
    assert both
    assert all(first_pages[u] == 1 for u in both)
