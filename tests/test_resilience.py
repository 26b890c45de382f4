"""Throttles and faults end with exact reports; faults that never clear are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from pageviews.canvas.retry import FAST_RETRIES
from pageviews.testing import (
    ALL_FAULT_KINDS,
    FakeConfig,
    FaultConfig,
    FaultKind,
    ThrottleConfig,
    World,
    serve,
)
from pageviews.testing.report_files import assert_reports_exact, without_users

from .harvesting import END, START, harvest, truth_for

pytestmark = pytest.mark.anyio

TRANSIENT = (
    FaultKind.HTTP_500,
    FaultKind.HTTP_502,
    FaultKind.HTTP_503,
    FaultKind.HTTP_504,
    FaultKind.RESET,
    FaultKind.STALL,
    FaultKind.TRUNCATED_JSON,
)


@pytest.mark.parametrize(
    "kind", [FaultKind.THROTTLE_403, FaultKind.THROTTLE_429, FaultKind.THROTTLE_429_RETRY_AFTER]
)
async def test_throttle_replies_are_waited_out(
    small_world: World, tmp_path: Path, kind: FaultKind
) -> None:
    config = FakeConfig(faults=FaultConfig(rate=0.3, kinds=(kind,), targets="all"))
    async with serve(small_world, config) as canvas:
        result = await harvest(canvas, tmp_path)
        truth = truth_for(canvas)
    assert canvas.stats.faults > 0
    assert result.stats.throttled >= canvas.stats.faults
    assert result.complete
    assert_reports_exact(tmp_path, truth, 1693, START, END)


async def test_real_bucket_with_unknown_up_front_cost(small_world: World, tmp_path: Path) -> None:
    # The client assumes Canvas's default up-front charge of 50; this Canvas charges 150,
    # so its first guesses overrun the bucket. It must learn, recover and stay exact.
    throttle = ThrottleConfig(hwm=600, outflow=3000.0, up_front_cost=150.0, status=429)
    async with serve(small_world, FakeConfig(throttle=throttle, latency=0.01)) as canvas:
        result = await harvest(canvas, tmp_path, concurrency=32)
        truth = truth_for(canvas)
    assert canvas.stats.throttled > 0
    assert result.stats.throttled == canvas.stats.throttled
    assert result.peak_in_flight > 4
    assert_reports_exact(tmp_path, truth, 1693, START, END)


async def test_403_without_evidence_is_not_retried_as_a_throttle(
    small_world: World, tmp_path: Path
) -> None:
    async with serve(small_world, FakeConfig(auth_error_status=403)) as canvas:
        with pytest.raises(Exception, match="view_statistics"):
            await harvest(canvas, tmp_path, token=small_world.teacher_token)
        page_view_requests = [r for r in canvas.requests if "/page_views" in r.path]
    assert all(r.status == 403 for r in page_view_requests)
    assert len(page_view_requests) <= 16  # the first refusals stop the run, no retry storm


async def test_transient_faults_end_exact(test_world: World, tmp_path: Path) -> None:
    faults = FaultConfig(seed=7, rate=0.08, kinds=TRANSIENT, stall_seconds=3.0, targets="all")
    async with serve(test_world, FakeConfig(throttle=None, faults=faults)) as canvas:
        result = await harvest(canvas, tmp_path, read_timeout=0.5)
        truth = truth_for(canvas)
    kinds = {r.fault for r in canvas.requests if r.fault is not None}
    assert kinds == set(TRANSIENT)
    assert result.complete
    assert result.stats.retries >= canvas.stats.faults
    assert_reports_exact(tmp_path, truth, 1693, START, END)


async def test_missing_user_is_skipped_and_named(small_world: World, tmp_path: Path) -> None:
    async with serve(small_world) as canvas:
        truth = truth_for(canvas)
        gone = truth.records[0].user_id
        canvas.config.faults = FaultConfig(missing_users=frozenset({gone}))
        result = await harvest(canvas, tmp_path)
    assert [user for user, _ in result.missing_users] == [gone]
    assert result.complete  # a deleted user is not a failure of the harvest
    assert_reports_exact(tmp_path, without_users(truth, {gone}), 1693, START, END)


@pytest.mark.parametrize("kind", ALL_FAULT_KINDS, ids=[k.value for k in ALL_FAULT_KINDS])
async def test_each_fault_kind_alone_ends_exact(
    small_world: World, tmp_path: Path, kind: FaultKind
) -> None:
    faults = FaultConfig(seed=3, rate=0.35, kinds=(kind,), stall_seconds=2.0, targets="all")
    async with serve(small_world, FakeConfig(faults=faults)) as canvas:
        result = await harvest(canvas, tmp_path, read_timeout=0.3)
        truth = truth_for(canvas)
    assert canvas.stats.by_fault[kind.value] > 0
    assert result.complete
    assert_reports_exact(tmp_path, truth, 1693, START, END)


async def test_five_percent_of_every_fault_kind_on_a_large_course(
    test_world: World, tmp_path: Path
) -> None:
    faults = FaultConfig(seed=11, rate=0.05, stall_seconds=2.0, targets="all")
    async with serve(test_world, FakeConfig(faults=faults)) as canvas:
        result = await harvest(canvas, tmp_path, read_timeout=0.3)
        truth = truth_for(canvas)
    assert set(canvas.stats.by_fault) == {k.value for k in ALL_FAULT_KINDS}
    assert result.complete
    assert_reports_exact(tmp_path, truth, 1693, START, END)


async def test_numbered_pages_of_the_database_backend(small_world: World, tmp_path: Path) -> None:
    async with serve(small_world, FakeConfig(pagination="numeric")) as canvas:
        await harvest(canvas, tmp_path)
        truth = truth_for(canvas)
    assert any("page=2" in r.query for r in canvas.requests)
    assert_reports_exact(tmp_path, truth, 1693, START, END)


async def test_retries_are_bounded_and_the_user_is_named(
    small_world: World, tmp_path: Path
) -> None:
    async with serve(small_world) as canvas:
        truth = truth_for(canvas)
        broken = truth.records[0].user_id
        canvas.config.faults = FaultConfig(broken_users=frozenset({broken}))
        result = await harvest(canvas, tmp_path, retry=FAST_RETRIES.with_attempts(3))
        tries = [r for r in canvas.requests if r.user_id == broken]
        # The user is named, and a re-run asks Canvas again for that user only.
        first_run = len(canvas.requests)
        canvas.config.faults = FaultConfig()
        again = await harvest(canvas, tmp_path)
        retried = {r.user_id for r in canvas.requests[first_run:] if r.user_id is not None}
    assert [user for user, _ in result.failed_users] == [broken]
    assert not result.complete
    assert len(tries) == 3
    assert again.complete and again.resumed
    assert retried == {broken}
    assert_reports_exact(tmp_path, truth, 1693, START, END)
