"""The PageView History API as a source: export jobs over whole months (contract §9).

A query group (the planner's units sharing one ``query_key``) is read by the
first of its units to reach a worker; the others wait for it. Each query is
started (the batch route for several users, the per-user route for one),
polled with growing waits, its file downloaded as a stream and stored a bounded
batch at a time as it arrives (:meth:`Store.add_views`); its users' coverage is
stored only once the whole file was read (:meth:`Store.finish_history`). Every
query id is stored as soon as Canvas gives it, so a resumed run polls it again.

Protocol decisions: a 429 on start means our other jobs are still running (wait
for one to finish; the request gate is not halved), a 503 means the queue is
full (wait and retry); ``RESULT_SIZE_LIMIT_EXCEEDED`` splits the query (fewer
users, then fewer months); a result gone (404) starts the query again; users a
poll reports as ``USER_FILTERED`` end as not permitted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date
from typing import Any, Final

import anyio
import orjson
from multidict import CIMultiDictProxy

from ..canvas.client import CanvasClient, Reply
from ..canvas.ratelimit import rate_limit_from_headers, retry_after_seconds
from ..canvas.responses import canvas_message, is_throttle
from ..engine import UnitContext
from ..errors import (
    AuthenticationError,
    BadRequestError,
    CanvasUnreachableError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    StateError,
    TransientError,
)
from ..store.histories import DONE, FAILED, STARTED, TODO, HistoryQuery, Unit
from .history_plan import clip_to_months, filtered_users, halves, next_step, poll_wait
from .history_rows import DamagedExportError, ExportReader
from .records import Row, local_id

log = logging.getLogger(__name__)
SOURCE: Final = "history"
_BUCKET_THROTTLE: Final = b"Rate Limit Exceeded"  # Canvas's throttle body (contract §5)
_NOT_AVAILABLE: Final = "not available in this environment"
_MAX_RESTARTS: Final = 5  # a job failed, expired or gave an unusable file this often


class HistoryUnavailableError(ProtocolError):
    """Canvas has no export service (all six calls answer 404, contract §9)."""


class HistorySource:
    """Read history units through export jobs of one client."""

    name = SOURCE

    def __init__(
        self,
        client: CanvasClient,
        *,
        poll_initial: float = 5.0,
        poll_cap: float = 60.0,
        give_up_after: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.poll_initial, self.poll_cap, self.give_up_after = poll_initial, poll_cap, give_up_after
        self.clock = clock
        self.started = 0  # queries this source started (for the summary and tests)
        self.records = 0
        self._groups: dict[int, anyio.Event] = {}
        self._running = 0  # our jobs queued or running
        self._job_ended = anyio.Event()

    def spare_capacity(self) -> int:
        return self.client.spare_capacity()

    def permission_hint(self, error: PermissionDeniedError) -> PermissionDeniedError:
        return error

    async def read(self, unit: Unit, context: UnitContext) -> None:
        """Read the unit's query group, or wait while another worker reads it."""
        key = unit.query_key
        if key is None:
            raise ProtocolError(f"history unit {unit.unit_id} names no query")
        event = self._groups.get(key)
        if event is not None:
            await event.wait()
            return
        event = self._groups[key] = anyio.Event()
        try:
            await self._read_group(key, context)
        finally:
            event.set()
            context.progress.job_done(key)

    async def _read_group(self, key: int, context: UnitContext) -> None:
        store, run = context.store, context.run
        units = {u.user_id: u for u in store.group_units(run.run_id, key)}
        denied: dict[int, str] = {}
        todo = [q for q in store.history_queries(key) if q.state in (TODO, STARTED, FAILED)]
        while todo:
            query = todo.pop(0)
            try:
                children, refused = await self._read_query(query, units, context)
            except (AuthenticationError, CanvasUnreachableError, StateError):
                raise
            except HistoryUnavailableError:
                raise
            except (PermissionDeniedError, NotFoundError) as exc:
                if len(query.users) > 1:
                    # The batch route stops at the first user it refuses without naming
                    # it: ask for each user alone to find out which.
                    todo += store.split_query(
                        query, [((u,), query.start, query.end) for u in query.users]
                    )
                    continue
                state = "not found" if isinstance(exc, NotFoundError) else "permission denied"
                store.set_query(query.query_key, FAILED, query.query_id, str(exc))
                denied.update(dict.fromkeys(query.users, f"{state}: {exc}"))
                continue
            except (TransientError, BadRequestError) as exc:
                store.set_query(query.query_key, FAILED, None, str(exc))
                denied.update(dict.fromkeys(query.users, f"history query failed: {exc}"))
                continue
            todo += children
            denied.update(refused)
        for user_id, unit in units.items():
            if user_id in denied:
                store.end_unit(unit.unit_id, FAILED, denied[user_id])
            else:
                store.end_unit(unit.unit_id, DONE)

    async def _read_query(
        self, query: HistoryQuery, units: dict[int, Unit], context: UnitContext
    ) -> tuple[list[HistoryQuery], dict[int, str]]:
        """Run one query to its stored file; return queries it split into and users refused."""
        store = context.store
        query_id, restarts = query.query_id, query.restarts
        while True:
            if restarts > _MAX_RESTARTS:
                raise TransientError(
                    f"Canvas's export job for this query was started {restarts} times "
                    "and never gave a result"
                )
            if query_id is None:
                query_id = await self._start(query)
                store.set_query(query.query_key, STARTED, query_id)
            context.progress.job_running(query.root)
            status = await self._poll(query, query_id)
            if status is None:  # expired or unknown: start again
                query_id, restarts = None, restarts + 1
                store.set_query(query.query_key, TODO, None)
                continue
            step = next_step(
                status.get("status"), status.get("error_code"), restarts, _MAX_RESTARTS
            )
            if step == "restart":
                log.info("history query %s failed (%s): starting it again", query_id, status)
                query_id, restarts = None, restarts + 1
                store.set_query(query.query_key, TODO, None)
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
                log.info("history query %s too large: splitting it", query_id)
                return store.split_query(
                    query, [(u, s.isoformat(), e.isoformat()) for u, s, e in parts]
                ), {}
            filtered = filtered_users(status.get("warnings"))
            refused = {
                u: "permission denied: Canvas's history export filtered this user out"
                for u in query.users
                if local_id(u) in filtered
            }
            stored = await self._download(query, query_id, units, context, set(refused))
            if stored:
                return [], refused
            query_id, restarts = None, restarts + 1  # the result expired: start again
            store.set_query(query.query_key, TODO, None)

    # The three calls ---------------------------------------------------------

    def _path(self, query: HistoryQuery, query_id: str | None = None) -> str:
        base = (
            f"/api/v1/users/{query.users[0]}/page_views/query"
            if len(query.users) == 1
            else "/api/v1/users/page_views/query"
        )
        return base if query_id is None else f"{base}/{query_id}"

    async def _start(self, query: HistoryQuery) -> str:
        """Start a query, waiting out 429 (our jobs running) and 503 (queue full)."""
        form = [("start_date", query.start), ("end_date", query.end), ("results_format", "csv")]
        if len(query.users) > 1:
            form = [("user_ids[]", str(u)) for u in query.users] + form
        url = self.client.url(self._path(query))
        began, tries = self.clock(), 0
        while True:
            reply = await self._send("POST", url, form, "history-start")
            if reply.status in (200, 201):
                poll_url = _json(reply).get("poll_url")
                if not isinstance(poll_url, str) or "/" not in poll_url:
                    raise ProtocolError("Canvas started a history query without a poll_url")
                self.started += 1
                self._running += 1
                return poll_url.rstrip("/").rsplit("/", 1)[-1]
            tries += 1
            if self.clock() - began > self.give_up_after:
                raise TransientError(f"history query not started after {self.give_up_after:g} s")
            asked = retry_after_seconds(reply.headers)
            bucket = self._bucket_throttle(reply.status, reply.body, reply.headers)
            if reply.status == 429 and not bucket and self._running:
                # Our own jobs hold the requester's slots: the next to end frees one.
                with anyio.move_on_after(self.poll_cap):
                    await self._job_ended.wait()
                continue
            if bucket or reply.status in (429, 500, 502, 503, 504):
                await anyio.sleep(poll_wait(tries, self.poll_initial, self.poll_cap, asked))
                continue
            _refuse(reply)

    def _bucket_throttle(self, status: int, body: bytes, headers: CIMultiDictProxy[str]) -> bool:
        """Whether Canvas's request throttle refused the call (not the export service)."""
        rate = rate_limit_from_headers(headers)
        if not is_throttle(status, body, rate) or (
            status == 429 and _BUCKET_THROTTLE not in body and (rate is None or rate.remaining > 0)
        ):
            return False
        self.client.stats.throttled += 1
        self.client.gate.throttled(rate)
        return True

    async def _poll(self, query: HistoryQuery, query_id: str) -> dict[str, Any] | None:
        """Poll until the job ends; None when Canvas no longer knows it."""
        url = self.client.url(self._path(query, query_id))
        polls = 0
        while True:
            try:
                page = await self.client.get(url, kind="history-poll")
            except NotFoundError as exc:
                if _NOT_AVAILABLE in str(exc):
                    raise HistoryUnavailableError(str(exc)) from None
                self._ended()
                return None
            data = page.data if isinstance(page.data, dict) else {}
            if data.get("status") in ("finished", "failed"):
                self._ended()
                return data
            await anyio.sleep(poll_wait(polls, self.poll_initial, self.poll_cap, None))
            polls += 1

    def _ended(self) -> None:
        self._running = max(0, self._running - 1)
        ended, self._job_ended = self._job_ended, anyio.Event()
        ended.set()

    async def _download(
        self,
        query: HistoryQuery,
        query_id: str,
        units: dict[int, Unit],
        context: UnitContext,
        refused: set[int],
    ) -> bool:
        """Stream the file into the store; False when the result is gone (start again)."""
        url = self.client.url(self._path(query, query_id) + "/results")
        users = tuple(u for u in query.users if u in units)
        first = units[users[0]] if users else None
        start, end = date.fromisoformat(query.start), date.fromisoformat(query.end)
        lo, hi = clip_to_months((first.start, first.end), start, end) if first else ("", "")
        unusable = 0
        attempts = self.client.retry_attempts
        for attempt in range(attempts):
            reader = ExportReader(lo, hi, users)
            kept = 0
            try:
                async with self.client.download(url, kind="history-results") as reply:
                    if reply.status in (403, 429):
                        body = await self.client.error_body(reply)
                        if self._bucket_throttle(reply.status, body, reply.headers):
                            asked = retry_after_seconds(reply.headers)
                            await anyio.sleep(
                                poll_wait(attempt, self.poll_initial, self.poll_cap, asked)
                            )
                            continue
                        raise PermissionDeniedError(canvas_message(body))
                    if reply.status == 404:
                        return False
                    if reply.status == 400:
                        # An unusable file (contract §9): asked again once, then a new job.
                        unusable += 1
                        if unusable > 1:
                            return False
                    if reply.status in (400, 500, 502, 503, 504):
                        await anyio.sleep(
                            poll_wait(attempt, self.poll_initial, self.poll_cap, None)
                        )
                        continue
                    if reply.status not in (200, 204):
                        raise ProtocolError(f"unexpected HTTP {reply.status} for a history result")
                    if reply.status == 200:
                        async for chunk in reply.chunks:
                            for batch in reader.feed(chunk):
                                kept += self._store(context, batch, refused)
                    for batch in reader.close():
                        kept += self._store(context, batch, refused)
            except (TransientError, DamagedExportError) as exc:
                # Cut off or damaged mid-file: the result is still there, so read it again.
                # Views already stored are stored again, once (they are keyed by id).
                if isinstance(exc, CanvasUnreachableError):
                    raise
                if attempt + 1 >= attempts:
                    raise TransientError(f"history result of query {query_id}: {exc}") from None
                log.info(
                    "history result of query %s broke off (%s): reading it again", query_id, exc
                )
                await anyio.sleep(poll_wait(attempt, self.poll_initial, self.poll_cap, None))
                continue
            covered = [(u, (lo, hi)) for u in users if u not in refused]
            context.store.finish_history(context.run.run_id, query, covered, SOURCE)
            context.page_stored(kept, reader.unusable)
            self.records += kept
            return True
        raise TransientError("Canvas kept failing to serve a history result")

    @staticmethod
    def _store(context: UnitContext, rows: list[tuple[int, Row]], refused: set[int]) -> int:
        """Store a batch of a file's rows (never the whole file at once); return how many."""
        kept = [(u, row) for u, row in rows if u not in refused] if refused else rows
        if kept:
            context.store.add_views(kept)
        return len(kept)

    async def _send(self, method: str, url: str, form: list[tuple[str, str]], kind: str) -> Reply:
        for attempt in range(self.client.retry_attempts):
            try:
                return await self.client.send(method, url, form, kind=kind)
            except TransientError:
                if attempt + 1 >= self.client.retry_attempts:
                    raise
                await anyio.sleep(poll_wait(attempt, self.poll_initial, self.poll_cap, None))
        raise AssertionError("unreachable")  # pragma: no cover


def _json(reply: Reply) -> dict[str, Any]:
    try:
        data = orjson.loads(reply.body)
    except orjson.JSONDecodeError:
        raise ProtocolError("Canvas answered a history call with something not JSON") from None
    return data if isinstance(data, dict) else {}


def _refuse(reply: Reply) -> None:
    """Raise the error a final refusal of a query start means."""
    message = canvas_message(reply.body)
    if reply.status == 404:
        if _NOT_AVAILABLE in message:
            raise HistoryUnavailableError(
                f"Canvas's page-view history is not available here ({message}); use --history never"
            )
        raise NotFoundError(message)
    if reply.status in (401, 403):
        if message.lower().startswith(("invalid access token", "expired access token")):
            raise AuthenticationError(f"Canvas rejected the token: {message}")
        raise PermissionDeniedError(message)
    if reply.status == 400:
        raise BadRequestError(f"Canvas refused the history query: {message}")
    raise ProtocolError(f"unexpected HTTP {reply.status} starting a history query: {message}")
