"""Splitting a heavy user's chain into windows never costs a view or the harvest."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pageviews.cli import main
from pageviews.testing import FakeConfig, ListQuirks, World, WorldSpec, expected_reports, serve
from pageviews.testing.report_files import assert_reports_exact
from pageviews.testing.timeparse import epoch_us
from tests.harvesting import END, START, STUDENTS, harvest


@pytest.fixture(scope="module")
def quiet_world() -> World:
    return World.generate(
        WorldSpec(name="split", seed=5, main_students=3, other_students=0, views_total=60)
    )


def history(world: World, millis: list[int]) -> tuple[World, int]:
    user = expected_reports(world, 1693, START, END, enrollment_types=STUDENTS).roster[0]
    return world.with_views(user, 1693, millis), user


@pytest.mark.anyio
async def test_a_window_holding_only_the_shared_edge_row_is_not_out_of_order(
    quiet_world: World, tmp_path: Path
) -> None:
    # 100 views in the last 100 seconds of the range and 50 older ones, pages of 100:
    # the first page ends at a second the newest window also holds, and that window
    # holds nothing else. Every run used to end "stored pages out of order", rc 7.
    end_ms = epoch_us(END) // 1000
    recent = [end_ms - 1000 * k for k in range(100)]
    older = [epoch_us(START + timedelta(days=1 + k // 2)) // 1000 for k in range(50)]
    world, user = history(quiet_world, recent + older)
    async with serve(world, FakeConfig(throttle=None)) as canvas:
        result = await harvest(canvas, tmp_path, concurrency=16)
        windows = [r for r in canvas.requests if r.user_id == user and "bookmark" not in r.query]
        rebuilt = await _rebuild(canvas.base_url, tmp_path)
    assert len(windows) > 1, "the user was not split; the test would prove nothing"
    truth = expected_reports(world, 1693, START, END, enrollment_types=STUDENTS)
    assert result.records == len(truth.records)
    assert_reports_exact(tmp_path, truth, 1693, START, END)
    assert rebuilt == 0
    assert_reports_exact(tmp_path, truth, 1693, START, END)


async def _rebuild(base_url: str, out_dir: Path) -> int:
    """``pageviews report`` over the store the harvest left, from another thread."""
    import anyio.to_thread

    args = ["report", "1693", "--start_time", "2015-01-26", "--end_time", "2015-03-12",
            "--enrollment_types", "StudentEnrollment", "--out-dir", str(out_dir),
            ]  # fmt: skip
    return await anyio.to_thread.run_sync(main, args)


@pytest.mark.anyio
async def test_pages_not_newest_first_are_never_split(quiet_world: World, tmp_path: Path) -> None:
    # A back end that numbers its pages oldest first: the last record of page one is
    # not the oldest the chain has left, so windows cut there would lose the rest.
    span = (END - START) / 460
    world, user = history(
        quiet_world, [epoch_us(START + span * k) // 1000 + 500 for k in range(460)]
    )
    config = FakeConfig(throttle=None, pagination="numeric", oldest_first=True)
    async with serve(world, config) as canvas:
        result = await harvest(canvas, tmp_path, concurrency=16)
        windows = [r for r in canvas.requests if r.user_id == user and "2015-03-13" not in r.query]
    truth = expected_reports(world, 1693, START, END, enrollment_types=STUDENTS)
    assert not windows
    assert result.records == len(truth.records)
    assert_reports_exact(tmp_path, truth, 1693, START, END)


@pytest.mark.anyio
@pytest.mark.parametrize(("size", "late_page"), [(100, 2), (50, 3), (10, 4)])
async def test_a_split_chain_whose_pages_stop_coming_newest_first_loses_nothing(
    quiet_world: World, tmp_path: Path, size: int, late_page: int
) -> None:
    # 1,500 views over the range; every chain of the user serves its newest view on page
    # ``late_page``, after pages that came newest first: the chain is split on what it
    # read before that page, and the late view is newer than every window drawn then.
    step = (END - START) / 1500
    world, user = history(quiet_world, [epoch_us(START + step * k) // 1000 for k in range(1500)])
    quirks = ListQuirks(max_per_page=size, late_pages=frozenset({(user, late_page)}))
    async with serve(world, FakeConfig(throttle=None, quirks=quirks)) as canvas:
        result = await harvest(canvas, tmp_path, concurrency=16)
        windows = [r for r in canvas.requests if r.user_id == user and "bookmark" not in r.query]
    assert len(windows) > 1, "the user was not split; the test would prove nothing"
    truth = expected_reports(world, 1693, START, END, enrollment_types=STUDENTS)
    assert result.records == len(truth.records)
    assert_reports_exact(tmp_path, truth, 1693, START, END)
