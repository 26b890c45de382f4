"""Pacing: wait before a lone request that would overrun a small bucket (contract §5).

When even one request in flight is too many, a concurrency limit has nothing
left to shed; the client must instead wait for the bucket to leak. :class:`Pacer`
predicts the bucket from the throttle headers, with no I/O and no clock of its
own (callers pass ``now``):

- ``X-Rate-Limit-Remaining`` is ``hwm - level``. Between two replies of requests
  that ran alone, the level rose by the later one's ``X-Request-Cost`` and fell
  by the leak, so ``outflow = (remaining' - remaining + cost') / dt``; taken over
  a window of such replies, header rounding and timing noise average out.
- A refused request costs next to nothing, so refusals in a row show the leak
  alone: a client whose every success is followed by refusals (pages costing
  nearly a charge) measures the outflow from them.
- A request is refused when ``remaining`` is at or below the up-front charge,
  which no header reports. The first guess is Canvas's ratio (hwm 600, charge 50:
  a twelfth of the largest ``remaining`` seen, capped at 50); a throttle whose
  reply still showed ``remaining`` proves the charge was larger, and raises it
  to that proof (never compounding: a hundred refusals prove no more than one).

Invariants: :meth:`Pacer.delay` is zero until an outflow has been measured, so
always without throttle headers (nothing observed), and never above
``max_delay``; outflow is measured only while the bucket holds more than one
charge (an empty bucket does not leak); a measurement, once made,
is kept until a newer one replaces it; the pacer only predicts for a request
that would run alone (the gate asks only then).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from .ratelimit import DEFAULT_UP_FRONT_COST, RateLimit

#: Canvas's default hwm over its up-front charge (600 / 50).
HWM_PER_CHARGE = 12.0


@dataclass(slots=True)
class Pacer:
    """Predict the bucket from replies; tell a lone request how long to wait."""

    #: Remaining to keep above the charge, as a share of the charge.
    margin: float = 0.2
    #: How much a throttle raises the guessed charge above the ``remaining`` it showed.
    throttle_step: float = 1.3
    #: Shortest span of lone replies an outflow is measured over (seconds).
    min_span: float = 0.5
    #: Lone replies kept for the outflow measurement.
    window: int = 64
    #: Longest wait asked for (a full Canvas bucket drains in about 60 s, contract §5).
    max_delay: float = 30.0
    max_remaining: float | None = None
    learned_charge: float = 0.0
    _last: tuple[float, float] | None = None  # (when, remaining) of the latest reply
    _outflow: float | None = None  # the latest measurement, kept across restarts
    #: Lone replies: (when, remaining, cost settled since the window's start).
    _lone: deque[tuple[float, float, float]] = field(default_factory=deque)
    _settled: float = 0.0

    @property
    def charge(self) -> float:
        """The up-front charge believed in force."""
        guess = DEFAULT_UP_FRONT_COST
        if self.max_remaining is not None:
            guess = min(guess, self.max_remaining / HWM_PER_CHARGE)
        return max(guess, self.learned_charge)

    @property
    def outflow(self) -> float | None:
        """Units per second the bucket leaks, once measured over ``min_span``."""
        return self._outflow

    def _measure(self) -> None:
        t0, r0, c0 = self._lone[0]
        t1, r1, c1 = self._lone[-1]
        if t1 - t0 >= self.min_span:
            rate = (r1 - r0 + (c1 - c0)) / (t1 - t0)
            if rate > 0:
                self._outflow = rate

    def on_response(self, now: float, rate: RateLimit | None, *, alone: bool) -> None:
        """Note a successful reply; ``alone``: no other request was in flight."""
        if rate is None:
            return
        self._note_remaining(now, rate.remaining)
        self._settled += rate.cost or 0.0
        self._lone_reply(now, rate.remaining, alone=alone)

    def on_throttle(self, now: float, rate: RateLimit | None, *, alone: bool = False) -> None:
        """Note a refusal: the charge exceeded what the bucket had left.

        A refused request costs next to nothing, so the ``remaining`` of refusals
        in a row shows the leak alone: they measure the outflow too.
        """
        if rate is None:
            return
        self._note_remaining(now, rate.remaining)
        # Proof that the charge is above this remaining; earlier proofs still hold.
        self.learned_charge = max(self.learned_charge, rate.remaining * self.throttle_step)
        self._lone_reply(now, rate.remaining, alone=alone)

    def _lone_reply(self, now: float, remaining: float, *, alone: bool) -> None:
        if not alone:
            # Others' up-front charges hide in this remaining: restart the window.
            self._lone.clear()
            return
        if self.max_remaining is not None and remaining > self.max_remaining - self.charge:
            # A nearly empty bucket may run dry and stop leaking; a measurement across
            # that would read low, and a low outflow asks for long waits.
            self._lone.clear()
            return
        self._lone.append((now, remaining, self._settled))
        while len(self._lone) > self.window:
            self._lone.popleft()
        self._measure()

    def delay(self, now: float) -> float:
        """Seconds a request about to run alone should wait so its charge fits."""
        outflow = self.outflow
        if self._last is None or outflow is None:
            return 0.0
        when, remaining = self._last
        predicted = remaining + outflow * max(0.0, now - when)
        need = self.charge * (1.0 + self.margin)
        return min(self.max_delay, max(0.0, (need - predicted) / outflow))

    def _note_remaining(self, now: float, remaining: float) -> None:
        self._last = (now, remaining)
        if self.max_remaining is None or remaining > self.max_remaining:
            self.max_remaining = remaining
