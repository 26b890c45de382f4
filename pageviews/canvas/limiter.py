"""Adaptive concurrency: keep Canvas's leaky bucket just below its high-water mark.

Canvas charges every request in flight an up-front cost and refuses a request
when the bucket level reaches the high-water mark (docs/canvas.md#throttling). A
response's ``X-Rate-Limit-Remaining`` is ``hwm - level``, and the level includes the
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
from contextvars import ContextVar
from dataclasses import dataclass, field

import anyio

from .pacing import Pacer
from .ratelimit import DEFAULT_UP_FRONT_COST, RateLimit


@dataclass(slots=True)
class AdaptiveLimit:
    """How many requests may be in flight, from what responses said.

    ``ceiling`` bounds it always (the ``--concurrency`` flag); without throttle
    headers (throttling off) the limit is the ceiling. ``frozen`` pins the limit
    at ``initial``, a static pool.
    """

    ceiling: int
    initial: int = 1
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


@dataclass(slots=True)
class CostBook:
    """The learned bucket cost of each kind of call, from ``X-Request-Cost``.

    Calls differ in cost (a History API query start is charged far more than a
    list page, docs/canvas.md#history-costs), so the gate lets a call of a costly
    kind hold as many in-flight places as its cost is worth in up-front charges. A kind keeps
    the largest cost seen lately, decaying towards newer ones.
    """

    up_front_cost: float = DEFAULT_UP_FRONT_COST
    costs: dict[str, float] = field(default_factory=dict)
    #: Costs assumed before a kind's first reply, so a first burst cannot overrun the
    #: bucket: the extra costs of docs/canvas.md#history-costs (start 150, results 50),
    #: replaced once learned.
    prior: dict[str, float] = field(
        default_factory=lambda: {"history-start": 150.0, "history-results": 50.0}
    )

    def learn(self, kind: str, cost: float | None) -> None:
        """Note a reply's ``X-Request-Cost`` for ``kind``."""
        if cost is None or not math.isfinite(cost) or cost < 0:
            return
        known = self.costs.get(kind)
        self.costs[kind] = cost if known is None else max(cost, 0.8 * known + 0.2 * cost)

    def expected(self, kind: str) -> float | None:
        """What a call of ``kind`` is known (or assumed) to cost, if anything."""
        return self.costs.get(kind, self.prior.get(kind)) if kind else None

    def weight(self, kind: str) -> int:
        """In-flight places a call of ``kind`` holds: its cost in up-front charges."""
        cost = self.expected(kind)
        if cost is None:
            return 1
        return max(1, math.ceil(cost / self.up_front_cost))


#: The pacer's ticket of the request the current task holds a slot for.
_TICKET: ContextVar[int | None] = ContextVar("pageviews_gate_ticket", default=None)


class Gate:
    """An async semaphore whose size follows an :class:`AdaptiveLimit`, first come first served.

    A call may hold several places (its kind's learned cost, :class:`CostBook`);
    one that needs more places than the limit has runs alone. Holding its places,
    a call then waits as long as the :class:`~.pacing.Pacer` predicts the bucket
    needs to make room for its charge, woken early by any reply.
    """

    def __init__(self, limit: AdaptiveLimit) -> None:
        self.policy = limit
        self.costs = CostBook(limit.up_front_cost)
        self.pacer = Pacer()
        self.in_flight = 0
        self.running = 0  # requests, not places
        self.peak = 0
        self.paced = 0  # requests that waited for the bucket to leak
        #: X-Request-Cost of the replies read, by kind of call ("" for list pages and the rest).
        self.spent: dict[str, float] = {}
        self._waiters: deque[tuple[anyio.Event, int]] = deque()
        self._replied: anyio.Event | None = None  # set by the next reply

    @asynccontextmanager
    async def slot(self, kind: str = "") -> AsyncIterator[None]:
        """Hold the in-flight places of a call of ``kind`` for the duration of a request."""
        weight = self.costs.weight(kind) if kind else 1
        await self._acquire(weight)
        ticket = self.pacer.admit(self.costs.expected(kind))
        token = _TICKET.set(ticket)
        try:
            await self._pace(ticket)
            self.pacer.send(ticket)
            yield
        finally:
            _TICKET.reset(token)
            self.pacer.done(ticket)
            self._release(weight)

    async def _pace(self, ticket: int) -> None:
        """Wait until the pacer predicts room for this request's charge (at most its cap)."""
        began = anyio.current_time()
        counted = False
        while True:
            now = anyio.current_time()
            left = self.pacer.max_delay - (now - began)
            wait = self.pacer.wait(now, ticket)
            if wait <= 0 or left <= 0:
                return
            if not counted:
                self.paced += 1
                counted = True
            if self._replied is None:
                self._replied = anyio.Event()
            replied = self._replied
            with anyio.move_on_after(min(wait, left)):
                await replied.wait()

    @property
    def metered(self) -> bool:
        """Whether Canvas's replies show a bucket (until a reply says, taken as yes)."""
        return self.pacer.headers is not False

    @property
    def spare(self) -> int:
        """Places free right now that no waiting request will take, and the bucket too."""
        places = self.policy.limit - self.in_flight - sum(w for _, w in self._waiters)
        room = self.pacer.free(anyio.current_time())
        # This caller's own next request takes a place and a charge; the rest are spare.
        return places if room == math.inf else min(places, 1 + math.floor(room))

    def observe(self, rate: RateLimit | None, kind: str = "") -> None:
        """Feed a successful response's throttle headers (call while holding a slot)."""
        if kind and rate is not None:
            self.costs.learn(kind, rate.cost)
        if rate is not None and rate.cost is not None and math.isfinite(rate.cost):
            self.spent[kind] = self.spent.get(kind, 0.0) + max(0.0, rate.cost)
        self.policy.on_response(rate)
        self._widen()
        self.pacer.on_response(anyio.current_time(), rate, _TICKET.get())
        self._replied_now()
        self._wake()

    def throttled(self, rate: RateLimit | None) -> None:
        """Feed a throttled response (call while holding a slot, or just after)."""
        self.policy.on_throttle(rate)
        self._widen()
        self.pacer.on_throttle(anyio.current_time(), rate, _TICKET.get())
        self._replied_now()

    def _widen(self) -> None:
        # The limit's reserve widens by a charge on each refusal and decays as rounds pass
        # without one; the pacer keeps the same extra room.
        self.pacer.reserve = min(1.0, self.policy.reserve - self.policy.base_reserve)

    def _replied_now(self) -> None:
        replied, self._replied = self._replied, None
        if replied is not None:
            replied.set()

    def _fits(self, weight: int) -> bool:
        return self.in_flight == 0 or self.in_flight + weight <= self.policy.limit

    async def _acquire(self, weight: int) -> None:
        if not self._waiters and self._fits(weight):
            await anyio.lowlevel.checkpoint_if_cancelled()
            self._take(weight)
            return
        event = anyio.Event()
        entry = (event, weight)
        self._waiters.append(entry)
        try:
            await event.wait()
        except BaseException:
            if event.is_set():
                self._release(weight)
            else:
                self._waiters.remove(entry)
            raise

    def _take(self, weight: int) -> None:
        self.in_flight += weight
        self.running += 1
        self.peak = max(self.peak, self.in_flight)

    def _release(self, weight: int) -> None:
        self.in_flight -= weight
        self.running -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self._fits(self._waiters[0][1]):
            event, weight = self._waiters.popleft()
            self._take(weight)
            event.set()
