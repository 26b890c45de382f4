"""The one retry policy: which failures are retried, how long to wait, when to give up.

A throttle is not a fault: a refusal by Canvas's rate limiter says the bucket is
full, not that anything is broken, so throttles never use up the tries meant for
faults (``--retries``); they are bounded by time alone (``--retry-time``). The
user's bounds win over the server's wishes: no wait exceeds ``cap``
(``--retry-max-wait``) or the retry time left, and a Retry-After longer than the
time left ends the retries at once, saying so.

The waits that are no failure, an export job queued or running and a history
start waiting for a free job slot, are bounded by their own time, ``job_wait``
(``--history-wait``), and paced as Canvas's own UI polls: every 5 s, growing.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final, NoReturn

import anyio
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from ..errors import ThrottledError, TransientError

#: Seconds a job may stay queued or running, and a start wait for a slot (--history-wait).
DEFAULT_HISTORY_WAIT: Final = 1800.0


def is_retryable(exc: BaseException) -> bool:
    """Retry transient failures only; 400/401/403/404 and protocol errors are final."""
    return isinstance(exc, TransientError)


def is_throttle(exc: BaseException | None) -> bool:
    """Whether ``exc`` is Canvas's rate limiter refusing a request (waited out, not counted)."""
    return isinstance(exc, ThrottledError)


def asked_wait(exc: BaseException | None) -> float | None:
    """The server's Retry-After carried by ``exc``, if it is a usable number of seconds."""
    asked = exc.retry_after if isinstance(exc, TransientError) else None
    return asked if asked is not None and math.isfinite(asked) and asked >= 0 else None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded, jittered exponential backoff.

    ``attempts`` bounds the faults one request may meet, ``max_elapsed`` the time
    it may spend retrying (faults and throttles alike); ``initial`` and ``cap``
    shape the waits, which grow with the failures of the same kind (throttles or
    faults). Canvas sends no Retry-After on throttles (docs/canvas.md#throttling),
    but a proxy might, so it is honoured when present, within the same bounds.
    ``job_wait`` bounds the waits of :class:`JobWait`, which grow from
    ``5 * initial`` to ``cap`` (so a test's fast policy polls fast too).
    """

    attempts: int = 10
    max_elapsed: float = 900.0
    initial: float = 1.0
    cap: float = 60.0
    job_wait: float = DEFAULT_HISTORY_WAIT

    def wait(self, attempt: int, exc: BaseException | None, elapsed: float = 0.0) -> float:
        """Seconds to wait after failure number ``attempt`` of ``exc``'s kind, ``elapsed`` s in."""
        left = max(0.0, self.max_elapsed - elapsed)
        asked = asked_wait(exc)
        if asked is not None:
            return min(asked, self.cap, left)
        # The exponent is bounded: 2.0 ** 1100 overflows, and the cap binds long before.
        ceiling = min(self.cap, self.initial * 2.0 ** min(attempt - 1, 64))
        # "Equal jitter": never less than half the step, so waits still grow.
        return min(ceiling / 2 + random.uniform(0, ceiling / 2), left)

    def refused_wait(self, exc: BaseException | None, elapsed: float) -> str | None:
        """Say so when the server asks for a wait longer than the retry time left."""
        left = self.max_elapsed - elapsed
        asked = asked_wait(exc)
        if asked is None or asked <= left:
            return None
        return (
            f"Canvas asked to wait {asked:g} s (Retry-After), more than the "
            f"{max(left, 0.0):.1f} s of retry time left"
        )

    def stop(self, faults: int, exc: BaseException | None, elapsed: float) -> bool:
        """Whether retrying ends after ``faults`` faults (throttles uncounted), ``elapsed`` s in."""
        return (
            faults >= self.attempts
            or elapsed >= self.max_elapsed
            or self.refused_wait(exc, elapsed) is not None
        )

    def with_attempts(self, attempts: int) -> RetryPolicy:
        """Return a copy allowing at most ``attempts`` tries."""
        return replace(self, attempts=attempts)

    def with_job_wait(self, seconds: float) -> RetryPolicy:
        """Return a copy whose job waits last at most ``seconds``."""
        return replace(self, job_wait=seconds)

    def poll_pause(self, polls: int) -> float:
        """Seconds before poll number ``polls + 1`` of a job: 5 ``initial`` growing to ``cap``."""
        return min(self.cap, 5 * self.initial * 1.5 ** min(polls, 64))  # 1.5 ** 2000 overflows

    def job_waits(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        since: Callable[[], float] | None = None,
        step: int = 0,
    ) -> JobWait:
        """One wait bounded by ``job_wait``, counted from now or from a later ``since()``."""
        return JobWait(self, clock, since, step)

    def retrying(
        self,
        on_retry: Callable[[BaseException], None] | None = None,
        *,
        began: float | None = None,
    ) -> AsyncRetrying:
        """Build the tenacity controller for one request.

        ``began`` (``time.monotonic()``): when the request's first try started, if before
        this controller's; its time then counts against ``max_elapsed`` too.
        """
        # Whether each failed try was a throttle, by try number: tenacity may ask for
        # the wait and the stop of one try in either order, so counting is idempotent.
        throttled: dict[int, bool] = {}

        def failure(state: RetryCallState) -> BaseException | None:
            return state.outcome.exception() if state.outcome else None

        def tally(state: RetryCallState) -> tuple[int, int]:
            """(faults, throttles) so far, this try included."""
            throttled[state.attempt_number] = is_throttle(failure(state))
            throttles = sum(throttled.values())
            return len(throttled) - throttles, throttles

        def elapsed(state: RetryCallState) -> float:
            if began is not None:
                return time.monotonic() - began
            return state.seconds_since_start or 0.0  # None only before the first outcome

        def wait(state: RetryCallState) -> float:
            faults, throttles = tally(state)
            exc = failure(state)
            return self.wait(throttles if is_throttle(exc) else faults, exc, elapsed(state))

        def stop(state: RetryCallState) -> bool:
            return self.stop(tally(state)[0], failure(state), elapsed(state))

        def give_up(state: RetryCallState) -> NoReturn:
            exc = failure(state)
            assert exc is not None  # tenacity stops only after a failure
            refused = self.refused_wait(exc, elapsed(state))
            if refused is None:
                raise exc
            raise TransientError(f"{exc}; {refused}") from None

        def before_sleep(state: RetryCallState) -> None:
            exc = failure(state)
            if on_retry is not None and exc is not None:
                on_retry(exc)

        return AsyncRetrying(
            stop=stop,
            wait=wait,
            retry=retry_if_exception(is_retryable),
            retry_error_callback=give_up,
            before_sleep=before_sleep,
            reraise=True,
        )


class JobWait:
    """The pauses of one wait that is no failure: a job's polls, a start's wait for a slot.

    The bound counts from the wait's start, or from ``since()`` when that is later
    (a start waits while none of its token's jobs ends).
    """

    def __init__(
        self,
        policy: RetryPolicy,
        clock: Callable[[], float],
        since: Callable[[], float] | None = None,
        step: int = 0,
    ) -> None:
        self.policy, self.clock, self.since, self.step = policy, clock, since, step
        self.began = clock()

    def left(self) -> float:
        """Seconds of the bound left (zero or less: the wait is over)."""
        began = self.began if self.since is None else max(self.began, self.since())
        return self.policy.job_wait - (self.clock() - began)

    async def pause(self, wake: anyio.Event | None = None) -> None:
        """Sleep the next pause, within the bound; ``wake`` set ends it early."""
        pause = min(self.left(), self.policy.poll_pause(self.step))
        self.step += 1
        if wake is None:
            await anyio.sleep(pause)
            return
        with anyio.move_on_after(pause):
            await wake.wait()


#: Waits of a few milliseconds, for tests against the local fake Canvas.
FAST_RETRIES = RetryPolicy(attempts=8, max_elapsed=60.0, initial=0.005, cap=0.05)
