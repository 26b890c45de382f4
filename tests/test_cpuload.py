"""A client whose own thread is CPU bound does not cut chains into windows."""

from __future__ import annotations

from pathlib import Path

import pytest

from pageviews.canvas.cpuload import FIRST, SATURATED, WINDOW, CpuLoad, cpu_demand
from pageviews.testing import FakeConfig, World, WorldSpec, expected_reports, serve
from pageviews.testing.report_files import assert_reports_exact
from pageviews.testing.timeparse import epoch_us
from tests.harvesting import END, START, STUDENTS, harvest


class _Clocks:
    """Wall and CPU-demand readings a test sets by hand."""

    def __init__(self) -> None:
        self.wall = self.demand = 0.0

    def load(self) -> CpuLoad:
        return CpuLoad(wall=lambda: self.wall, demand=lambda: self.demand)

    def spend(self, wall: float, share: float) -> None:
        self.wall += wall
        self.demand += wall * share


def test_nothing_is_known_before_the_first_tenth_of_a_second() -> None:
    clocks = _Clocks()
    load = clocks.load()
    clocks.spend(FIRST / 2, 1.0)
    assert not load.saturated()
    assert load.share is None


def test_the_first_window_counts_as_soon_as_a_tenth_of_a_second_has_passed() -> None:
    clocks = _Clocks()
    load = clocks.load()
    clocks.spend(FIRST, 1.0)
    assert load.saturated()


def test_a_thread_busy_nine_tenths_of_a_window_is_saturated_and_half_is_not() -> None:
    clocks = _Clocks()
    load = clocks.load()
    clocks.spend(WINDOW, 0.9)
    assert load.saturated()
    clocks.spend(WINDOW, 0.5)
    assert not load.saturated()
    assert load.share == pytest.approx(0.5)


def test_the_share_is_of_the_last_completed_window_only() -> None:
    clocks = _Clocks()
    load = clocks.load()
    clocks.spend(WINDOW, 1.0)
    assert load.saturated()
    # Half a window idle: the window has not completed, the last one still rules.
    clocks.spend(WINDOW / 2, 0.0)
    assert load.saturated()
    clocks.spend(WINDOW / 2, 0.0)
    assert not load.saturated()
    assert load.share == pytest.approx(0.0)


def test_the_threshold_itself_counts_as_saturated() -> None:
    clocks = _Clocks()
    load = clocks.load()
    clocks.spend(WINDOW, SATURATED)
    assert load.saturated()


def test_this_threads_demand_clock_moves_with_work() -> None:
    demand = cpu_demand()
    before = demand()
    total = sum(i * i for i in range(300_000))
    assert total > 0
    assert demand() > before


@pytest.fixture(scope="module")
def long_history() -> tuple[World, int]:
    world = World.generate(
        WorldSpec(name="cpuload", seed=11, main_students=3, other_students=0, views_total=60)
    )
    user = expected_reports(world, 1693, START, END, enrollment_types=STUDENTS).roster[0]
    step = (END - START) / 1200
    return world.with_views(
        user, 1693, [epoch_us(START + step * k) // 1000 for k in range(1200)]
    ), user


@pytest.mark.anyio
@pytest.mark.parametrize("cpu_bound", [False, True])
async def test_a_cpu_bound_client_reads_a_long_chain_whole_and_an_idle_one_cuts_it(
    long_history: tuple[World, int], tmp_path: Path, cpu_bound: bool
) -> None:
    # 1,200 views, pages of 100: 13 requests unsplit (12 full pages and the empty last).
    world, user = long_history
    async with serve(world, FakeConfig(throttle=None)) as canvas:
        result = await harvest(canvas, tmp_path, concurrency=16, cpu_bound=cpu_bound)
        requests = [r for r in canvas.requests if r.user_id == user]
    truth = expected_reports(world, 1693, START, END, enrollment_types=STUDENTS)
    assert result.records == len(truth.records)
    assert_reports_exact(tmp_path, truth, 1693, START, END)
    if cpu_bound:
        assert len(requests) == 13
    else:
        assert len(requests) > 13
