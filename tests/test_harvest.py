"""Whole-course harvests against the fake Canvas over real HTTP, compared with ground truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from pageviews import AuthenticationError, NotFoundError, PermissionDeniedError
from pageviews.testing import FakeConfig, World, serve
from pageviews.testing.report_files import assert_reports_exact, files_in

from .harvesting import END, START, harvest, truth_for

pytestmark = pytest.mark.anyio
START_Z = "start_time=2015-01-26T00%3A00%3A00Z"


async def test_large_course_matches_ground_truth(test_world: World, tmp_path: Path) -> None:
    async with serve(test_world, FakeConfig(throttle=None)) as canvas:
        result = await harvest(canvas, tmp_path)
        truth = truth_for(canvas)
    assert len(truth.roster) >= 300 and len(truth.records) >= 50_000
    assert result.users == len(truth.roster)
    assert result.records == len(truth.records)
    assert result.complete and not result.missing_users
    assert_reports_exact(tmp_path, truth, 1693, START, END)
    # Long histories were split into windows fetched side by side.
    windows = [r for r in canvas.requests if "start_time=" in r.query and START_Z not in r.query]
    assert windows


@pytest.mark.parametrize(
    ("types", "states"),
    [
        (None, None),
        (("TeacherEnrollment", "TaEnrollment"), None),
        (("StudentEnrollment",), ("active", "completed")),
        (("StudentEnrollment", "ObserverEnrollment"), ("inactive", "invited")),
    ],
)
async def test_enrollment_type_and_state_filters(
    small_world: World,
    tmp_path: Path,
    types: tuple[str, ...] | None,
    states: tuple[str, ...] | None,
) -> None:
    async with serve(small_world, FakeConfig(throttle=None)) as canvas:
        result = await harvest(canvas, tmp_path, types=types, states=states)
        truth = truth_for(canvas, types=types, states=states)
    assert result.users == len(truth.roster) > 0
    assert_reports_exact(tmp_path, truth, 1693, START, END)


async def test_course_169_is_not_confused_with_1693(test_world: World, tmp_path: Path) -> None:
    async with serve(test_world, FakeConfig(throttle=None)) as canvas:
        await harvest(canvas, tmp_path, course=169, types=None)
        truth = truth_for(canvas, course=169, types=None)
    assert truth.records
    assert all("/courses/1693" not in r.url for r in truth.records)
    assert_reports_exact(tmp_path, truth, 169, START, END)


async def test_bad_token_stops_before_anything_else(small_world: World, tmp_path: Path) -> None:
    async with serve(small_world) as canvas:
        with pytest.raises(AuthenticationError, match="Invalid access token"):
            await harvest(canvas, tmp_path, token="not-a-real-token")
        assert len(canvas.requests) == 1
    assert files_in(tmp_path) == []


async def test_teacher_token_is_told_it_needs_view_statistics(
    small_world: World, tmp_path: Path
) -> None:
    async with serve(small_world) as canvas:
        with pytest.raises(PermissionDeniedError, match="view_statistics"):
            await harvest(canvas, tmp_path, token=small_world.teacher_token)


async def test_unknown_course_is_named(small_world: World, tmp_path: Path) -> None:
    async with serve(small_world) as canvas:
        with pytest.raises(NotFoundError, match="course 999999 not found"):
            await harvest(canvas, tmp_path, course=999999)
