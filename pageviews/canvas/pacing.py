"""Pacing: predict Canvas's bucket from replies and hold each request until its charge fits.

Canvas charges every request an up-front cost on arrival and refuses it when the
level would reach the high-water mark; ``X-Rate-Limit-Remaining`` is ``hwm - level``
(docs/canvas.md#throttling). :class:`Pacer` keeps a model of that bucket, with no
I/O and no clock of its own (callers pass ``now``), and tells each request how
long to wait:

- The latest reply's ``remaining`` is the baseline. It already holds the charges
  of the requests sent before it arrived; those will add only what their kind
  costs beyond the charge when they settle (a History API start costs three
  charges). Requests admitted since, waiting or sent, count a charge each, or
  their kind's cost when larger. What leaked since the baseline comes back at
  the measured ``outflow``. A request goes when that predicted room holds its
  charge with a margin (wider for a while after a refusal: a request sent as
  another's reply was on its way is not in that reply): room is predicted, not
  probed.
- Start as if the bucket were full: until a reply has shown ``remaining``, a
  request goes only when no other is unanswered. Without a measured outflow, a
  request that does not fit waits for another's reply, or, alone, half a second
  after the last reply (the next reply then measures the outflow).
- The outflow: between two replies with nothing else in flight, the later of
  them a request that ran alone, the level rose by the later one's
  ``X-Request-Cost`` and fell by the leak, so
  ``outflow = (remaining' - remaining + cost') / dt``, taken over a window of such
  replies so header rounding and timing noise average out. A refused request
  costs next to nothing, so refusals in a row show the leak alone.
- The charge, which no header reports: Canvas's ratio (hwm 600, charge 50: a
  twelfth of the largest ``remaining`` seen, capped at 50). A largest remaining
  below 50 may be a bucket near its mark rather than a small one, so until the
  bucket shows that much room, or is seen dry (lone replies half a second apart
  with nothing leaked), the guess is Canvas's 50. A refusal whose reply still
  showed ``remaining`` proves the charge was larger and raises it to that proof
  (never compounding: a hundred refusals prove no more than one). No request
  waits for more room than the bucket was ever seen to have.

Invariants: nothing waits while successful replies carry no throttle headers; no
request waits on a request admitted after it (first come, first served); the
outflow is measured only from lone replies while the bucket holds more than one
charge (an empty bucket does not leak), and a measurement is kept until a newer
one replaces it; a request forgotten (:meth:`Pacer.done`) no longer counts.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from .ratelimit import DEFAULT_UP_FRONT_COST, RateLimit

#: Canvas's default hwm over its up-front charge (600 / 50).
HWM_PER_CHARGE = 12.0
#: The smallest charge believed: below one unit no throttle setting makes sense.
MIN_CHARGE = 1.0
#: ``Pacer.wait`` when only another request's reply can tell more.
UNTIL_A_REPLY = math.inf
#: Header rounding and float noise, in bucket units.
_NOISE = 0.01
#: Replies this close together leak too little to blur the charge read from them (s).
CHARGE_SPAN = 0.05
#: Charge readings kept; their median is believed once there are three.
CHARGE_READINGS = 15


@dataclass(slots=True)
class _Request:
    """An admitted request as the model counts it."""

    cost: float  # its kind's known cost (0 when unknown)
    sent: bool = False
    held: bool = False  # sent before the baseline reply arrived: its charge is in it
    overlapped: bool = False  # another request was in flight at some time beside it


@dataclass(slots=True)
class Pacer:
    """Predict the bucket from replies; tell each request how long to wait."""

    #: Remaining to keep above the charge, as a share of the charge.
    margin: float = 0.2
    #: Further charges of room to keep: widened after refusals, decaying (the gate sets it).
    reserve: float = 0.0
    #: How much a throttle raises the guessed charge above the ``remaining`` it showed.
    throttle_step: float = 1.3
    #: Shortest span of lone replies an outflow is measured over (seconds).
    min_span: float = 0.5
    #: Lone replies kept for the outflow measurement.
    window: int = 64
    #: Longest wait asked for (a full Canvas bucket drains in about 60 s,
    #: docs/canvas.md#throttling).
    max_delay: float = 30.0
    #: Shortest span of a run's replies an outflow is read over for :attr:`outflow_seen`.
    min_run_span: float = 10.0
    max_remaining: float | None = None
    learned_charge: float = 0.0  # refusals proved the charge above this (with a step)
    #: Whether successful replies carry throttle headers (None: none seen yet; a refusal's
    #: headers count until then). Without them nothing waits.
    headers: bool | None = None
    #: Whether lone replies showed a dry bucket, so the fullest remaining is its top.
    dry_seen: bool = False
    _base: tuple[float, float] | None = None  # (when, remaining) of the latest reply
    _outflow: float | None = None  # the latest measurement, kept across restarts
    #: Lone replies: (when, remaining, cost settled since the window's start).
    _lone: deque[tuple[float, float, float]] = field(default_factory=deque)
    _settled: float = 0.0
    #: (when, remaining, cost) of the last lone reply.
    _previous: tuple[float, float, float] | None = None
    _from_top: bool = False  # the window starts at a reply near the fullest remaining
    #: (when, remaining, costs settled, charges held) of the first and the latest reply.
    _origin: tuple[float, float, float, int] | None = None
    _latest: tuple[float, float, float, int] | None = None
    _requests: dict[int, _Request] = field(default_factory=dict)
    _tickets: int = 0
    _sends: int = 0  # requests sent so far
    #: (when, remaining, costs settled, requests in flight, sends) of the latest reply.
    _last: tuple[float, float, float, int, int] | None = None
    #: Charges read from replies answered together (see :meth:`_read_charge`).
    _charges: deque[float] = field(default_factory=lambda: deque(maxlen=CHARGE_READINGS))

    @property
    def charge(self) -> float:
        """The up-front charge believed in force."""
        guess = DEFAULT_UP_FRONT_COST
        top = self.max_remaining
        # Start as if the bucket were full: a remaining below Canvas's charge may be a
        # bucket near its mark, not a small one, until the bucket is seen dry.
        if top is not None and (top >= DEFAULT_UP_FRONT_COST or self.dry_seen):
            guess = min(guess, top / HWM_PER_CHARGE)
            if len(self._charges) >= 3:
                # A top seen only near the mark (a killed run's bucket) guesses low; the
                # charges read from replies say more, up to Canvas's own.
                read = sorted(self._charges)[len(self._charges) // 2]
                guess = min(DEFAULT_UP_FRONT_COST, max(guess, read))
        charge = max(guess, self.learned_charge, MIN_CHARGE)
        if top is not None and top >= DEFAULT_UP_FRONT_COST:
            # Never wait for more room than the bucket was ever seen to have.
            charge = min(charge, top / (1.0 + self.margin))
        return charge

    @property
    def outflow(self) -> float | None:
        """Units per second the bucket leaks, once measured over ``min_span``."""
        return self._outflow

    @property
    def outflow_seen(self) -> float | None:
        """The outflow for an estimate of time left: measured, or else read over the run.

        Requests that never run alone measure no outflow; over ``min_run_span`` seconds
        of replies the leak still shows: the remaining rose by what left the bucket and
        fell by what entered it (costs settled, charges of requests in flight), so the
        uncertainty of a charge or two in flight fades as the span grows.
        """
        if self._outflow is not None:
            return self._outflow
        if self._origin is None or self._latest is None:
            return None
        (t0, r0, c0, n0), (t1, r1, c1, n1) = self._origin, self._latest
        if t1 - t0 < self.min_run_span:
            return None
        rate = (r1 - r0 + (c1 - c0) + self.charge * (n1 - n0)) / (t1 - t0)
        return rate if rate > 0 else None

    @property
    def remaining(self) -> float | None:
        """The latest ``remaining`` a reply showed."""
        return None if self._base is None else self._base[1]

    # Requests ---------------------------------------------------------------

    def admit(self, cost: float | None = None) -> int:
        """Count a request from now on; ``cost``: what its kind is known to cost."""
        self._tickets += 1
        self._requests[self._tickets] = _Request(cost or 0.0)
        return self._tickets

    def send(self, ticket: int) -> None:
        """The request has left its wait: Canvas is charging it."""
        request = self._requests.get(ticket)
        if request is None:
            return
        request.sent = True
        self._sends += 1
        for other in self._requests.values():
            if other.sent and other is not request:
                other.overlapped = request.overlapped = True

    def done(self, ticket: int) -> None:
        """Forget a request: answered, failed or abandoned."""
        self._requests.pop(ticket, None)

    def _others_sent(self, ticket: int | None) -> bool:
        return any(t != ticket and r.sent for t, r in self._requests.items())

    def room(self, ticket: int) -> float | None:
        """The room the baseline leaves for ``ticket`` before any leak; None before a reply."""
        if self._base is None:
            return None
        charge, room = self.charge, self._base[1]
        for other, request in self._requests.items():
            if request.held:
                room -= max(0.0, request.cost - charge)
            elif other < ticket or request.sent:
                room -= max(charge, request.cost)
        return room

    @property
    def need(self) -> float:
        """The room a request waits for: its charge, the margin and any reserve."""
        need = self.charge * (1.0 + self.margin + self.reserve)
        if self.max_remaining is not None and self.max_remaining >= DEFAULT_UP_FRONT_COST:
            need = min(need, self.max_remaining)  # never more room than was ever seen
        return need

    def free(self, now: float) -> float:
        """Charges of room beyond every admitted request and the margin, leak included.

        ``math.inf`` without throttle headers; 0 before a reply (as if full). A chain
        is split into windows read side by side only while this allows them: extra
        requests are free only while the bucket does not bind.
        """
        if self.headers is False:
            return math.inf
        room = self.room(self._tickets + 1)
        if room is None:
            return 0.0
        if self._outflow is not None and self._base is not None:
            room += self._outflow * max(0.0, now - self._base[0])
        return max(0.0, (room - self.need) / self.charge)

    def wait(self, now: float, ticket: int) -> float:
        """Seconds ``ticket`` should wait before it is sent (``UNTIL_A_REPLY``: for a reply)."""
        if self.headers is False:
            return 0.0
        room = self.room(ticket)
        if room is None:
            # Start as if the bucket were full: one request until a reply shows room.
            unanswered = any(t < ticket or r.sent for t, r in self._requests.items() if t != ticket)
            return UNTIL_A_REPLY if unanswered else 0.0
        need = self.need
        if room >= need:
            return 0.0
        assert self._base is not None
        when = self._base[0]
        outflow = self._outflow
        if outflow is None:
            if self._others_sent(ticket):
                return UNTIL_A_REPLY
            return max(0.0, when + self.min_span - now)
        return min(self.max_delay, max(0.0, (need - room) / outflow - (now - when)))

    # Replies ----------------------------------------------------------------

    def on_response(self, now: float, rate: RateLimit | None, ticket: int | None = None) -> None:
        """Note a successful reply to ``ticket`` (None: a request the model did not admit)."""
        self.headers = rate is not None
        if rate is None:
            # Nothing to steer by (a Canvas with its throttle off): the last headers seen,
            # if any, are no longer the bucket's state.
            self.done(ticket or 0)
            return
        self._reply(now, rate.remaining, rate.cost or 0.0, ticket)

    def on_throttle(self, now: float, rate: RateLimit | None, ticket: int | None = None) -> None:
        """Note a refusal: the charge exceeded what the bucket had left.

        A refused request costs next to nothing (taken as nothing: an outflow
        measured low only asks for longer waits), so the ``remaining`` of refusals
        in a row shows the leak: they measure the outflow too.
        """
        if rate is not None and rate.remaining == 0.0:
            # Canvas's answer to a blocked client, whatever its bucket holds
            # (docs/canvas.md#throttle-headers): not a level to steer by.
            self.done(ticket or 0)
            return
        if self.headers is None:
            self.headers = rate is not None
        if rate is None:
            self.done(ticket or 0)
            return
        self._reply(now, rate.remaining, 0.0, ticket)
        # Proof that the charge is above this remaining; earlier proofs still hold.
        self.learned_charge = max(self.learned_charge, rate.remaining * self.throttle_step)

    def _reply(self, now: float, remaining: float, cost: float, ticket: int | None) -> None:
        # Ran alone from its send to its reply: a refusal's remaining is read when it is
        # refused, and others sent and answered meanwhile would hide in it.
        request = self._requests.get(ticket or 0)
        alone = request is not None and not request.overlapped and not self._others_sent(ticket)
        self.done(ticket or 0)
        self._read_charge(now, remaining, cost)
        self._base = (now, remaining)
        for request in self._requests.values():
            if request.sent:
                request.held = True
        if self.max_remaining is None or remaining > self.max_remaining:
            self.max_remaining = remaining
        self._settled += cost
        held = sum(1 for r in self._requests.values() if r.held)
        self._latest = (now, remaining, self._settled, held)
        if self._origin is None:
            self._origin = self._latest
        if not alone:
            # Others' up-front charges hide in this remaining: restart the window. With
            # nothing left in flight to settle later it is the level itself, so a lone
            # reply after it measures the leak (a costly start then needs one probe).
            self._lone.clear()
            self._previous = None
            if not self._others_sent(None):
                self._previous = (now, remaining, cost)
                self._lone_reply(now, remaining, rose=False)
            return
        rose = False
        if self._previous is not None:
            when, before, before_cost = self._previous
            leaked = remaining - before + cost
            if leaked < -_NOISE:
                # The level rose by more than this request's cost: someone else charges the
                # token's bucket, or the header is not the bucket's. Measure afresh.
                self._lone.clear()
            # A bucket that ran dry leaks only what the last request had added.
            rose = leaked > before_cost * 1.1 + _NOISE
            if not rose and now - when >= self.min_span and remaining >= self.max_remaining:
                self.dry_seen = True  # half a second without a leak: the fullest is the top
        self._previous = (now, remaining, cost)
        self._lone_reply(now, remaining, rose=rose)

    def _read_charge(self, now: float, remaining: float, cost: float) -> None:
        """Read the charge from two replies answered together, nothing sent between them.

        The earlier reply's remaining held a charge for each request then in flight;
        the later one holds fewer, and costs settled meanwhile, so the room that came
        back per request answered is the charge. A request still on its way to Canvas
        reads low, a reply Canvas settled before the client read it reads high: the
        median of several readings is believed, never above Canvas's own charge.
        """
        settled = self._settled + cost
        flying = sum(1 for r in self._requests.values() if r.sent)
        last, self._last = self._last, (now, remaining, settled, flying, self._sends)
        if last is None or last[4] != self._sends or now - last[0] > CHARGE_SPAN:
            return
        answered = last[3] - flying
        if answered > 0:
            reading = (remaining - last[1] + settled - last[2]) / answered
            if reading >= MIN_CHARGE:
                self._charges.append(reading)

    def _lone_reply(self, now: float, remaining: float, *, rose: bool) -> None:
        if self.max_remaining is not None and remaining > self.max_remaining - self.charge:
            # Near the fullest remaining seen, the bucket may have run dry and stopped
            # leaking; a measurement across that would read low, and a low outflow asks
            # for long waits. Before any measurement (a run starting into a bucket near
            # its mark sees a new fullest remaining in each reply), a rise beyond what
            # the last request added shows a leak a dry bucket could not have made.
            if self._outflow is not None or not rose:
                self._lone.clear()
                self._from_top = self._outflow is None
                if self._from_top:
                    self._lone.append((now, remaining, self._settled))  # a window's start
                return
        elif self._from_top and not rose:
            self._lone.clear()  # the window started near the top, maybe dry: start here
        self._from_top = False
        self._lone.append((now, remaining, self._settled))
        while len(self._lone) > self.window:
            self._lone.popleft()
        t0, r0, c0 = self._lone[0]
        t1, r1, c1 = self._lone[-1]
        if t1 - t0 >= self.min_span:
            rate = (r1 - r0 + (c1 - c0)) / (t1 - t0)
            if rate > 0:
                self._outflow = rate
