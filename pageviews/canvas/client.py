"""A thin Canvas client around one injected ``aiohttp.ClientSession``.

It moves bytes and hands them to the pure code: :func:`~pageviews.canvas.outcomes.classify`
for meaning, the retry policy for persistence, the gate for concurrency. It alone
counts requests, throttles and retries (:class:`ClientStats`) and tells the gate.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
import anyio
from yarl import URL

from ..errors import (
    NotFoundError,
    ProtocolError,
    ThrottledError,
    UsageError,
)
from .cpuload import CpuLoad
from .failures import failure
from .limiter import AdaptiveLimit, Gate
from .links import check_same_origin
from .outcomes import LIST, RESULTS, Answer, Call, Outcome, classify
from .pagination import PER_PAGE, walk
from .ratelimit import RateLimit, rate_limit_from_headers
from .responses import Page, decipher
from .retry import RetryPolicy, is_retryable
from .transport import body_chunks, error_head, nothing, read_capped, transport_errors

Chunks = AsyncIterator[bytes]
#: Takes a download's body, a chunk at a time; starts over on each call.
Reader = Callable[[Chunks], Awaitable[None]]

#: A page of 100 views is about 60 KB; a read buffer that holds it whole takes it in
#: fewer reads than aiohttp's 64 KiB default (about a third less client CPU a request).
READ_BUFFER = 256 * 1024
#: The most requests in flight. Hosted Canvas's rate-limit headers hold the adaptive
#: limit near 11 anyway (12 up-front charges of 50 fill a 600 bucket); this ceiling
#: matters where Canvas sends no such headers (throttling off), where latency decides.
DEFAULT_CONCURRENCY = 32
#: The largest response body read: a page of 100 page views is about 60 KB, so this is
#: generous headroom, and it bounds memory against a runaway or inflating body.
DEFAULT_MAX_BODY = 16 * 2**20
#: Seconds one request may take, body included, before it is retried.
DEFAULT_TIMEOUT = 60.0
#: aiohttp's own timeouts are off (its session default cuts at 300 s): the deadline rules.
_NO_AIOHTTP_TIMEOUT = aiohttp.ClientTimeout(total=None)
#: What the retry policy retries: the bucket full, or a fault.
_RETRIED = frozenset({Outcome.THROTTLED, Outcome.FAULT})
_OK_BODIES = frozenset({200, 204})  # a download's success, and its empty one


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply read whole, its meaning and its body (token scrubbed)."""

    answer: Answer
    body: bytes


@dataclass(slots=True)
class ClientStats:
    """Counters a progress display or benchmark reads."""

    requests: int = 0
    pages: int = 0
    throttled: int = 0
    retries: int = 0
    faults: int = 0


def normalize_base_url(value: str, *, allow_http: bool = False) -> str:
    """Validate a Canvas base URL and return it as ``scheme://host[:port]``."""
    text = value.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"base URL {value!r} needs a scheme and host, e.g. https://canvas.example.edu"
        )
    if parts.path or parts.query or parts.fragment:
        raise UsageError(
            f"base URL {value!r} must be only scheme and host (no path such as /api/v1)"
        )
    if parts.username or parts.password:
        raise UsageError("base URL must not carry credentials")
    loopback = parts.hostname in ("localhost", "::1") or parts.hostname.startswith("127.")
    if parts.scheme == "http" and not (loopback or allow_http):
        raise UsageError(
            f"refusing to send the token over plain http to {parts.hostname}; "
            "use https (or --allow-http if you really mean it)"
        )
    return f"{parts.scheme}://{parts.netloc}"


class CanvasClient:
    """Canvas REST calls the harvester needs, with retries, throttling and paging."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        token: str,
        *,
        retry: RetryPolicy | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: float = DEFAULT_TIMEOUT,
        adaptive: bool = True,
        max_body: int = DEFAULT_MAX_BODY,
        load: CpuLoad | None = None,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._token = token.encode()
        self.retry = retry or RetryPolicy()
        # adaptive=False pins the limit at ``concurrency``: a static pool, for comparison.
        if adaptive:
            self.gate = Gate(AdaptiveLimit(ceiling=concurrency))
        else:
            self.gate = Gate(AdaptiveLimit(ceiling=concurrency, initial=concurrency, frozen=True))
        self.stats = ClientStats()
        # Whether this thread is CPU bound, which stops chains being cut (spare_capacity).
        self.load = load or CpuLoad()
        # One deadline for the whole request, body included (a cancel scope at the call
        # site, see _get_once): a per-read timeout never fires on a body that trickles.
        self.deadline = timeout
        self.max_body = max_body

    def spare_capacity(self) -> int:
        """Requests that could start now with nobody waiting for them (for splitting).

        None while this process's CPU is saturated: more requests in flight would only
        queue behind the pages it is already parsing and storing.
        """
        return 0 if self.load.saturated() else self.gate.spare

    @property
    def retry_attempts(self) -> int:
        """How many tries one request gets."""
        return self.retry.attempts

    def url(self, path: str, params: Sequence[tuple[str, str | int]] = ()) -> str:
        """An absolute URL on the configured Canvas for ``path`` and query ``params``."""
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.base_url}{path}{query}"

    async def get(self, url: str, *, attempts: int | None = None, kind: Call = LIST) -> Page:
        """GET one URL on the Canvas origin, retrying transient failures."""
        check_same_origin(url, self.base_url)
        began = time.monotonic()
        try:
            # Nearly every request succeeds at once: tenacity is set up only for a retry.
            return await self._get_once(url, kind)
        except Exception as exc:
            if not is_retryable(exc):
                raise
            failed = [exc]
        policy = self.retry if attempts is None else self.retry.with_attempts(attempts)
        async for attempt in policy.retrying(self._on_retry, began=began):
            with attempt:
                if failed:
                    # The first try's failure, counted and waited out as tenacity's own.
                    raise failed.pop()
                return await self._get_once(url, kind)
        raise AssertionError("tenacity neither returned nor raised")  # pragma: no cover

    def _on_retry(self, exc: BaseException) -> None:
        self.stats.retries += 1

    async def _get_once(self, url: str, kind: Call = LIST) -> Page:
        async with self.gate.slot(kind):
            self.stats.requests += 1
            with transport_errors(self.base_url, self.deadline), anyio.fail_after(self.deadline):
                async with self.session.get(
                    URL(url, encoded=True),
                    headers=self._headers,
                    allow_redirects=False,
                    timeout=_NO_AIOHTTP_TIMEOUT,
                    read_bufsize=READ_BUFFER,
                ) as response:
                    body = await read_capped(response, self.max_body)
                    status, headers = response.status, response.headers
            if not 200 <= status < 300:
                # Error text reaches stderr and the store; some proxies echo the request's
                # Authorization header into it.
                body = self._redact(body)
            try:
                page = decipher(status, headers, body, url, kind)
            except ThrottledError:
                self._throttled(rate_limit_from_headers(headers))
                raise
            if page.next_url is not None:
                # Refused here, before the page is returned: a refused link is never stored.
                check_same_origin(page.next_url, self.base_url)
            self.gate.observe(page.rate, kind)
            self.stats.pages += 1
            return page

    def _throttled(self, rate: RateLimit | None) -> None:
        """Count a reply of Canvas's request throttle, and tell the gate."""
        self.stats.throttled += 1
        self.gate.throttled(rate)

    def _judged(self, answer: Answer, call: Call) -> Answer:
        """``answer``, counted; raised when the policy retries it (a throttle or a fault)."""
        if answer.outcome is Outcome.THROTTLED:
            self._throttled(answer.rate)
        if answer.outcome in _RETRIED:
            raise failure(answer, call)
        return answer

    async def post(self, url: str, form: Sequence[tuple[str, str]], *, kind: Call) -> Reply:
        """POST a form, retrying throttles and faults; any other reply is returned, classified.

        For the History API, whose 429 and 503 on a start mean "jobs still running"
        and "queue full" (docs/canvas.md#history-api), which the caller waits out.
        """
        check_same_origin(url, self.base_url)
        async for attempt in self.retry.retrying(self._on_retry):
            with attempt:
                return await self._post_once(url, form, kind)
        raise AssertionError("tenacity neither returned nor raised")  # pragma: no cover

    async def _post_once(self, url: str, form: Sequence[tuple[str, str]], kind: Call) -> Reply:
        async with self.gate.slot(kind):
            self.stats.requests += 1
            with transport_errors(self.base_url, self.deadline), anyio.fail_after(self.deadline):
                async with self.session.post(
                    URL(url, encoded=True),
                    headers=self._headers,
                    data=list(form) or None,
                    allow_redirects=False,
                    timeout=_NO_AIOHTTP_TIMEOUT,
                ) as response:
                    body = await read_capped(response, self.max_body)
                    status, headers = response.status, response.headers
            self.gate.observe(rate_limit_from_headers(headers), kind)
        body = self._redact(body)
        return Reply(self._judged(classify(kind, status, headers, body), kind), body)

    def _redact(self, body: bytes) -> bytes:
        """``body`` with the token replaced: error text reaches stderr and the store."""
        return body.replace(self._token, b"[token]")

    async def download(self, url: str, read: Reader, *, kind: Call = RESULTS) -> Outcome:
        """Stream one GET's body into ``read``, retried as the policy says; how it ended.

        ``OK`` once ``read`` took the whole body (no bytes for a 204); ``GONE`` when
        Canvas no longer has it; ``BAD_REQUEST`` when it was unusable twice (asked
        once more first, docs/canvas.md#history-files). ``read`` must start over
        each time: a :class:`TransientError` it raises (a body cut off) is retried.

        The chunks are the bytes as sent, gzip or not (the caller sniffs it). The
        deadline applies to each chunk, not the whole file: a large file takes
        long, a stalled one does not.
        """
        check_same_origin(url, self.base_url)
        unusable = 0
        async for attempt in self.retry.retrying(self._on_retry):
            with attempt:
                async with self._stream(url, kind) as (answer, chunks):
                    if answer.outcome is Outcome.OK:
                        await read(chunks)
                    elif answer.outcome is Outcome.BAD_REQUEST and unusable == 0:
                        unusable += 1
                        raise failure(answer, kind)
                    elif answer.outcome not in (Outcome.GONE, Outcome.BAD_REQUEST):
                        raise failure(answer, kind)
                return answer.outcome
        raise AssertionError("tenacity neither returned nor raised")  # pragma: no cover

    @asynccontextmanager
    async def _stream(self, url: str, kind: Call) -> AsyncIterator[tuple[Answer, Chunks]]:
        """One try of a download: its reply classified, and its body's chunks when a success."""
        async with self.gate.slot(kind):
            self.stats.requests += 1
            with transport_errors(self.base_url, self.deadline):
                with anyio.fail_after(self.deadline):
                    response = await self.session.get(
                        URL(url, encoded=True),
                        headers={**self._headers, "Accept-Encoding": "gzip"},
                        allow_redirects=False,
                        timeout=_NO_AIOHTTP_TIMEOUT,
                        read_bufsize=READ_BUFFER,
                        # The caller inflates gzip itself: aiohttp passes a gzip stream cut
                        # short off as a whole body, and would inflate it unbounded.
                        auto_decompress=False,
                    )
                try:
                    status, headers = response.status, response.headers
                    self.gate.observe(rate_limit_from_headers(headers), kind)
                    chunks = nothing()
                    if status == 200:
                        chunks = body_chunks(response, self.deadline)
                    if status in _OK_BODIES:
                        answer = classify(kind, status, headers, b"")
                    else:
                        body = self._redact(await error_head(response, self.deadline))
                        answer = self._judged(classify(kind, status, headers, body), kind)
                    yield answer, chunks
                finally:
                    response.release()

    # Endpoints ----------------------------------------------------------------

    async def whoami(self) -> dict[str, Any]:
        """The token's own user (``GET /api/v1/users/self``); checks the token first of all."""
        page = await self.get(self.url("/api/v1/users/self"), attempts=min(3, self.retry.attempts))
        return _object(page)

    async def course(self, course: str | int) -> dict[str, Any]:
        """The course by numeric id or ``sis_course_id:...``."""
        try:
            page = await self.get(self.url(f"/api/v1/courses/{quote(str(course), safe=':')}"))
        except NotFoundError:
            raise NotFoundError(f"course {course} not found on {self.base_url}") from None
        return _object(page)

    def enrollments_url(
        self,
        course_id: int,
        types: Sequence[str] | None = None,
        states: Sequence[str] | None = None,
    ) -> str:
        """The first page of the course's enrollments (docs/canvas.md#roster)."""
        params: list[tuple[str, str | int]] = [("per_page", PER_PAGE)]
        params += [("type[]", t) for t in types or ()]
        params += [("state[]", s) for s in states or ()]
        return self.url(f"/api/v1/courses/{course_id}/enrollments", params)

    def enrollments(
        self,
        course_id: int,
        types: Sequence[str] | None = None,
        states: Sequence[str] | None = None,
    ) -> AsyncIterator[Page]:
        """Pages of the course's enrollments, following ``rel="next"``."""
        return walk(self, self.enrollments_url(course_id, types, states))

    def account_courses(self, account: str, term: str | None) -> AsyncIterator[Page]:
        """Pages of an account's courses, in one enrollment term when ``term`` is given.

        ``GET /api/v1/accounts/:id/courses`` (AccountsController#courses_api) lists the
        account's and its sub-accounts' courses, all but deleted ones.
        """
        params: list[tuple[str, str | int]] = [("per_page", PER_PAGE)]
        if term is not None:
            params.append(("enrollment_term_id", term))
        return walk(self, self.url(f"/api/v1/accounts/{account}/courses", params))

    async def account_known(self, account: str) -> bool:
        """Whether Canvas knows the account: its course list, in any term, is not a 404."""
        try:
            await self.get(self.url(f"/api/v1/accounts/{account}/courses", [("per_page", 1)]))
        except NotFoundError:
            return False
        return True

    def page_views_url(self, user_id: int, start: str, end: str) -> str:
        """The first page of a user's page views in ``[start, end]`` (UTC, explicit ``Z``).

        The bounds go to Canvas as given, and Canvas compares them with its full
        sub-second times: for whole seconds through ``end``, pass
        :func:`~pageviews.timerange.request_bounds` of them (docs/canvas.md#subsecond-times).
        """
        params: list[tuple[str, str | int]] = [
            ("start_time", start),
            ("end_time", end),
            ("per_page", PER_PAGE),
        ]
        return self.url(f"/api/v1/users/{user_id}/page_views", params)

    def page_views(self, user_id: int, start: str, end: str) -> AsyncIterator[Page]:
        """Pages of one user's page views, newest first; bounds as :meth:`page_views_url`."""
        return walk(self, self.page_views_url(user_id, start, end))


def _object(page: Page) -> dict[str, Any]:
    if not isinstance(page.data, dict) or "id" not in page.data:
        raise ProtocolError(f"expected a JSON object with an id from {urlsplit(page.url).path}")
    return page.data
