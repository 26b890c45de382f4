"""A run that starts into a bucket near its mark (a rerun right after a kill) opens up
slowly: no burst of refusals, and exact reports."""

from __future__ import annotations

import signal
from dataclasses import replace
from pathlib import Path

import pytest

from pageviews.canvas.retry import RetryPolicy
from pageviews.testing import FakeCanvas, FakeConfig, LeakyBucket, ThrottleConfig, World, serve
from pageviews.testing.report_files import assert_reports_exact

from .cli_process import FAST_RETRIES, SEED_ARGS, finish, run_cli, start_cli, write_token
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


async def test_a_list_harvest_killed_near_the_tiny_buckets_mark_reruns_exact(
    small_world: World, tmp_path: Path
) -> None:
    # Issue 10's tiny bucket as it is (outflow 3/s), the list endpoint alone: killed
    # a third of the way, its charges in flight, the same command at once inherits the
    # level they leave (the levels above seed it near and past the mark).
    tiny = replace(TINY, outflow=3.0)
    write_token(tmp_path, small_world.admin_token)
    args = [*SEED_ARGS, "--history", "never", *FAST_RETRIES]
    async with serve(small_world, FakeConfig(throttle=tiny, latency=0.01)) as canvas:

        def a_third_read(c: FakeCanvas) -> bool:
            return sum(1 for r in c.requests if r.status == 200 and "/page_views" in r.path) >= 25

        process = await start_cli(canvas, tmp_path, args)
        async with process:
            await canvas.wait_until(a_third_read)
            process.send_signal(signal.SIGKILL)
            code, _ = await finish(process)
        assert code == -signal.SIGKILL
        before = len(canvas.requests)
        code, _, err = await run_cli(canvas, tmp_path, args)
        rerun = canvas.requests[before:]
        truth = truth_for(canvas)
    assert code == 0, err
    assert_reports_exact(tmp_path, truth, 1693, START, END)
    throttled = sum(r.throttled for r in rerun)
    assert throttled <= 0.05 * len(rerun), f"{throttled} of {len(rerun)}"
