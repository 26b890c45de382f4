"""Adaptive concurrency: keep Canvas's leaky bucket just below its high-water mark.

Canvas charges every request in flight an up-front cost and refuses a request
when the bucket level reaches the high-water mark (contract §5). A response's
``X-Rate-Limit-Remaining`` is ``hwm - level``, where the level includes the
up-front charges of the requests still in flight. So after a response seen with
``k`` other requests in flight, the bucket can take about
``k + remaining / up_front_cost`` requests at once; :class:`AdaptiveLimit`
keeps the limit one request below that. The level rises while requests cost more
than the bucket leaks, ``remaining`` falls, and the limit falls with it, so
throughput settles where cost in equals outflow, without a throttle.

:class:`AdaptiveLimit` is pure arithmetic over observations; :class:`Gate` is the
async semaphore whose size it sets.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio

from .ratelimit import RateLimit

#: Canvas's default up-front charge per request (request_throttle.rb); hosted may differ.
DEFAULT_UP_FRONT_COST = 50.0


@dataclass(slots=True)
class AdaptiveLimit:
    """How many requests may be in flight, from what responses said.

    ``ceiling`` bounds it always (the ``--concurrency`` flag); without throttle
    headers (throttling off) the limit is the ceiling.
    """

    ceiling: int
    limit: int = 2
    up_front_cost: float = DEFAULT_UP_FRONT_COST
    reserve: float = 1.0
    throttles: int = 0

    def __post_init__(self) -> None:
        self.limit = max(1, min(self.limit, self.ceiling))

    def on_response(self, rate: RateLimit | None, in_flight: int) -> int:
        """Update from a response seen with ``in_flight`` requests out, itself included."""
        if rate is None:
            self.limit = self.ceiling
            return self.limit
        others = max(0, in_flight - 1)
        room = others + rate.remaining / self.up_front_cost - self.reserve
        self.limit = max(1, min(self.ceiling, math.floor(room)))
        return self.limit

    def on_throttle(self, rate: RateLimit | None, in_flight: int) -> int:
        """Cut sharply after a refusal; the next responses set the level again."""
        self.throttles += 1
        if rate is not None:
            # A refusal with room left means the up-front charge is larger than assumed.
            implied = (rate.remaining + self.up_front_cost * max(0, in_flight - 1)) / max(
                1, in_flight
            )
            if implied > self.up_front_cost:
                self.up_front_cost = min(implied, self.up_front_cost * 2)
        self.limit = max(1, min(self.limit, in_flight) // 2)
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

    def observe(self, rate: RateLimit | None) -> None:
        """Feed a successful response's throttle headers (call while holding a slot)."""
        self.policy.on_response(rate, self.in_flight)
        self._wake()

    def throttled(self, rate: RateLimit | None) -> None:
        """Feed a throttled response (call while holding a slot)."""
        self.policy.on_throttle(rate, self.in_flight)

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
