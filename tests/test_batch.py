"""A batch of courses over the user-centred store, against the fake Canvas."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from pageviews import CanvasClient, Event, Progress, TimeRange, UsageError
from pageviews.batch import harvest_courses
from pageviews.canvas.retry import FAST_RETRIES
from pageviews.options import BatchOptions
from pageviews.results import BatchResult
from pageviews.testing import FakeCanvas, FakeConfig, World, expected_reports, serve
from pageviews.testing.report_files import assert_reports_exact
from tests.harvesting import END, START, STUDENTS


async def batch(
    canvas: FakeCanvas,
    out_dir: Path,
    *courses: str | int,
    on_event: Callable[[Event], None] | None = None,
    **kw: object,
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
            **{"history": "never", **kw},  # type: ignore[arg-type]  # 2015: the list alone
        )
        return await harvest_courses(client, options, progress=Progress(on_event=on_event))


@pytest.mark.anyio
async def test_two_overlapping_courses_read_each_user_once(
    test_world: World, tmp_path: Path
) -> None:
    async with serve(test_world, FakeConfig(throttle=None)) as canvas:
        result = await batch(canvas, tmp_path, 1693, 169)
        first_pages = Counter(
            r.user_id
            for r in canvas.requests
            # The whole range's first page (a split's windows each start elsewhere).
            if r.user_id is not None
            and "bookmark" not in r.query
            and "start_time=2015-01-26T00" in r.query
            and "2015-03-13T00" in r.query
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


def test_batch_options_are_checked_when_built() -> None:
    window = TimeRange(START, END)
    with pytest.raises(UsageError, match="unknown enrollment type 'Student'"):
        BatchOptions(courses=(1693,), time_range=window, enrollment_types=("Student",))
    with pytest.raises(UsageError, match="must be a tuple of names"):
        BatchOptions(courses=(1693,), time_range=window, enrollment_types="StudentEnrollment")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="non-empty tuple"):
        BatchOptions(courses=[1693], time_range=window)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_a_library_run_reports_its_events(small_world: World, tmp_path: Path) -> None:
    events: list[Event] = []
    async with serve(small_world, FakeConfig(throttle=None)) as canvas:
        result = await batch(canvas, tmp_path, 1693, 404404, on_event=events.append)
    users = [e for e in events if e.kind == "user"]
    courses = {e.course: e.detail for e in events if e.kind == "course"}
    assert courses["1693"] == "" and courses["404404"].startswith("not found")
    assert len(users) == result.users and all(e.detail == "" for e in users)
    assert sum(e.count for e in events if e.kind == "records") >= result.courses[0].records
