"""Adaptive concurrency: keep Canvas's leaky bucket just below its high-water mark.

Canvas charges every request in flight an up-front cost and refuses a request
when the bucket level reaches the high-water mark (contract §5). A response's
``X-Rate-Limit-Remaining`` is ``hwm - level``, and the level includes the
up-front charges of the requests still in flight, so ``remaining`` measures how
many more requests the bucket would take right now, in units of the up-front
cost. :class:`AdaptiveLimit` steers the number in flight so that the *least*
room seen over the last two rounds of responses stays about ``reserve`` charges:
replies of a round see fewer and fewer others still charged, so only the
smallest ``remaining`` shows the bucket at its fullest. Each response moves the
limit by its share of the error (a round brings about ``limit`` responses, so
together they apply it once); growth is capped at doubling per round until the
first throttle and at one per round after it. When requests cost more than the bucket leaks,
the level rises, ``remaining`` falls and so does the limit, and throughput
settles where cost in equals outflow, without a throttle. A throttle halves the
limit and widens the reserve, which also covers a Canvas whose up-front charge
is larger than the default. The client's own count of requests in flight is not
used: it includes replies already settled by Canvas but not yet read.

:class:`AdaptiveLimit` is pure arithmetic over observations; :class:`Gate` is the
async semaphore whose size it sets.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio

from .ratelimit import RateLimit

#: Canvas's default up-front charge per request (request_throttle.rb); hosted may differ.
DEFAULT_UP_FRONT_COST = 50.0


@dataclass(slots=True)
class AdaptiveLimit:
    """How many requests may be in flight, from what responses said.

    ``ceiling`` bounds it always (the ``--concurrency`` flag); without throttle
    headers (throttling off) the limit is the ceiling. ``frozen`` pins the limit
    at ``initial``, a static pool.
    """

    ceiling: int
    initial: float = 2.0
    up_front_cost: float = DEFAULT_UP_FRONT_COST
    reserve: float = 2.0
    max_reserve: float = 8.0
    frozen: bool = False
    throttles: int = 0
    level: float = field(init=False)
    recent: deque[float] = field(init=False, default_factory=deque)

    def __post_init__(self) -> None:
        self.level = max(1.0, min(float(self.initial), float(self.ceiling)))

    @property
    def limit(self) -> int:
        """Requests allowed in flight now."""
        return max(1, min(self.ceiling, math.floor(self.level)))

    def on_response(self, rate: RateLimit | None) -> int:
        """Update from a successful response's throttle headers."""
        if self.frozen:
            return self.limit
        if rate is None:
            self.level = float(self.ceiling)
            return self.limit
        recent = self.recent
        recent.append(rate.remaining)
        while len(recent) > max(4, 2 * self.limit):
            recent.popleft()
        error = min(recent) / self.up_front_cost - self.reserve
        if error > 0:
            # Grow by at most the limit per round before the first throttle (slow start),
            # by one per round after it: the bucket has shown where its edge is.
            error = min(error, self.level if self.throttles == 0 else 1.0)
        self.level += error / max(1.0, self.level)
        self.level = max(1.0, min(float(self.ceiling), self.level))
        return self.limit

    def on_throttle(self, rate: RateLimit | None) -> int:
        """Halve after a refusal; the next responses steer it again."""
        self.throttles += 1
        if not self.frozen:
            self.level = max(1.0, self.level / 2)
            self.reserve = min(self.max_reserve, self.reserve + 1.0)
            self.recent.clear()
        return self.limit


class Gate:
    """An async semaphore whose size follows an :class:`AdaptiveLimit`, first come first served."""

    def __init__(self, limit: AdaptiveLimit) -> None:
        self.policy = limit
        self.in_flight = 0
        self.peak = 0
        self._waiters: deque[anyio.Event] = deque()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one in-flight place for the duration of a request."""
        await self._acquire()
        try:
            yield
        finally:
            self._release()

    @property
    def spare(self) -> int:
        """Places free right now that no waiting request will take."""
        return self.policy.limit - self.in_flight - len(self._waiters)

    def observe(self, rate: RateLimit | None) -> None:
        """Feed a successful response's throttle headers (call while holding a slot)."""
        self.policy.on_response(rate)
        self._wake()

    def throttled(self, rate: RateLimit | None) -> None:
        """Feed a throttled response (call while holding a slot)."""
        self.policy.on_throttle(rate)

    async def _acquire(self) -> None:
        if not self._waiters and self.in_flight < self.policy.limit:
            await anyio.lowlevel.checkpoint_if_cancelled()
            self._take()
            return
        event = anyio.Event()
        self._waiters.append(event)
        try:
            await event.wait()
        except BaseException:
            if event.is_set():
                self._release()
            else:
                self._waiters.remove(event)
            raise

    def _take(self) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    def _release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.policy.limit:
            self._take()
            self._waiters.popleft().set()
