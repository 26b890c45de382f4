"""The aiohttp application: moves bytes and applies throttle, latency and faults.

Each request passes, in order: the SSO-page switch, the throttle's up-front
charge (as Canvas's outermost middleware), latency, authentication, faults, the
pure endpoint in `api.py`, and the throttle's settlement with its headers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import urlencode

import anyio
from aiohttp import web

from . import replies
from .api import ApiRequest, handle, page_views_user, route
from .faults import FaultKind, decide_fault, fault_reply, mangle_links, truncate
from .history_api import HistoryRequest, handle_history
from .history_routes import history_route, request_params
from .observe import CLIENT_CLOSED, HistoryCall, RequestRecord
from .replies import Reply
from .throttle import LeakyBucket, throttled_body

if TYPE_CHECKING:
    from .server import FakeCanvas

_THROTTLE_FAULTS: Final = frozenset(
    {FaultKind.THROTTLE_403, FaultKind.THROTTLE_429, FaultKind.THROTTLE_429_RETRY_AFTER}
)


class _Note:
    """Collect what a request did, for its `RequestRecord`."""

    status = CLIENT_CLOSED
    user_id: int | None = None
    fault: FaultKind | None = None
    throttled = False
    token_ok = False
    history: HistoryCall | None = None


def build_app(fake: FakeCanvas) -> web.Application:
    """Return the aiohttp application serving `fake`."""

    async def dispatch(request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/__fake__/"):
            return _control(fake, request)
        started = fake.clock()
        fake.in_flight += 1
        in_flight = fake.in_flight
        fake.stats.peak_in_flight = max(fake.stats.peak_in_flight, in_flight)
        note = _Note()
        try:
            return await _serve(fake, request, note)
        finally:
            fake.in_flight -= 1
            record = RequestRecord(
                request.method,
                request.path,
                _logged_query(request),
                note.status,
                note.user_id,
                note.fault,
                note.throttled,
                note.token_ok,
                started,
                fake.clock(),
                in_flight,
                note.history,
            )
            fake.record(record)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


_SECRETS: Final = ("access_token", "api_key")


def _logged_query(request: web.Request) -> str:
    """Return the query string for the log, with credentials redacted."""
    if not any(k in request.query for k in _SECRETS):
        return request.query_string
    return urlencode([(k, "REDACTED" if k in _SECRETS else v) for k, v in request.query.items()])


def _control(fake: FakeCanvas, request: web.Request) -> web.Response:
    """Serve the unauthenticated observability endpoints under /__fake__/."""
    if request.path == "/__fake__/stats":
        data: object = fake.stats.to_json()
    elif request.path == "/__fake__/requests":
        since = int(request.query.get("since", "0") or 0)
        data = [r.to_json() for r in fake.requests[since:]]
    else:
        return _response(replies.not_found())
    return _response(replies.json_reply(data))


def _number(value: float) -> str:
    """Format a header number like Ruby's Float#to_s, without binary noise."""
    return repr(round(value, 6))


def _token(request: web.Request) -> str | None:
    """Return the access token: Bearer header first, then `access_token`
    (docs/canvas.md#authentication)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query.get("access_token") or None


async def _delay(fake: FakeCanvas) -> None:
    config = fake.config
    seconds = config.latency + config.latency_jitter * fake.jitter.random()
    if seconds > 0:
        await anyio.sleep(seconds)


async def _serve(fake: FakeCanvas, request: web.Request, note: _Note) -> web.StreamResponse:
    config = fake.config
    if config.html_everywhere:
        await _delay(fake)
        return await _send(
            fake, request, replies.Reply(200, replies.LOGIN_PAGE, replies.HTML), note
        )
    token = _token(request)
    note.user_id = page_views_user(fake.world, request.path, fake.world.token_user(token or ""))
    if note.user_id is not None and (held := fake.held) is not None:
        await held.wait()
    throttle = config.throttle
    if token is None or throttle is None:
        await _delay(fake)
        reply = await _respond(fake, request, token, note)
        return await _send(fake, request, reply, note)
    bucket = fake.buckets.setdefault(token, LeakyBucket())
    if not bucket.reserve(throttle, fake.clock()):
        # The refused request still settles: its charge is refunded, its own cost stays.
        bucket.settle(throttle, throttle.cost(0), fake.clock())
        note.throttled = True
        # Canvas answers a refusal at once: its headers show the bucket at the refusal.
        reply = replies.text_reply(throttle.status, throttled_body(throttle.status))
        reply.headers["X-Rate-Limit-Remaining"] = _number(bucket.remaining(throttle))
        if throttle.retry_after:
            reply.headers["Retry-After"] = str(bucket.wait(throttle))
        await _delay(fake)
        return await _send(fake, request, reply, note)
    try:
        await _delay(fake)
        reply = await _respond(fake, request, token, note)
    except BaseException:
        # Settled even when the client goes away, like the `ensure` in reserve_capacity.
        bucket.settle(throttle, throttle.cost(0), fake.clock())
        raise
    cost = throttle.cost(reply.items) + reply.extra_cost
    bucket.settle(throttle, cost, fake.clock())
    if note.fault not in _THROTTLE_FAULTS:
        reply.headers["X-Request-Cost"] = _number(cost)
        reply.headers["X-Rate-Limit-Remaining"] = _number(bucket.remaining(throttle))
    return await _send(fake, request, reply, note)


async def _respond(fake: FakeCanvas, request: web.Request, token: str | None, note: _Note) -> Reply:
    world, config = fake.world, fake.config
    if token is None:
        return replies.unauthenticated()
    caller = world.token_user(token)
    if caller is None:
        return replies.invalid_token()
    note.token_ok = True
    query = tuple(request.query.items())
    history = history_route(request.method, request.path)
    if history is not None:  # no injected faults here: HistoryConfig has its own
        plain = tuple((k, v) for k, v in query if k not in _SECRETS)
        body = await request.read() if request.method == "POST" else b""
        params = request_params(plain, request.content_type, body)
        now = config.now or datetime.now(UTC)
        asked = HistoryRequest(history, params, caller, now)
        reply, note.history = handle_history(world, config, fake.history_jobs, asked)
        return reply
    found = route(request.path)
    faults = config.faults
    is_page_views = found is not None and found[0] == "page_views"
    if is_page_views and note.user_id in faults.missing_users:
        return replies.not_found()  # as for a deleted user
    if is_page_views and note.user_id in faults.refused_users:
        return replies.unauthorized(config.auth_error_status)  # outside the admin's accounts
    if is_page_views and note.user_id in faults.broken_users:
        return replies.errors_reply(500, "An error occurred.", error_report_id=4243)
    later_page = request.query.get("page") not in (None, "first", "1")
    if is_page_views and later_page and note.user_id in faults.broken_after_first_users:
        return replies.errors_reply(500, "An error occurred.", error_report_id=4244)
    fault = None
    if found is not None and (is_page_views or faults.targets == "all"):
        kept = [(k, v) for k, v in query if k not in _SECRETS]
        key = f"{request.path}?{urlencode(kept)}"
        n = fake.fault_counts.get(key, 0)
        fake.fault_counts[key] = n + 1
        fault = decide_fault(faults, key, n)
    note.fault = fault
    if fault is not None:
        canned = fault_reply(fault)
        if canned is not None:
            return canned
        if fault is FaultKind.STALL:
            await anyio.sleep(faults.stall_seconds)
    now = config.now or datetime.now(UTC)
    origin = f"{request.scheme}://{request.host}"
    reply = handle(world, config, ApiRequest(request.path, query, origin, caller, now))
    if is_page_views and note.user_id in faults.foreign_link_users:
        page = request.query.get("page")
        target = reply.next_link()
        if target and page in (None, "first", "1") and target.startswith(origin):
            reply.replace_next(faults.foreign_origin + target.removeprefix(origin))
    if fault is not None:
        mangle_links(fault, reply)
    return reply


async def _send(
    fake: FakeCanvas, request: web.Request, reply: Reply, note: _Note
) -> web.StreamResponse:
    note.status = reply.status
    if reply.stream is not None:
        return await _stream(fake, request, reply)
    body = reply.body
    if note.fault is FaultKind.TRUNCATED_JSON:
        body = truncate(body)
    if note.fault is not FaultKind.RESET:
        return _response(reply, body)
    # Full Content-Length, half the body, then drop the connection.
    response = web.StreamResponse(status=reply.status, headers=reply.all_headers())
    response.content_type = reply.content_type
    response.charset = "utf-8"
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    if request.transport is not None:
        request.transport.abort()
    return response


async def _stream(fake: FakeCanvas, request: web.Request, reply: Reply) -> web.StreamResponse:
    """Write a streamed body chunk by chunk (chunked transfer, no Content-Length)."""
    response = web.StreamResponse(status=reply.status, headers=reply.all_headers())
    response.content_type = reply.content_type
    await response.prepare(request)
    if request.method != "HEAD" and reply.stream is not None:
        how, left = reply.cut or ("", -1)
        for chunk in reply.stream:
            if 0 <= left < len(chunk):
                await response.write(chunk[:left])
                break
            await response.write(chunk)
            left -= len(chunk)
        if how == "drop" and request.transport is not None:
            request.transport.abort()
            return response
        if how == "stall":
            fake.stall_began()
            await anyio.sleep_forever()  # until the fake shuts down and cancels it
    await response.write_eof()
    return response


def _response(reply: Reply, body: bytes | None = None) -> web.Response:
    response = web.Response(
        status=reply.status, body=reply.body if body is None else body, headers=reply.all_headers()
    )
    response.content_type = reply.content_type
    response.charset = "utf-8"
    return response
