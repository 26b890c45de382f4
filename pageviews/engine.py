"""Run fetch units: a bounded stream, a pool of workers, a source that reads each unit.

The engine knows nothing about courses. A producer (the planner) feeds it
units; each worker hands a unit to its source, which stores every page through
the store as it reads; the engine turns a source's failure into the unit's
final state and counts a user done when all of that user's units are.

A unit that splits starts its children as tasks of the same group, not through
the stream: workers consume the stream, so sending into it from a worker could
wait forever for a free worker.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .errors import NotFoundError, PageviewsError, PermissionDeniedError
from .logsetup import current_unit, unit_label
from .outcomes import unit_outcome
from .store import MISSING, Run, Store, Unit

log = logging.getLogger(__name__)


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


#: Bins of :attr:`Progress.spread`.
SPREAD_BINS = 50


def _spread(bins: list[float], seen: list[float], lo: float, hi: float, records: int) -> None:
    """Add ``records`` evenly over the shares ``[lo, hi]`` of the range, and that a unit
    has read those shares (``seen``): the bins' views per unit read are their density."""
    n = len(bins)
    if hi <= lo:
        return
    first, last = int(lo * n), min(n - 1, int(hi * n))
    for i in range(first, last + 1):
        part = min(hi, (i + 1) / n) - max(lo, i / n)
        bins[i] += records * part / (hi - lo)
        seen[i] += part * n


def _density(bins: list[float], seen: list[float]) -> list[float] | None:
    """The views per unit read in each bin, or None before any bin holds views.

    A bin no unit has read yet counts at the mean density of those read: heavy
    histories reach the older bins last, so raw counts would crowd the newer ones.
    """
    known = [b / s for b, s in zip(bins, seen, strict=True) if s > 0]
    if not known or sum(known) <= 0:
        return None
    mean = sum(known) / len(known)
    return [b / s if s > 0 else mean for b, s in zip(bins, seen, strict=True)]


def _mass(density: list[float] | None, reached: float) -> float:
    """The share of a unit's views in the range's first ``reached``, at these densities."""
    if density is None:
        return reached
    n = len(density)
    whole = int(reached * n)
    mass = sum(density[:whole]) + (density[whole] * (reached * n - whole) if whole < n else 0.0)
    return mass / sum(density)


#: Units the planner may dispatch ahead of the workers: enough that the plan, and so the
#: estimate of the work left, is known early in most runs; a unit is a few hundred bytes.
PLAN_AHEAD = 1000

Dispatch = Callable[[list[Unit]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Event:
    """Something a run did, for a library's progress callback.

    ``kind`` is ``course`` (a course's roster was listed, or could not be:
    ``detail`` says which), ``user`` (a user's page views were all read, or
    ``detail`` says why not) or ``records`` (a page was stored; ``count`` records).
    """

    kind: str
    course: str | None = None
    user: int | None = None
    count: int = 0
    detail: str = ""


@dataclass(slots=True)
class Progress:
    """Live counters of a run, for progress displays and the summary.

    ``on_event``, when given, is called with each :class:`Event` as it happens, in
    the harvest's task: keep it quick (an append, a queue put).
    """

    users_total: int = 0
    users_done: int = 0
    roster_complete: bool = False
    records: int = 0
    courses_total: int = 0
    courses_listed: int = 0
    stored_pages: int = 0
    started: float = field(default_factory=time.monotonic)
    open_units: Counter[int] = field(default_factory=Counter)
    on_event: Callable[[Event], None] | None = None
    #: Fetch units planned and ended, by source (``list``, ``history``).
    units_planned: Counter[str] = field(default_factory=Counter)
    units_ended: Counter[str] = field(default_factory=Counter)
    #: History API export jobs (query groups) by key: ``queued``, ``running`` or ``done``.
    jobs: dict[int, str] = field(default_factory=dict)
    #: When each running job started, and the seconds jobs done took from start to file.
    job_started: dict[int, float] = field(default_factory=dict)
    job_seconds: list[float] = field(default_factory=list)
    #: Users planned into a history group not handed out yet: done only with their group
    #: (at most a group's users at a time).
    awaiting: set[int] = field(default_factory=set)
    #: List units being read: unit id to (pages so far, share of its seconds read).
    reading: dict[int, tuple[int, float]] = field(default_factory=dict)
    pages_ended: int = 0  # pages of the list units that ended
    #: Views read by where they fall in the range (newest first, in equal bins).
    spread: list[float] = field(default_factory=lambda: [0.0] * SPREAD_BINS)
    seen: list[float] = field(default_factory=lambda: [0.0] * SPREAD_BINS)  # units' reads
    _reached: dict[int, float] = field(default_factory=dict)  # unit: share of seconds read
    _pending: dict[int, list[tuple[float, float, int]]] = field(default_factory=dict)
    _widest: float = 0.0  # the longest unit span seen: the range
    #: :func:`_density` of the bins, worked out again only once a unit ends (a page
    #: leaves the bins as they were): pages are many, units few.
    _densities: list[float] | None = None
    _densities_stale: bool = True

    def emit(self, event: Event) -> None:
        """Hand ``event`` to the callback, if there is one."""
        if self.on_event is not None:
            self.on_event(event)

    def planned(self, unit: Unit) -> None:
        """Count a unit the run will read; a history unit queues its job."""
        self.open_units[unit.user_id] += 1
        self.units_planned[unit.source] += 1
        if unit.query_key is not None:
            self.jobs.setdefault(unit.query_key, "queued")

    def ended(self, user_id: int) -> bool:
        """One of a user's units ended; True when it was the user's last."""
        self.open_units[user_id] -= 1
        if self.open_units[user_id] > 0:
            return False
        del self.open_units[user_id]
        if user_id in self.awaiting:
            return False  # its list units ended before its history group was handed out
        self.users_done += 1
        return True

    def joined(self, user_id: int) -> None:
        """A user's history group was handed out: the user is open until it ends."""
        self.awaiting.discard(user_id)
        self.open_units[user_id] += 1

    def read_page(self, unit: Unit, pages: int, oldest: str | None, records: int = 0) -> None:
        """A list unit stored its ``pages``-th page of ``records``, reaching back to ``oldest``.

        Its share read is the views a unit holds in the seconds read, as far as the
        views read so far spread over the range (a term's views crowd its weeks):
        seconds alone would take a unit that has read the quiet last days for nearly
        done.
        """
        share = self.reading.get(unit.unit_id, (0, 0.0))[1]
        if oldest is not None:
            previous = self._reached.get(unit.unit_id, 0.0)
            span = _seconds(unit.end) - _seconds(unit.start) + 1
            reached = min(1.0, max(0.0, (_seconds(unit.end) - _seconds(oldest) + 1) / span))
            if span >= self._widest:  # a whole range, not a split window: shows the spread
                self._widest = span
                # Counted once the unit has read its whole range: a unit read in part has
                # read only the newest bins, which would crowd them.
                self._pending.setdefault(unit.unit_id, []).append((previous, reached, records))
            self._reached[unit.unit_id] = reached
            if self._densities_stale:
                self._densities = _density(self.spread, self.seen)
                self._densities_stale = False
            share = _mass(self._densities, reached)
        self.reading[unit.unit_id] = (pages, share)

    def unit_ended(self, unit: Unit) -> None:
        """Count a unit that ended, its pages with it."""
        self.units_ended[unit.source] += 1
        pages, _ = self.reading.pop(unit.unit_id, (0, 1.0))
        self._reached.pop(unit.unit_id, None)
        for lo, hi, records in self._pending.pop(unit.unit_id, ()):
            _spread(self.spread, self.seen, lo, hi, records)
            self._densities_stale = True
        self.pages_ended += pages

    def job_running(self, key: int) -> None:
        """A job of the run was started on Canvas (or found started by a killed run)."""
        if self.jobs.get(key) != "running":
            self.jobs[key] = "running"
            self.job_started.setdefault(key, time.monotonic())

    def job_done(self, key: int) -> None:
        """A job's file was read, or its users ended without it."""
        self.jobs[key] = "done"
        began = self.job_started.pop(key, None)
        if began is not None:
            self.job_seconds.append(time.monotonic() - began)

    def job_counts(self) -> Counter[str]:
        """How many jobs are queued, running and done."""
        return Counter(self.jobs.values())


class UnitContext(Protocol):
    """What a source may do while it reads a unit."""

    store: Store
    run: Run
    progress: Progress  # the run's live counters (a source counts its jobs there)

    def page_stored(self, records: int, oldest: str | None = None) -> None:
        """Count a stored page, its records, and how far back it reached (list units)."""

    def spawn(self, units: list[Unit]) -> None:
        """Start units that take over the rest of this one (a split)."""

    def spare_capacity(self) -> int:
        """Requests the client could start now with nobody waiting for them."""


class Source(Protocol):
    """A way to read a unit of a user's history into the store."""

    name: str

    async def read(self, unit: Unit, context: UnitContext) -> None:
        """Read ``unit`` to its end (or split it), storing every page as it comes."""

    def spare_capacity(self) -> int:
        """Requests that could start now with nobody waiting for them."""

    async def permission_hint(self, error: PermissionDeniedError) -> PermissionDeniedError | None:
        """The error to stop the run with when the very first read is refused.

        None when the token may read page views and only this user is refused.
        """


class Engine:
    """Run units through a source with ``workers`` at a time."""

    def __init__(
        self, store: Store, run: Run, source: Source, *, workers: int, progress: Progress
    ) -> None:
        self.store, self.run, self.source = store, run, source
        self.workers, self.progress = workers, progress
        self.any_success = False
        self.members: dict[int, list[int]] = {}  # a group's reading unit: its other users
        self._queue: MemoryObjectReceiveStream[Unit] | None = None

    async def run_all(self, produce: Callable[[Dispatch], Awaitable[None]]) -> None:
        """Run every unit ``produce`` dispatches, and every unit those split into."""
        send, receive = anyio.create_memory_object_stream[Unit](max(self.workers, PLAN_AHEAD))
        self._queue = receive
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._produce, produce, send)
            async with receive:
                for _ in range(self.workers):
                    tg.start_soon(self._work, receive.clone(), tg)

    async def _produce(
        self, produce: Callable[[Dispatch], Awaitable[None]], send: MemoryObjectSendStream[Unit]
    ) -> None:
        async def dispatch(units: list[Unit]) -> None:
            for unit in units:
                self.progress.planned(unit)
                if unit.query_key is not None:
                    # One unit reads its whole query group: the group's other users are
                    # open until it ends.
                    self.progress.awaiting.discard(unit.user_id)
                    members = self.store.group_units(self.run.run_id, unit.query_key)
                    others = sorted({u.user_id for u in members} - {unit.user_id})
                    self.members[unit.unit_id] = others
                    for user_id in others:
                        self.progress.joined(user_id)
            for unit in units:
                await send.send(unit)

        async with send:
            await produce(dispatch)

    async def _work(self, receive: MemoryObjectReceiveStream[Unit], tg: TaskGroup) -> None:
        async with receive:
            async for unit in receive:
                await self._read(unit, tg)

    async def _read(self, unit: Unit, tg: TaskGroup) -> None:
        current_unit.set(unit_label(unit.user_id, unit.start, unit.end))
        context = _Context(self, tg, unit)
        try:
            await self.source.read(unit, context)
        except PageviewsError as exc:
            # Canvas knew the user a page ago: what a 404 hid is missing, so the user is
            # incomplete, not gone.
            part_way = isinstance(exc, NotFoundError) and bool(
                context.pages or self.store.pages_read(self.run.run_id, unit.user_id)
            )
            outcome = unit_outcome(exc, part_way=part_way)
            if outcome is None:
                raise
            if isinstance(exc, PermissionDeniedError) and not self.any_success:
                hint = await self.source.permission_hint(exc)
                if hint is not None:
                    raise hint from None
            state, detail = outcome
            log.info(
                "user %s: %s", unit.user_id, "not found, skipped" if state == MISSING else detail
            )
            self.store.end_unit(unit.unit_id, state, detail)
        self.progress.unit_ended(unit)
        self.unit_done(unit.user_id)
        for user_id in self.members.pop(unit.unit_id, ()):
            self.unit_done(user_id)

    def spare_capacity(self) -> int:
        """Requests that could start now with nobody waiting for them.

        A unit queued for a worker is waiting for them: the places its worker leaves
        free now (busy with a page, not on the wire) it fills next. Cutting a chain into
        windows then only costs requests (each window's last page, the pages read again).
        """
        if self._queue is not None and self._queue.statistics().current_buffer_used:
            return 0
        return self.source.spare_capacity()

    def unit_done(self, user_id: int) -> None:
        """Count one of a user's units as ended; the user is done with the last."""
        if self.progress.ended(user_id) and self.progress.on_event is not None:
            problem = self.store.problems_of(self.run.run_id, user_id)
            self.progress.emit(Event("user", user=user_id, detail=problem))


class _Context:
    """A unit's view of the engine while its source reads it."""

    def __init__(self, engine: Engine, tg: TaskGroup, unit: Unit) -> None:
        self.engine, self.tg, self.unit = engine, tg, unit
        self.store, self.run, self.progress = engine.store, engine.run, engine.progress
        self.pages = 0

    def page_stored(self, records: int, oldest: str | None = None) -> None:
        self.engine.any_success = True
        self.pages += 1
        if self.unit.query_key is None:
            self.progress.read_page(self.unit, self.pages, oldest, records)
        self.engine.progress.records += records
        if self.engine.progress.on_event is not None:  # an Event a page, for a callback only
            self.engine.progress.emit(Event("records", count=records))
        self.engine.progress.stored_pages += 1

    def spawn(self, units: list[Unit]) -> None:
        for unit in units:
            self.engine.progress.planned(unit)
            self.tg.start_soon(self.engine._read, unit, self.tg)

    def spare_capacity(self) -> int:
        return self.engine.spare_capacity()
