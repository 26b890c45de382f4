"""The three calls of an export job (contract §9): start, poll, download, and their waits.

Two kinds of waiting, bounded differently:

- Canvas's request throttle (a 429, or a 403 "Rate Limit Exceeded") and faults
  (5xx, dropped connections) go through the one retry policy, as list pages do:
  a throttle uses up no try and is bounded by ``--retry-time``.
- The export service's own: a start answered 429 "rate limit exceeded" (this
  token's jobs still running) or 503 (the queue full), and a job queued or
  running. Neither is a failure; both are bounded by the history wait
  (``--history-wait``). A start waits while no job of this run ends; a job is
  polled until it ends or the wait is up, and then its users are named, the
  query id kept, so the next run polls the same job again.

Every change of a job's state is logged (``-v``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import Any, Final

import anyio
import orjson

from ..canvas.client import CanvasClient, Reply
from ..canvas.ratelimit import rate_limit_from_headers, retry_after_seconds
from ..canvas.responses import canvas_message, is_throttle
from ..errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    ThrottledError,
    TransientError,
)
from ..store import HistoryQuery
from .history_plan import poll_wait
from .history_rows import DamagedExportError
from .history_service import HistoryUnavailableError, absent_reason, history_404

log = logging.getLogger(__name__)

_BUCKET_THROTTLE: Final = b"Rate Limit Exceeded"  # Canvas's throttle body (contract §5)
_FAULTS: Final = frozenset({500, 502, 504})  # 503 on a start is the queue, not a fault
#: Seconds a job may stay queued or running, and a start wait for a slot (--history-wait).
DEFAULT_HISTORY_WAIT: Final = 1800.0


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
        poll_initial: float = 5.0,
        poll_cap: float = 60.0,
        wait: float = DEFAULT_HISTORY_WAIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.poll_initial, self.poll_cap, self.wait = poll_initial, poll_cap, wait
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
            with anyio.move_on_after(self.wait):
                await self._all_polled.wait()
            self.polled(*self._unpolled)
        began, tries, waiting = self.clock(), 0, False
        while True:
            reply = await self._call("POST", url, form, "history-start")
            if reply.status in (200, 201):
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
            if reply.status not in (429, 503):
                _refuse(reply)
            # The export service's own limits: jobs of this token still running (429),
            # or its queue full (503). Not failures: wait while none of ours ends.
            left = self.wait - (self.clock() - max(began, self._last_end))
            if left <= 0:
                busy = "this token's jobs still running" if reply.status == 429 else "queue full"
                raise HistoryWaitError(
                    f"history job not started: Canvas answered {busy} (HTTP {reply.status}) "
                    f"for {self.wait:g} s (--history-wait)"
                )
            if not waiting:
                log.info(
                    "history query of users %s waits for a free job slot "
                    "(HTTP %d, %d of ours running)",
                    ", ".join(map(str, query.users)),
                    reply.status,
                    self._running,
                )
                waiting = True
            tries += 1
            pause = min(left, poll_wait(tries, self.poll_initial, self.poll_cap, None))
            if reply.status == 429 and self._running:
                # Our own jobs hold the slots: the next to end frees one.
                with anyio.move_on_after(pause):
                    await self._job_ended.wait()
            else:
                await anyio.sleep(pause)

    # Poll ----------------------------------------------------------------------

    async def poll(self, query: HistoryQuery, query_id: str) -> dict[str, Any] | None:
        """Poll until the job ends; None when Canvas no longer knows it (start again)."""
        url = self.client.url(query_path(query, query_id))
        began, polls, last = self.clock(), 0, None
        while True:
            try:
                page = await self.client.get(url, kind="history-poll")
            except NotFoundError as exc:
                meaning = history_404(str(exc))
                if meaning != "query gone":
                    raise HistoryUnavailableError(absent_reason(str(exc))) from None
                log.info("history job %s: gone (expired or unknown)", query_id)
                self._ended()
                return None
            finally:
                if polls == 0:
                    self.polled(query_id)
            data = page.data if isinstance(page.data, dict) else {}
            status = data.get("status")
            if status != last:
                code = data.get("error_code")
                log.info("history job %s: %s%s", query_id, status, f" ({code})" if code else "")
                last = status
            if status in ("finished", "failed"):
                self._ended()
                return data
            waited = self.clock() - began
            if waited >= self.wait:
                # It still holds a slot on Canvas: no start may count on its end.
                self._running = max(0, self._running - 1)
                raise HistoryWaitError(
                    f"history job {query_id} still {status} after {self.wait:g} s "
                    "(--history-wait); run the same command again to poll it again"
                )
            pause = poll_wait(polls, self.poll_initial, self.poll_cap, None)
            await anyio.sleep(min(pause, self.wait - waited))
            polls += 1

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
        url = self.client.url(query_path(query, query_id) + "/results")
        unusable = 0
        async for attempt in self.client.retry.retrying(self._on_retry):
            with attempt:
                async with self.client.download(url, kind="history-results") as reply:
                    status = reply.status
                    if status in (400, 401, 403, 404, 429) or status >= 500:
                        body = await self.client.error_body(reply)
                        self._throttle_check(status, body, reply.headers)
                        message = canvas_message(body)
                        if status == 404:
                            if history_404(message) != "query gone":
                                raise HistoryUnavailableError(absent_reason(message))
                            return False
                        if status == 400:
                            # An unusable file (contract §9): asked again once, then a new job.
                            unusable += 1
                            if unusable > 1:
                                return False
                            raise TransientError(f"Canvas could not serve the file: {message}")
                        if status == 429:  # the page-view service's own limit (contract §6)
                            raise ThrottledError(f"rate limited by Canvas (HTTP 429: {message})")
                        if status in (401, 403):
                            _refuse(Reply(status, reply.headers, body))
                        raise TransientError(f"HTTP {status} from Canvas for a history result")
                    if status not in (200, 204):
                        raise ProtocolError(f"unexpected HTTP {status} for a history result")
                    try:
                        await read(reply.chunks if status == 200 else _nothing())
                    except DamagedExportError as exc:
                        # Cut off or damaged mid-file: the result is still there.
                        raise TransientError(f"history result of job {query_id}: {exc}") from None
                return True
        raise AssertionError("tenacity neither returned nor raised")  # pragma: no cover

    # One call through the retry policy --------------------------------------------

    async def _call(self, method: str, url: str, form: list[tuple[str, str]], kind: str) -> Reply:
        """One call; throttles and faults retried by the policy, any other reply returned."""
        async for attempt in self.client.retry.retrying(self._on_retry):
            with attempt:
                reply = await self.client.send(method, url, form, kind=kind)
                self._throttle_check(reply.status, reply.body, reply.headers)
                if reply.status in _FAULTS:
                    raise TransientError(f"HTTP {reply.status} from Canvas for a history call")
                return reply
        raise AssertionError("tenacity neither returned nor raised")  # pragma: no cover

    def _throttle_check(self, status: int, body: bytes, headers: Any) -> None:
        """Raise :class:`ThrottledError` when Canvas's request throttle refused the call.

        A 429 without Canvas's throttle body, while the bucket has room, is the
        export service's "jobs still running" (contract §9), not the bucket.
        """
        rate = rate_limit_from_headers(headers)
        if not is_throttle(status, body, rate) or (
            status == 429 and _BUCKET_THROTTLE not in body and (rate is None or rate.remaining > 0)
        ):
            return
        self.client.stats.throttled += 1
        self.client.gate.throttled(rate)
        raise ThrottledError(
            f"rate limited by Canvas (HTTP {status})", retry_after=retry_after_seconds(headers)
        )

    def _on_retry(self, exc: BaseException) -> None:
        self.client.stats.retries += 1


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover -- makes this an async generator


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
        if history_404(message) == "record missing":
            raise NotFoundError(message)  # maybe a user Canvas no longer knows
        raise HistoryUnavailableError(absent_reason(message))
    if reply.status in (401, 403):
        if message.lower().startswith(("invalid access token", "expired access token")):
            raise AuthenticationError(f"Canvas rejected the token: {message}")
        raise PermissionDeniedError(message)
    if reply.status == 400:
        raise BadRequestError(f"Canvas refused the history query: {message}")
    raise ProtocolError(f"unexpected HTTP {reply.status} starting a history query: {message}")
