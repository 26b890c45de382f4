"""The three calls of an export job (docs/canvas.md#history-api): start, poll, download.

Two kinds of waiting, both the client's retry policy's (:mod:`pageviews.canvas.retry`):

- Canvas's request throttle (a 429, or a 403 "Rate Limit Exceeded") and faults
  (5xx, dropped connections), retried by the client as list pages are: a
  throttle uses up no try and is bounded by ``--retry-time``.
- The export service's own: a start answered 429 "rate limit exceeded" (this
  token's jobs still running) or 503 (the queue full), and a job queued or
  running. Neither is a failure; both are bounded by the history wait
  (``--history-wait``, :class:`~pageviews.canvas.retry.JobWait`). A start waits
  while no job of this run ends; a job is polled until it ends or the wait is
  up, and then its users are named, the query id kept, so the next run polls
  the same job again.

Every change of a job's state is logged (``-v``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import Any

import anyio
import orjson

from ..canvas.client import CanvasClient, Reply
from ..canvas.failures import QueryGoneError, failure
from ..canvas.outcomes import POLL, RESULTS, START, Outcome
from ..canvas.retry import DEFAULT_HISTORY_WAIT as DEFAULT_HISTORY_WAIT
from ..errors import ProtocolError, TransientError
from ..store import HistoryQuery
from .history_rows import DamagedExportError

log = logging.getLogger(__name__)


class HistoryWaitError(TransientError):
    """A job (or its start) waited longer than the history wait; a later run goes on."""


def query_path(query: HistoryQuery, query_id: str | None = None) -> str:
    """The start path of ``query`` (per-user for one user), or of its ``query_id``."""
    base = (
        f"/api/v1/users/{query.users[0]}/page_views/query"
        if len(query.users) == 1
        else "/api/v1/users/page_views/query"
    )
    return base if query_id is None else f"{base}/{query_id}"


class ExportJobs:
    """Start, poll and download export jobs through one client."""

    def __init__(
        self,
        client: CanvasClient,
        *,
        wait: float = DEFAULT_HISTORY_WAIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.policy = client.retry.with_job_wait(wait)
        self.clock = clock
        self.started = 0  # jobs this run started
        self._running = 0  # of those, queued or running as far as we know
        self._last_end = clock()  # when one of them last ended
        self._job_ended = anyio.Event()
        self._unpolled: set[str] = set()  # jobs a killed run left, not polled yet
        self._all_polled = anyio.Event()
        self._all_polled.set()

    def resume(self, query_ids: Collection[str]) -> None:
        """Jobs a killed run left on Canvas: no new job starts before each was polled once.

        They hold this token's job slots; a start before we know which have ended would
        only be refused (429).
        """
        self._unpolled = set(query_ids)
        self._running += len(self._unpolled)
        if self._unpolled:
            self._all_polled = anyio.Event()

    def polled(self, *query_ids: str) -> None:
        """These jobs were polled once, or their group is over: starts need not wait."""
        self._unpolled.difference_update(query_ids)
        if not self._unpolled:
            self._all_polled.set()

    # Start ---------------------------------------------------------------------

    async def start(self, query: HistoryQuery) -> str:
        """Start ``query``; return its query id. Waits out busy slots and a full queue."""
        form = [("start_date", query.start), ("end_date", query.end), ("results_format", "csv")]
        if len(query.users) > 1:
            form = [("user_ids[]", str(u)) for u in query.users] + form
        url = self.client.url(query_path(query))
        if not self._all_polled.is_set():
            with anyio.move_on_after(self.policy.job_wait):
                await self._all_polled.wait()
            self.polled(*self._unpolled)
        # The export service's own limits: jobs of this token still running (429), or
        # its queue full (503). Not failures: waited for while none of ours ends.
        slot = self.policy.job_waits(self.clock, since=lambda: self._last_end, step=1)
        waiting = False
        while True:
            reply = await self.client.post(url, form, kind=START)
            if reply.answer.outcome is Outcome.OK:
                return self._started(query, reply)
            if reply.answer.outcome is not Outcome.BUSY:
                raise failure(reply.answer, START)
            status = reply.answer.status
            if slot.left() <= 0:
                busy = "this token's jobs still running" if status == 429 else "queue full"
                raise HistoryWaitError(
                    f"history job not started: Canvas answered {busy} (HTTP {status}) "
                    f"for {self.policy.job_wait:g} s (--history-wait)"
                )
            if not waiting:
                log.info(
                    "history query of users %s waits for a free job slot "
                    "(HTTP %d, %d of ours running)",
                    ", ".join(map(str, query.users)),
                    status,
                    self._running,
                )
                waiting = True
            # Our own jobs hold the slots after a 429: the next to end frees one.
            await slot.pause(self._job_ended if status == 429 and self._running else None)

    def _started(self, query: HistoryQuery, reply: Reply) -> str:
        """The query id of a job Canvas started, counted and logged."""
        poll_url = _json(reply).get("poll_url")
        if not isinstance(poll_url, str) or "/" not in poll_url:
            raise ProtocolError("Canvas started a history query without a poll_url")
        query_id = poll_url.rstrip("/").rsplit("/", 1)[-1]
        self.started += 1
        self._running += 1
        log.info(
            "history job %s started: users %s, %s to %s",
            query_id,
            ", ".join(map(str, query.users)),
            query.start,
            query.end,
        )
        return query_id

    # Poll ----------------------------------------------------------------------

    async def poll(self, query: HistoryQuery, query_id: str) -> dict[str, Any] | None:
        """Poll until the job ends; None when Canvas no longer knows it (start again)."""
        url = self.client.url(query_path(query, query_id))
        job, first, last = self.policy.job_waits(self.clock), True, None
        while True:
            try:
                page = await self.client.get(url, kind=POLL)
            except QueryGoneError:
                log.info("history job %s: gone (expired or unknown)", query_id)
                self._ended()
                return None
            finally:
                if first:
                    self.polled(query_id)
                    first = False
            data = page.data if isinstance(page.data, dict) else {}
            status = data.get("status")
            if status != last:
                code = data.get("error_code")
                log.info("history job %s: %s%s", query_id, status, f" ({code})" if code else "")
                last = status
            if status in ("finished", "failed"):
                self._ended()
                return data
            if job.left() <= 0:
                # It still holds a slot on Canvas: no start may count on its end.
                self._running = max(0, self._running - 1)
                raise HistoryWaitError(
                    f"history job {query_id} still {status} after {self.policy.job_wait:g} s "
                    "(--history-wait); run the same command again to poll it again"
                )
            await job.pause()

    def _ended(self) -> None:
        self._running = max(0, self._running - 1)
        self._last_end = self.clock()
        ended, self._job_ended = self._job_ended, anyio.Event()
        ended.set()

    # Download ------------------------------------------------------------------

    async def download(
        self,
        query: HistoryQuery,
        query_id: str,
        read: Callable[[AsyncIterator[bytes]], Awaitable[None]],
    ) -> bool:
        """Hand the result's bytes to ``read`` (no bytes for 204); False when it is gone.

        A file cut off or damaged mid-way is read again from the start (``read``
        must start over each time); an unusable one (400) is asked for once more.
        """

        async def whole(chunks: AsyncIterator[bytes]) -> None:
            try:
                await read(chunks)
            except DamagedExportError as exc:
                # Cut off or damaged mid-file: the result is still there.
                raise TransientError(f"history result of job {query_id}: {exc}") from None

        url = self.client.url(query_path(query, query_id) + "/results")
        return await self.client.download(url, whole, kind=RESULTS) is Outcome.OK


def _json(reply: Reply) -> dict[str, Any]:
    try:
        data = orjson.loads(reply.body)
    except orjson.JSONDecodeError:
        raise ProtocolError("Canvas answered a history call with something not JSON") from None
    return data if isinstance(data, dict) else {}
