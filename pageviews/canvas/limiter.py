"""Adaptive concurrency: keep Canvas's leaky bucket just below its high-water mark.

Canvas charges every request in flight an up-front cost and refuses a request
when the bucket level reaches the high-water mark (contract §5). A response's
``X-Rate-Limit-Remaining`` is ``hwm - level``, and the level includes the
up-front charges of the requests still in flight, so ``remaining`` measures how
many more requests the bucket would take right now, in units of the up-front
cost.

:class:`AdaptiveLimit` decides once per *round* (as many responses as the limit):
replies of a round see fewer and fewer others still charged, so only the
smallest ``remaining`` of the round shows the bucket at its fullest. With that
room (in charges):

- below ``reserve``: shed at once as many requests as the room is short;
- above ``reserve + 1``: a further request fits (the reply that reported the room
  is replaced too, hence the extra charge); grow, by up to the limit per round
  until the first throttle (slow start), then by one;
- otherwise hold, so the bucket can sit just under its high-water mark.

When requests cost more than the bucket leaks, the level rises, the room falls
and so does the limit; throughput settles where cost in equals outflow, without
a throttle. A throttle halves the limit and widens the reserve by one charge,
which covers a Canvas whose up-front charge is larger than the default; the
widening decays while rounds pass without one. The client's own count of
requests in flight is not used: it includes replies Canvas has already settled
but the client has not yet read.

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
    initial: int = 2
    up_front_cost: float = DEFAULT_UP_FRONT_COST
    base_reserve: float = 1.1
    max_reserve: float = 8.0
    reserve_decay: float = 0.02
    frozen: bool = False
    throttles: int = 0
    limit: int = field(init=False)
    reserve: float = field(init=False)
    _round: list[float] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.limit = max(1, min(self.initial, self.ceiling))
        self.reserve = self.base_reserve

    def on_response(self, rate: RateLimit | None) -> int:
        """Update from a successful response's throttle headers."""
        if self.frozen:
            return self.limit
        if rate is None:
            self.limit = self.ceiling
            return self.limit
        self._round.append(rate.remaining)
        if len(self._round) < self.limit:
            return self.limit
        room = min(self._round) / self.up_front_cost
        self._round.clear()
        self.reserve = max(self.base_reserve, self.reserve - self.reserve_decay)
        if room < self.reserve:
            self.limit -= math.ceil(self.reserve - room)
        elif room > self.reserve + 1.0:
            fits = math.floor(room - self.reserve)
            self.limit += min(fits, self.limit if self.throttles == 0 else 1)
        self.limit = max(1, min(self.ceiling, self.limit))
        return self.limit

    def on_throttle(self, rate: RateLimit | None) -> int:
        """Halve after a refusal and widen the reserve; the next rounds steer it again."""
        self.throttles += 1
        if not self.frozen:
            self.limit = max(1, self.limit // 2)
            self.reserve = min(self.max_reserve, self.reserve + 1.0)
            self._round.clear()
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
