"""The one retry policy: which failures are retried, how long to wait, when to give up."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from .errors import TransientError


def is_retryable(exc: BaseException) -> bool:
    """Retry transient failures only; 400/401/403/404 and protocol errors are final."""
    return isinstance(exc, TransientError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded, jittered exponential backoff.

    ``attempts`` and ``max_elapsed`` bound one request; ``initial`` and ``cap``
    shape the waits. Canvas sends no Retry-After on throttles (contract §5), but
    a proxy might, so it is honoured when present (capped by ``max_retry_after``).
    """

    attempts: int = 10
    max_elapsed: float = 900.0
    initial: float = 1.0
    cap: float = 60.0
    max_retry_after: float = 300.0

    def wait(self, attempt: int, exc: BaseException | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_retry_after)
        ceiling = min(self.cap, self.initial * 2.0 ** (attempt - 1))
        # "Equal jitter": never less than half the step, so waits still grow.
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def with_attempts(self, attempts: int) -> RetryPolicy:
        """Return a copy allowing at most ``attempts`` tries."""
        return replace(self, attempts=attempts)

    def retrying(self, on_retry: Callable[[BaseException], None] | None = None) -> AsyncRetrying:
        """Build the tenacity controller for one request."""

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return self.wait(state.attempt_number, exc)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            if on_retry is not None and exc is not None:
                on_retry(exc)

        return AsyncRetrying(
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.max_elapsed),
            wait=wait,
            retry=retry_if_exception(is_retryable),
            before_sleep=before_sleep,
            reraise=True,
        )


#: Waits of a few milliseconds, for tests against the local fake Canvas.
FAST_RETRIES = RetryPolicy(
    attempts=8, max_elapsed=60.0, initial=0.005, cap=0.05, max_retry_after=0.05
)
