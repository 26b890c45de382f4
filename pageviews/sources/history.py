"""The PageView History API as a source: export jobs over whole months.

The calls and their answers: docs/canvas.md#history-api.

A query group (the planner's units sharing one ``query_key``) is read by the
first of its units to reach a worker; the others wait for it. Before its first
job starts, the group waits for the list reads of its users already running to
answer, and leaves out users Canvas refused or no longer knows: they would
refuse the whole batch. Each query is started (the batch route for several
users, the per-user route for one), polled, its file streamed into the store a
bounded batch at a time (:meth:`Store.file_views`, which may hold them until the
file's end); its users' coverage is stored only once the whole file was read
(:meth:`Store.finish_history`). Every
query id is stored as soon as Canvas gives it, so a resumed run polls it again.
The queries of a group run side by side.

Protocol decisions: a batch start refused (401/403/404) is cut in halves until
the refused users stand alone (the batch route stops at the first refused user
without naming it), so one refused user costs about ⌈log2 10⌉ + 1 starts, not
ten; a user alone answering Canvas's 404 is "not found" only if the list
endpoint says so too. A 404 that no working service gives means the service is
not there: with ``auto`` the group's users are read from the list endpoint
instead (self-hosted Canvas keeps every view there), with ``only`` the run
stops. ``RESULT_SIZE_LIMIT_EXCEEDED`` splits a query (fewer users, then fewer
months); a result gone (404) starts the query again; users a poll reports as
``USER_FILTERED`` end as not permitted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Final

import anyio
from anyio.abc import TaskGroup

from ..canvas.client import CanvasClient
from ..engine import UnitContext
from ..errors import (
    AuthenticationError,
    BadRequestError,
    CanvasUnreachableError,
    NotFoundError,
    PermissionDeniedError,
    StateError,
    TransientError,
    first_error,
)
from ..outcomes import QueryState
from ..store import DONE, FAILED, SPLIT, HistoryQuery, Unit
from ..store.fileviews import FileViews
from .history_calls import DEFAULT_HISTORY_WAIT, ExportJobs, HistoryWaitError
from .history_plan import clip_to_months, filtered_users, halves, next_step
from .history_rows import ExportReader
from .history_service import HistoryUnavailableError, absent_reason, only_impossible
from .records import Row, local_id
from .refusals import Refusals, TokenRights, Verdict, gone, refused

log = logging.getLogger(__name__)
SOURCE: Final = "history"
_MAX_RESTARTS: Final = 5  # a job failed, expired or gave an unusable file this often
Refusal = PermissionDeniedError | NotFoundError


class _Group:
    """What the queries of one group found, as they run side by side."""

    def __init__(self, units: dict[int, Unit], context: UnitContext, tg: TaskGroup) -> None:
        self.units, self.context, self.tg = units, context, tg
        self.ended: dict[int, Verdict] = {}  # users refused, gone or incomplete
        self.listed: set[int] = set()  # users to read from the list endpoint instead


class HistorySource:
    """Read history units through export jobs of one client."""

    name = SOURCE

    def __init__(
        self,
        client: CanvasClient,
        *,
        mode: str = "auto",
        refusals: Refusals | None = None,
        rights: TokenRights | None = None,
        wait: float = DEFAULT_HISTORY_WAIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self.mode = client, mode
        self.jobs = ExportJobs(client, wait=wait, clock=clock)
        self.refusals = refusals or Refusals()
        self.rights = rights or TokenRights(client)
        self.records = 0
        #: Why history is not there, once a call showed it (``auto`` then lists instead).
        self.absent: str | None = None
        self._groups: dict[int, anyio.Event] = {}

    @property
    def started(self) -> int:
        """Jobs this source started (for the summary and tests)."""
        return self.jobs.started

    def spare_capacity(self) -> int:
        return self.client.spare_capacity()

    def permission_hint(self, error: PermissionDeniedError) -> PermissionDeniedError:
        return error

    async def read(self, unit: Unit, context: UnitContext) -> None:
        """Read the unit's query group, or wait while another worker reads it."""
        key = unit.query_key
        if key is None:
            raise StateError(f"history unit {unit.unit_id} names no query")
        event = self._groups.get(key)
        if event is not None:
            await event.wait()
            return
        event = self._groups[key] = anyio.Event()
        try:
            await self._read_group(key, context)
        finally:
            event.set()
            # However the group ended, no new job waits for its jobs' first polls.
            self.jobs.polled(
                *(q.query_id for q in context.store.history_queries(key) if q.query_id)
            )
            context.progress.job_done(key)

    async def _read_group(self, key: int, context: UnitContext) -> None:
        store, run = context.store, context.run
        units = {u.user_id: u for u in store.group_units(run.run_id, key)}
        if not units:
            return
        if self.absent is None:
            await self.refusals.settle(units)
            # Users no list read answered for (--history only, a resumed run): one view
            # each from the list endpoint first, so a refused user never joins a batch.
            unknown = [
                u
                for u in units
                if self.refusals.verdict(u) is None and not self.refusals.was_served(u)
            ]
            if unknown:
                await self._ask_users(unknown)
        try:
            async with anyio.create_task_group() as tg:
                group = _Group(units, context, tg)
                if self.absent is not None:
                    group.listed.update(units)
                else:
                    for user in units:
                        verdict = self.refusals.verdict(user)
                        if verdict is not None:
                            group.ended[user] = verdict
                    for query in self._pruned(key, group):
                        tg.start_soon(self._run, query, group)
        except BaseExceptionGroup as failed:
            raise first_error(failed) from None  # as a unit's own failure, for the engine
        for user_id, unit in units.items():
            if user_id in group.listed:
                self._list_instead(unit, context)
            elif user_id in group.ended:
                store.end_unit(unit.unit_id, *group.ended[user_id])
            else:
                store.end_unit(unit.unit_id, DONE)

    def _pruned(self, key: int, group: _Group) -> list[HistoryQuery]:
        """The group's queries still to run, without users already known refused or gone."""
        store = group.context.store
        queries = [
            q
            for q in store.history_queries(key)
            if q.state in (QueryState.TODO, QueryState.STARTED, QueryState.FAILED)
        ]
        left_out = set(group.ended) | {u for q in queries for u in q.users if u not in group.units}
        kept: list[HistoryQuery] = []
        for query in queries:
            if query.query_id is not None or left_out.isdisjoint(query.users):
                kept.append(query)
                continue
            rest = tuple(u for u in query.users if u not in left_out)
            log.info("history query of users %s leaves out refused or gone users", query.users)
            kept += store.split_query(query, [(rest, query.start, query.end)] if rest else [])
        return kept

    async def _run(self, query: HistoryQuery, group: _Group) -> None:
        """Run one query; note what it found in ``group``, start the queries it split into."""
        store = group.context.store
        try:
            try:
                children, filtered = await self._read_query(query, group)
            except (PermissionDeniedError, NotFoundError) as exc:
                await self._refused(query, exc, group)
                return
        except (AuthenticationError, CanvasUnreachableError, StateError):
            raise
        except HistoryUnavailableError as exc:
            if self.mode == "only":
                raise only_impossible(str(exc)) from None
            if self.absent is None:
                log.info("%s: reading the rest from the list endpoint", exc)
                self.absent = str(exc)
            store.set_query(query.query_key, QueryState.FAILED, None, str(exc))
            group.listed.update(u for u in query.users if u in group.units)
            return
        except HistoryWaitError as exc:
            # The query keeps its id (when it has one): the next run polls that job again.
            group.ended.update(dict.fromkeys(query.users, (FAILED, str(exc))))
            return
        except (TransientError, BadRequestError) as exc:
            store.set_query(query.query_key, QueryState.FAILED, None, str(exc))
            group.ended.update(dict.fromkeys(query.users, (FAILED, f"history query failed: {exc}")))
            return
        for child in children:
            group.tg.start_soon(self._run, child, group)
        group.ended.update(filtered)

    async def _refused(self, query: HistoryQuery, exc: Refusal, group: _Group) -> None:
        """A start (or poll) refused: halve the batch, or name its one user."""
        store = group.context.store
        if isinstance(exc, PermissionDeniedError) and not await self._others_readable():
            raise exc  # the token may not read page views at all (the engine says so)
        if len(query.users) > 1:
            # The batch route stops at the first user it refuses without naming it.
            parts = [(half, query.start, query.end) for half in _halves(query.users)]
            log.info("history query of users %s refused (%s): halving it", query.users, exc)
            for child in store.split_query(query, parts):
                group.tg.start_soon(self._run, child, group)
            return
        user = query.users[0]
        if isinstance(exc, PermissionDeniedError):
            verdict: Verdict | None = refused(exc)
        else:
            verdict = None if self.refusals.was_served(user) else await self._ask_list(user)
        if verdict is None:
            # The list endpoint serves this user: the history route's 404 was not about it.
            raise HistoryUnavailableError(absent_reason(str(exc)))
        store.set_query(query.query_key, QueryState.FAILED, None, verdict[1])
        self.refusals.decide(user, verdict)
        group.ended[user] = verdict

    async def _others_readable(self) -> bool:
        """Whether other users' page views can be read, so a refusal is about a user."""
        return bool(self.records) or self.refusals.any_served or await self.rights.may_read()

    async def _ask_list(self, user: int) -> Verdict | None:
        """Ask the list endpoint whether Canvas knows ``user`` and lets the token read it.

        One page of one view: about half a unit on hosted Canvas, where a list page
        costs by its size (docs/canvas.md#request-costs), against 150 for each start a
        refused batch would cost. None when it serves the user, else the user's verdict.
        """
        url = self.client.url(f"/api/v1/users/{user}/page_views", [("per_page", 1)])
        try:
            await self.client.get(url)
        except NotFoundError as missing:
            verdict = gone(str(missing))
        except PermissionDeniedError as denied:
            if not await self._others_readable():
                raise
            verdict = refused(denied)
        else:
            self.refusals.served(user)
            return None
        self.refusals.decide(user, verdict)
        return verdict

    async def _ask_users(self, users: list[int]) -> None:
        """Ask the list endpoint about users no list read has answered for yet."""

        async def ask(user: int) -> None:
            try:
                await self._ask_list(user)
            except TransientError as exc:  # the halving of a refused batch will tell
                log.info("user %s: could not ask the list endpoint first: %s", user, exc)

        try:
            async with anyio.create_task_group() as tg:
                for user in users:
                    tg.start_soon(ask, user)
        except BaseExceptionGroup as failed:
            raise first_error(failed) from None

    def _list_instead(self, unit: Unit, context: UnitContext) -> None:
        """Hand a history unit's seconds to the list endpoint (this Canvas has no history)."""
        store = context.store
        seconds = [(unit.start, unit.end)]
        children = store.add_units(context.run.run_id, unit.user_id, seconds, "list")
        store.end_unit(unit.unit_id, SPLIT, f"read from the list endpoint: {self.absent}")
        context.spawn(children)

    async def _read_query(
        self, query: HistoryQuery, group: _Group
    ) -> tuple[list[HistoryQuery], dict[int, Verdict]]:
        """Run one query to its stored file; return queries it split into and users refused."""
        store = group.context.store
        query_id, restarts = query.query_id, query.restarts
        while True:
            if restarts > _MAX_RESTARTS:
                raise TransientError(
                    f"Canvas's export job for this query was started {restarts} times "
                    "and never gave a result"
                )
            if query_id is None:
                query_id = await self.jobs.start(query)
                store.set_query(query.query_key, QueryState.STARTED, query_id)
            group.context.progress.job_running(query.root)
            status = await self.jobs.poll(query, query_id)
            if status is None:  # expired or unknown: start again
                query_id, restarts = None, restarts + 1
                store.set_query(query.query_key, QueryState.TODO, None)
                continue
            step = next_step(
                status.get("status"), status.get("error_code"), restarts, _MAX_RESTARTS
            )
            if step == "restart":
                log.info("history job %s failed (%s): starting it again", query_id, status)
                query_id, restarts = None, restarts + 1
                store.set_query(query.query_key, QueryState.TODO, None)
                continue
            if step == "fail":
                raise TransientError(f"Canvas's export job failed ({status.get('error_code')})")
            if step == "split":
                parts = halves(
                    query.users, date.fromisoformat(query.start), date.fromisoformat(query.end)
                )
                if not parts:
                    raise TransientError(
                        "Canvas's export of one user's single month is over its size limit"
                    )
                log.info("history job %s too large: splitting it", query_id)
                return store.split_query(
                    query, [(u, s.isoformat(), e.isoformat()) for u, s, e in parts]
                ), {}
            filtered = filtered_users(status.get("warnings"))
            denied = {
                u: refused("Canvas's history export filtered this user out")
                for u in query.users
                if local_id(u) in filtered
            }
            if await self._download(query, query_id, group, set(denied)):
                return [], denied
            query_id, restarts = None, restarts + 1  # the result expired: start again
            store.set_query(query.query_key, QueryState.TODO, None)

    async def _download(
        self, query: HistoryQuery, query_id: str, group: _Group, refused_users: set[int]
    ) -> bool:
        """Stream the file into the store; False when the result is gone (start again)."""
        context, units = group.context, group.units
        keep = {u for u in query.users if u in units and u not in refused_users}
        users = [u for u in query.users if u in units]
        start, end = date.fromisoformat(query.start), date.fromisoformat(query.end)
        first = units[users[0]] if users else None
        lo, hi = clip_to_months((first.start, first.end), start, end) if first else ("", "")
        kept = [0]  # rows kept by the last (whole) read
        incomplete: dict[int, str] = {}

        async def read(chunks: AsyncIterator[bytes]) -> None:
            # Each read starts over: a read that broke off stored none of its views, or
            # (a store that stages none) they are stored again, once (keyed by id).
            reader = ExportReader(lo, hi, query.users)
            kept[0] = 0
            with context.store.file_views() as views:
                async for chunk in chunks:
                    for batch in reader.feed(chunk):
                        kept[0] += self._store(views, batch, keep)
                for batch in reader.close():
                    kept[0] += self._store(views, batch, keep)
            incomplete.clear()
            incomplete.update((u, why) for u, why in reader.incomplete().items() if u in keep)

        if not await self.jobs.download(query, query_id, read):
            return False
        # Rows the file held but could not be kept leave their users uncovered and named.
        covered = [(u, (lo, hi)) for u in users if u in keep and u not in incomplete]
        context.store.finish_history(context.run.run_id, query, covered, SOURCE)
        group.ended.update((u, (FAILED, why)) for u, why in incomplete.items())
        context.page_stored(kept[0])
        self.records += kept[0]
        return True

    @staticmethod
    def _store(views: FileViews, rows: list[tuple[int, Row]], keep: set[int]) -> int:
        """Hand a batch of a file's rows (never the whole file at once) to the store."""
        kept = [(u, row) for u, row in rows if u in keep]
        if kept:
            views.add(kept)
        return len(kept)


def _halves(users: tuple[int, ...]) -> list[tuple[int, ...]]:
    half = (len(users) + 1) // 2
    return [users[:half], users[half:]]
