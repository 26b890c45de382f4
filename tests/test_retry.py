from __future__ import annotations

import math

import anyio
import pytest

from pageviews.canvas.retry import RetryPolicy, is_retryable
from pageviews.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ThrottledError,
    TransientError,
)


def test_only_transient_failures_are_retried() -> None:
    assert is_retryable(TransientError("500"))
    assert is_retryable(ThrottledError("429"))
    for final in (AuthenticationError("x"), PermissionDeniedError("x"), NotFoundError("x")):
        assert not is_retryable(final)
    assert not is_retryable(ValueError("bug"))


def test_waits_grow_exponentially_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(initial=1.0, cap=8.0)
    for attempt, step in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        waits = [policy.wait(attempt, TransientError("x")) for _ in range(200)]
        assert all(step / 2 <= w <= step for w in waits)
        assert max(waits) - min(waits) > step / 10  # jittered, not fixed


def test_retry_after_is_honoured_within_the_users_bounds() -> None:
    policy = RetryPolicy(initial=1.0, cap=8.0, max_elapsed=100.0)
    assert policy.wait(1, ThrottledError("x", retry_after=5.0)) == 5.0
    assert policy.wait(1, ThrottledError("x", retry_after=30.0)) == 8.0
    assert policy.wait(1, ThrottledError("x", retry_after=5.0), elapsed=97.0) == 3.0


@pytest.mark.parametrize("asked", [math.nan, math.inf, -1.0])
def test_unusable_retry_after_falls_back_to_backoff(asked: float) -> None:
    policy = RetryPolicy(initial=0.1, cap=0.5)
    waits = [policy.wait(3, ThrottledError("x", retry_after=asked)) for _ in range(50)]
    assert all(0.2 <= w <= 0.4 for w in waits)
    assert not policy.stop(1, ThrottledError("x", retry_after=asked), elapsed=0.0)


def test_backoff_never_outlasts_the_retry_time() -> None:
    policy = RetryPolicy(initial=1.0, cap=60.0, max_elapsed=10.0)
    assert policy.wait(9, TransientError("x"), elapsed=8.0) <= 2.0
    assert policy.wait(5000, TransientError("x")) <= 10.0  # no OverflowError either


def test_a_retry_after_past_the_time_left_stops_at_once_and_says_why() -> None:
    policy = RetryPolicy(attempts=10, max_elapsed=5.0, cap=1.0)
    asked = ThrottledError("x", retry_after=999999.0)
    assert policy.stop(1, asked, elapsed=0.0)
    assert policy.refused_wait(asked, 0.0) == (
        "Canvas asked to wait 999999 s (Retry-After), more than the 5.0 s of retry time left"
    )
    assert not policy.stop(1, ThrottledError("x", retry_after=4.0), elapsed=0.0)
    assert policy.stop(10, TransientError("x"), elapsed=0.0)
    assert policy.stop(2, TransientError("x"), elapsed=5.0)


@pytest.mark.anyio
async def test_the_controller_names_the_refused_wait() -> None:
    policy = RetryPolicy(attempts=5, max_elapsed=5.0, initial=0.0, cap=0.0)
    calls = 0

    async def throttled() -> None:
        nonlocal calls
        async for attempt in policy.retrying():
            with attempt:
                calls += 1
                raise ThrottledError("rate limited by Canvas (HTTP 429)", retry_after=999999.0)

    with pytest.raises(TransientError, match="asked to wait 999999 s"):
        await throttled()
    assert calls == 1


@pytest.mark.anyio
async def test_tenacity_controller_stops_after_the_attempts_and_reraises() -> None:
    policy = RetryPolicy(attempts=3, initial=0.0, cap=0.0)
    calls: list[int] = []
    seen: list[str] = []

    async def fail() -> None:
        async for attempt in policy.retrying(lambda exc: seen.append(str(exc))):
            with attempt:
                calls.append(1)
                raise TransientError(f"boom {len(calls)}")

    with pytest.raises(TransientError, match="boom 3"):
        await fail()
    assert len(calls) == 3
    assert seen == ["boom 1", "boom 2"]


@pytest.mark.anyio
async def test_final_errors_are_not_retried() -> None:
    calls = 0

    async def fail() -> None:
        nonlocal calls
        async for attempt in RetryPolicy(attempts=5, initial=0.0, cap=0.0).retrying():
            with attempt:
                calls += 1
                raise NotFoundError("gone")

    with pytest.raises(NotFoundError):
        await fail()
    assert calls == 1


@pytest.mark.anyio
async def test_throttles_are_bounded_by_time_and_faults_by_count() -> None:
    policy = RetryPolicy(attempts=3, max_elapsed=60.0, initial=0.0, cap=0.0)
    errors = [ThrottledError("429")] * 7 + [TransientError("500")] * 2 + [ThrottledError("429")]
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        async for attempt in policy.retrying():
            with attempt:
                calls += 1
                if calls <= len(errors):
                    raise errors[calls - 1]
                return "page"
        raise AssertionError("unreachable")

    assert await flaky() == "page"
    assert calls == len(errors) + 1
    calls = 0
    errors = [TransientError("500")] * 2 + [ThrottledError("429")] * 4 + [TransientError("boom")]
    with pytest.raises(TransientError, match="boom"):
        await flaky()
    assert calls == 7  # the third fault ends it; the throttles between did not count


def test_job_polls_back_off_from_five_initial_waits_to_the_cap() -> None:
    policy = RetryPolicy(initial=1.0, cap=60.0)
    waits = [policy.poll_pause(n) for n in range(10)]
    assert waits[0] == 5.0 and waits == sorted(waits) and waits[-1] == 60.0
    assert policy.poll_pause(5000) == 60.0  # no OverflowError either


@pytest.mark.anyio
async def test_a_job_wait_is_bounded_by_its_own_time_counted_afresh_from_since() -> None:
    now = [100.0]
    policy = RetryPolicy(initial=1.0, cap=60.0).with_job_wait(30.0)
    job = policy.job_waits(lambda: now[0])
    now[0] = 120.0
    assert job.left() == 10.0
    ended = [0.0]
    slot = policy.job_waits(lambda: now[0], since=lambda: ended[0])
    now[0] = 140.0
    assert slot.left() == 10.0
    ended[0] = 135.0  # a job of ours ended: the bound counts from then
    assert slot.left() == 25.0
    now[0] = 170.0
    assert slot.left() <= 0 and job.left() <= 0


@pytest.mark.anyio
async def test_a_job_pause_ends_early_when_woken() -> None:
    job = RetryPolicy(initial=10.0, cap=60.0).job_waits()
    woken = anyio.Event()
    woken.set()
    with anyio.fail_after(5):
        await job.pause(woken)  # a 50 s pause, ended at once
    assert job.step == 1
