"""Exact at the edges: Canvas keeps milliseconds behind whole-second JSON
(docs/canvas.md#subsecond-times).

Each history here is crafted so that a second holds several views and an edge
the harvester draws (a split window, the range end, a resumed chain's bookmark,
a pinned "now") falls inside that second.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pageviews.testing import (
    FakeConfig,
    FaultConfig,
    LateViews,
    World,
    WorldSpec,
    expected_reports,
    serve,
)
from pageviews.testing.report_files import assert_reports_exact
from pageviews.testing.timeparse import epoch_us
from tests.harvesting import END, START, STUDENTS, harvest

#: A page load and its API calls: seven views within one second.
BURST = (0, 150, 300, 450, 600, 750, 900)


def ms(moment: datetime) -> int:
    return epoch_us(moment) // 1000


def bursts(first: datetime, count: int, every: timedelta) -> list[int]:
    """``count`` bursts of seven views, ``every`` apart; 100 per page puts page edges inside."""
    return [ms(first + every * k) + offset for k in range(count) for offset in BURST]


@pytest.fixture(scope="module")
def edge_world() -> World:
    return World.generate(
        WorldSpec(name="edges", seed=7, main_students=4, other_students=2, views_total=300)
    )


def heavy_user(world: World) -> int:
    return expected_reports(world, 1693, START, END, enrollment_types=STUDENTS).roster[0]


def crafted(world: World, millis: Iterable[int]) -> tuple[World, int]:
    user = heavy_user(world)
    return world.with_views(user, 1693, millis), user


@pytest.mark.anyio
async def test_a_split_window_edge_inside_a_burst_loses_nothing(
    edge_world: World, tmp_path: Path
) -> None:
    # 4,900 views over the range, bursts of seven: every page ends inside a second that
    # the next page continues, so any split point is a window edge inside a burst.
    world, user = crafted(
        edge_world, bursts(START + timedelta(seconds=30), 700, (END - START) / 700)
    )
    async with serve(world, FakeConfig(throttle=None)) as canvas:
        result = await harvest(canvas, tmp_path, concurrency=16)
        windows = [r for r in canvas.requests if r.user_id == user and "2015-03-13" not in r.query]
    truth = expected_reports(world, 1693, START, END, enrollment_types=STUDENTS)
    assert windows, "the heavy user was not split; the test would prove nothing"
    assert result.records == len(truth.records)
    assert_reports_exact(tmp_path, truth, 1693, START, END)


def edge_history(start: datetime, end: datetime) -> list[int]:
    """Bursts straddling both ends of the range, around a middle of ordinary views."""
    before, after = ms(start), ms(end.replace(microsecond=0)) + 1000
    return [
        before - 1,  # 23:59:59.999 the day before: out
        before,
        before + 400,
        *bursts(start + timedelta(days=1), 40, timedelta(hours=7)),
        after - 1000,  # the end's second, from its first millisecond...
        after - 650,
        after - 650,
        after - 1,  # ...to its last: all in
        after,  # the next second: out, though Canvas returns it for end_time=that second
        after + 200,
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("split", [True, False])
async def test_a_range_end_inside_a_burst_takes_the_whole_second(
    edge_world: World, tmp_path: Path, split: bool
) -> None:
    world, user = crafted(edge_world, edge_history(START, END))
    async with serve(world, FakeConfig(throttle=None)) as canvas:
        await harvest(canvas, tmp_path, split=split)
    truth = expected_reports(world, 1693, START, END, enrollment_types=STUDENTS)
    mine = [r.created_at for r in truth.records if r.user_id == user]
    assert mine.count("2015-03-12T23:59:59Z") == 4 and mine.count("2015-01-26T00:00:00Z") == 2
    assert "2015-03-13T00:00:00Z" not in mine and "2015-01-25T23:59:59Z" not in mine
    assert_reports_exact(tmp_path, truth, 1693, START, END)


@pytest.mark.anyio
async def test_a_range_pinned_to_now_ends_at_the_last_whole_second(
    edge_world: World, tmp_path: Path
) -> None:
    # The range reaches past the fake's clock: the run pins its end to the last whole
    # second before now, and takes all of that second.
    now = datetime(2015, 3, 1, 12, 0, 0, 500_000, tzinfo=UTC)
    pinned = datetime(2015, 3, 1, 11, 59, 59, tzinfo=UTC)
    world, user = crafted(edge_world, [*edge_history(START, pinned), ms(now) - 300, ms(now) - 1])
    async with serve(world, FakeConfig(throttle=None, now=now)) as canvas:
        result = await harvest(canvas, tmp_path, now=now)
    truth = expected_reports(world, 1693, START, pinned, enrollment_types=STUDENTS)
    mine = [r.created_at for r in truth.records if r.user_id == user]
    assert mine.count("2015-03-01T11:59:59Z") == 4
    assert result.records == len(truth.records)
    # The reports are named for the range asked for, and hold what the pinned range holds.
    assert_reports_exact(tmp_path, truth, 1693, START, END)


@pytest.mark.anyio
async def test_a_resumed_chain_whose_bookmark_sits_inside_a_burst(
    edge_world: World, tmp_path: Path
) -> None:
    # 350 views in bursts of seven, plus the range-end burst: page 1 ends inside a
    # second. The first run stores page 1 and its next link, then page 2 keeps
    # failing; the second run resumes from the stored link and must lose nothing.
    history = bursts(START + timedelta(days=2), 50, timedelta(hours=9)) + edge_history(START, END)
    world, user = crafted(edge_world, history)
    config = FakeConfig(
        throttle=None, faults=FaultConfig(broken_after_first_users=frozenset({user}))
    )
    async with serve(world, config) as canvas:
        first = await harvest(canvas, tmp_path, split=False)
        assert [u for u, _ in first.failed_users] == [user]
        config.faults = FaultConfig()
        second = await harvest(canvas, tmp_path, split=False)
        first_pages = [
            r for r in canvas.requests if r.user_id == user and "page=bookmark" not in r.query
        ]
    assert second.complete
    assert len(first_pages) == 1, "the second run fetched the user's first page again"
    truth = expected_reports(world, 1693, START, END, enrollment_types=STUDENTS)
    assert_reports_exact(tmp_path, truth, 1693, START, END)


@pytest.mark.anyio
async def test_late_views_are_missed_then_picked_up_by_a_later_run(
    edge_world: World, tmp_path: Path
) -> None:
    # Views logged in the last ten minutes before the run, half of them visible only
    # up to ten minutes later (docs/canvas.md#late-views). The first run cannot see those and says
    # so; a run a quarter of an hour later over the same range reads them all.
    now = datetime(2015, 3, 12, 18, 0, tzinfo=UTC)
    recent = [ms(now) - 600_000 + 997 * k for k in range(600)]
    world, _ = crafted(edge_world, [*edge_history(START, now - timedelta(hours=2)), *recent])
    late = LateViews(share=0.5, min_delay=1.0, max_delay=600.0)
    config = FakeConfig(throttle=None, now=now, late=late)
    pinned = now - timedelta(seconds=1)
    truth = expected_reports(world, 1693, START, pinned, enrollment_types=STUDENTS)
    async with serve(world, config) as canvas:
        first = await harvest(canvas, tmp_path, now=now)
        assert first.records < len(truth.records)
        assert any("views of the last minutes may still appear" in n for n in first.notes)
        # The same command a quarter of an hour later: nothing was logged since, but
        # the late views have arrived.
        config.now = later = now + timedelta(minutes=15)
        second = await harvest(canvas, tmp_path, now=later)
    assert second.records == len(truth.records)
    assert_reports_exact(tmp_path, truth, 1693, START, END)
