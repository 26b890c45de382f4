from __future__ import annotations

import pytest

from pageviews.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ThrottledError,
    TransientError,
)
from pageviews.retry import RetryPolicy, is_retryable


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


def test_retry_after_is_honoured_but_bounded() -> None:
    policy = RetryPolicy(initial=1.0, cap=8.0, max_retry_after=30.0)
    assert policy.wait(1, ThrottledError("x", retry_after=5.0)) == 5.0
    assert policy.wait(1, ThrottledError("x", retry_after=3600.0)) == 30.0


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
