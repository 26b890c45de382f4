"""A run that starts into a bucket near its mark (a rerun right after a kill) opens up
slowly: no burst of refusals, and exact reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from pageviews.canvas.retry import RetryPolicy
from pageviews.testing import FakeConfig, LeakyBucket, ThrottleConfig, World, serve
from pageviews.testing.report_files import assert_reports_exact

from .harvesting import END, START, harvest, truth_for

pytestmark = pytest.mark.anyio

#: Issue 10's tiny bucket, leaking a little faster so the test stays short.
TINY = ThrottleConfig(
    maximum=80.0,
    hwm=60.0,
    up_front_cost=10.0,
    outflow=10.0,
    cost_base=0.3,
    cost_per_item=0.01,
    status=429,
    retry_after=True,
)


@pytest.mark.parametrize("level", [45.0, 75.0])
async def test_a_run_into_a_bucket_left_near_its_mark_opens_up_slowly(
    small_world: World, tmp_path: Path, level: float
) -> None:
    # 45: a paced run killed; 75: killed with costly calls settling after the kill.
    # Retries wait as Canvas asks (Retry-After), not longer.
    retry = RetryPolicy(attempts=10, max_elapsed=60.0, initial=0.05, cap=1.0)
    async with serve(small_world, FakeConfig(throttle=TINY, latency=0.01)) as canvas:
        token = small_world.admin_token
        canvas.buckets[token] = LeakyBucket(level=level, touched=canvas.clock())
        result = await harvest(canvas, tmp_path, retry=retry)
        truth = truth_for(canvas)
    assert_reports_exact(tmp_path, truth, 1693, START, END)
    assert result.stats.throttled <= max(3, 0.05 * result.stats.requests), result.stats
