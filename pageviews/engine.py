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
from typing import Protocol

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .errors import (
    BodyTooLargeError,
    CanvasUnreachableError,
    NotFoundError,
    PermissionDeniedError,
    TransientError,
)
from .logsetup import current_unit, unit_label
from .store.histories import FAILED, MISSING, Run, Store, Unit

log = logging.getLogger(__name__)

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

    def emit(self, event: Event) -> None:
        """Hand ``event`` to the callback, if there is one."""
        if self.on_event is not None:
            self.on_event(event)


class UnitContext(Protocol):
    """What a source may do while it reads a unit."""

    store: Store
    run: Run

    def page_stored(self, records: int) -> None:
        """Count a stored page and its records."""

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

    async def run_all(self, produce: Callable[[Dispatch], Awaitable[None]]) -> None:
        """Run every unit ``produce`` dispatches, and every unit those split into."""
        send, receive = anyio.create_memory_object_stream[Unit](self.workers)
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
                self.progress.open_units[unit.user_id] += 1
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
        context = _Context(self, tg)
        try:
            await self.source.read(unit, context)
        except NotFoundError as exc:
            if context.pages or self.store.pages_read(self.run.run_id, unit.user_id):
                # Canvas knew the user a page ago: what the 404 hid is missing, so the
                # user is incomplete, not gone.
                log.info("user %s: 404 part-way through the page views", unit.user_id)
                self.store.give_up(unit.unit_id, FAILED, f"Canvas answered 404 part-way: {exc}")
            else:
                log.info("user %s: not found, skipped", unit.user_id)
                self.store.give_up(unit.unit_id, MISSING, str(exc))
        except PermissionDeniedError as exc:
            hint = None if self.any_success else await self.source.permission_hint(exc)
            if hint is not None:
                raise hint from None
            self.store.give_up(unit.unit_id, FAILED, f"permission denied: {exc}")
        except BodyTooLargeError as exc:
            log.info("user %s: %s", unit.user_id, exc)
            self.store.give_up(unit.unit_id, FAILED, str(exc))
        except CanvasUnreachableError:
            raise
        except TransientError as exc:
            log.info("user %s: gave up after retries: %s", unit.user_id, exc)
            self.store.give_up(unit.unit_id, FAILED, f"gave up after retries: {exc}")
        self.unit_done(unit.user_id)

    def unit_done(self, user_id: int) -> None:
        """Count one of a user's units as ended; the user is done with the last."""
        opened = self.progress.open_units
        opened[user_id] -= 1
        if opened[user_id] <= 0:
            del opened[user_id]
            self.progress.users_done += 1
            if self.progress.on_event is not None:
                problem = self.store.problems_of(self.run.run_id, user_id)
                self.progress.emit(Event("user", user=user_id, detail=problem))


class _Context:
    """A unit's view of the engine while its source reads it."""

    def __init__(self, engine: Engine, tg: TaskGroup) -> None:
        self.engine, self.tg = engine, tg
        self.store, self.run = engine.store, engine.run
        self.pages = 0

    def page_stored(self, records: int) -> None:
        self.engine.any_success = True
        self.pages += 1
        self.engine.progress.records += records
        self.engine.progress.emit(Event("records", count=records))
        self.engine.progress.stored_pages += 1

    def spawn(self, units: list[Unit]) -> None:
        for unit in units:
            self.engine.progress.open_units[unit.user_id] += 1
            self.tg.start_soon(self.engine._read, unit, self.tg)

    def spare_capacity(self) -> int:
        return self.engine.source.spare_capacity()
