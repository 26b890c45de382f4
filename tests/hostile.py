"""Small hostile Canvas servers: just enough of the API, with one misbehaviour each.

A :class:`Hostile` serves ``users/self``, one course (1693), its roster and each
user's page views in pv4's shape (docs/canvas.md#pagination, #late-views): pages
of ``per_page`` records newest first, a ``next`` link on every non-empty page, an
empty last page. A test passes ``reply`` to answer a page-view request its own
way; :meth:`Served.normal` is what a well-behaved Canvas would send.
:func:`run_cli` drives the real command line against it.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import anyio
import orjson
import pytest
from aiohttp import web

from pageviews.cli import main

TOKEN = "hostile-secret-token-7Qx2"
COURSE = 1693
ME = 1
RANGE_ARGS = ["--start_time", "2015-01-26", "--end_time", "2015-03-12"]
_NEWEST = datetime(2015, 2, 20, 12, 0, 0, tzinfo=UTC)


def views(user: int, count: int, *, course: int = COURSE) -> list[dict[str, Any]]:
    """``count`` page views of ``user`` in ``course``, newest first, a minute apart."""
    return [
        {
            "id": f"{user}-{n}",
            "url": f"https://canvas.example.edu/courses/{course}/pages/{n % 7}",
            "context_type": "Course",
            "interaction_seconds": 1.5,
            "created_at": (_NEWEST - timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "links": {"user": user, "context": course, "asset": None, "account": 1},
        }
        for n in range(count)
    ]


@dataclass
class Served:
    """One page-view request as a pv4 Canvas would answer it."""

    request: web.Request
    user: str  # as it appears in the URL
    page: int  # 1-based
    rows: list[dict[str, Any]]
    next_url: str | None
    link: str  # current, next (when there is one) and first, comma-joined

    def normal(self, **headers: str) -> web.Response:
        """The well-behaved answer, with extra ``headers``."""
        return web.json_response(self.rows, headers={"Link": self.link, **headers})


Reply = Callable[[Served], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Hostile:
    """A Canvas serving ``users``' page views; ``reply`` answers every page-view request."""

    users: Mapping[int, list[dict[str, Any]]]
    # Canvas's clamp (docs/canvas.md#link-per-page); the request's per_page if smaller
    per_page: int = 100
    links_per_page: bool = True  # links name the applied per_page, as Canvas's do
    reply: Reply | None = None
    roster: list[Any] | dict[str, Any] | None = None  # replaces the enrollments body
    whoami: Handler | None = None  # replaces the users/self answer
    history: Handler | None = None  # answers the History API's calls (404 without it)
    base_url: str = ""
    asked: list[str] = field(default_factory=list)  # page-view request paths with query

    def size(self, request: web.Request) -> int:
        """The page size applied to ``request``: what it asked for, clamped.

        A server whose links do not name it pages by ``per_page`` whatever is asked.
        """
        if not self.links_per_page:
            return self.per_page
        return min(self.per_page, int(request.query.get("per_page", "10")))

    def page_url(self, request: web.Request, page: int) -> str:
        """Page ``page`` of the list ``request`` reads (same user and time bounds).

        Like Canvas, the link carries the page size applied, not the one asked for
        (docs/canvas.md#link-per-page), unless ``links_per_page`` is off.
        """
        bounds = {k: v for k, v in request.query.items() if k in ("start_time", "end_time")}
        sized = {"per_page": self.size(request)} if self.links_per_page else {}
        query = urlencode({**bounds, "page": page, **sized})
        return f"{self.base_url}{request.path}?{query}"

    def served(self, request: web.Request) -> Served:
        user, page = request.match_info["user"], int(request.query.get("page", "1"))
        size = self.size(request)
        start, end = request.query.get("start_time", ""), request.query.get("end_time", "~")
        # Bounds are inclusive (docs/canvas.md#time-bounds); a record without a time is always
        # served.
        rows = [
            r for r in self.users.get(int(user), []) if start <= r.get("created_at", start) <= end
        ]
        rows = rows[(page - 1) * size : page * size]
        next_url = self.page_url(request, page + 1) if rows else None
        links = [f'<{self.page_url(request, page)}>; rel="current"']
        links += [f'<{next_url}>; rel="next"'] if next_url else []
        links += [f'<{self.page_url(request, 1)}>; rel="first"']
        return Served(request, user, page, rows, next_url, ",".join(links))

    async def page_views(self, request: web.Request) -> web.StreamResponse:
        self.asked.append(request.path_qs)
        if int(request.match_info["user"]) not in self.users:
            return web.json_response({"errors": [{"message": "not found"}]}, status=404)
        served = self.served(request)
        return await self.reply(served) if self.reply else served.normal()

    async def enrollments(self, request: web.Request) -> web.Response:
        body = self.roster
        if body is None:
            body = [
                {"user_id": user, "type": "StudentEnrollment", "user": {"name": f"User {user}"}}
                for user in self.users
            ]
        return web.json_response(body)

    def app(self) -> web.Application:
        app = web.Application()

        async def me(request: web.Request) -> web.StreamResponse:
            if self.whoami:
                return await self.whoami(request)
            return web.json_response({"id": ME, "name": "Admin"})

        async def course(request: web.Request) -> web.Response:
            return web.json_response({"id": COURSE, "name": "Hostile"})

        app.router.add_get("/api/v1/users/self", me)
        app.router.add_get("/api/v1/courses/{course}", course)
        app.router.add_get("/api/v1/courses/{course}/enrollments", self.enrollments)
        app.router.add_get("/api/v1/users/{user}/page_views", self.page_views)

        async def history(request: web.Request) -> web.StreamResponse:
            if self.history is None:
                return web.json_response({"errors": [{"message": "not found"}]}, status=404)
            return await self.history(request)

        app.router.add_route("*", "/api/v1/users/page_views/query{rest:.*}", history)
        app.router.add_route("*", "/api/v1/users/{user}/page_views/query{rest:.*}", history)
        return app


# Misbehaviours, each a Reply for every request of user 12 (others are answered normally).


def user_12(answer: Reply) -> Reply:
    """Answer user 12's page-view requests with ``answer``, everyone else's normally."""

    async def reply(served: Served) -> web.StreamResponse:
        return await answer(served) if served.user == "12" else served.normal()

    return reply


def gone_on_page(page: int) -> Reply:
    """404 on page ``page`` of user 12's page views."""

    async def answer(served: Served) -> web.StreamResponse:
        if served.page == page:
            return web.json_response({"errors": [{"message": "gone"}]}, status=404)
        return served.normal()

    return user_12(answer)


def throttled(retry_after: str) -> Reply:
    """429 with ``Retry-After: retry_after`` on every request of user 12."""

    async def answer(served: Served) -> web.StreamResponse:
        return web.Response(status=429, text="slow down", headers={"Retry-After": retry_after})

    return user_12(answer)


def gzip_bomb(inflated_mib: int) -> bytes:
    """A gzip body that inflates to ``inflated_mib`` MiB of JSON-ish blanks."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    blanks = b" " * 2**20
    parts = [packer.compress(b"[")]
    parts += [packer.compress(blanks) for _ in range(inflated_mib)]
    return b"".join([*parts, packer.compress(b"]"), packer.flush()])


def inflating(inflated_mib: int) -> Reply:
    """User 12's pages come as a small gzip body inflating to ``inflated_mib`` MiB."""
    bomb = gzip_bomb(inflated_mib)
    assert len(bomb) < inflated_mib * 2**20 // 500  # it does inflate hugely

    async def answer(served: Served) -> web.StreamResponse:
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return web.Response(body=bomb, headers=headers)

    return user_12(answer)


def oversized(mib: int, *, chunked: bool) -> Reply:
    """User 12's pages padded to ``mib`` MiB, with a Content-Length or chunked without one."""
    body = b"[" + b" " * (mib * 2**20) + b"]"

    async def answer(served: Served) -> web.StreamResponse:
        if not chunked:
            return web.Response(body=body, content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(served.request)
        for start in range(0, len(body), 2**16):
            await response.write(body[start : start + 2**16])
        return response

    return user_12(answer)


async def trickling(served: Served) -> web.StreamResponse:
    """User 12's page in one byte every 50 ms after the headers, for about 2 s."""
    if served.user != "12":
        return served.normal()
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(served.request)
    for _ in range(40):
        await response.write(b" ")
        await anyio.sleep(0.05)  # the server's pace, not synchronisation
    await response.write(orjson.dumps(served.rows))
    return response


def linking(netloc: str) -> Reply:
    """A next link to ``http://<netloc>/...``, ``{port}`` being the server's own port."""

    async def reply(served: Served) -> web.StreamResponse:
        port = served.request.url.port
        bad = f"http://{netloc.format(port=port)}{served.request.path}?page=2"
        return served.normal(Link=f'<{bad}>; rel="next"')

    return reply


async def as_object(served: Served) -> web.StreamResponse:
    """The page's records wrapped in an object, where Canvas sends a list."""
    return web.json_response({"page_views": served.rows})


def unusable_records(count: int) -> list[dict[str, Any]]:
    """User 11's ``count`` views, the first five without a usable id or created_at."""
    records = views(11, count)
    for record in records[:3]:
        record["id"] = None
    del records[3]["id"]
    del records[4]["created_at"]
    return records


@asynccontextmanager
async def serving(canvas: Hostile) -> AsyncIterator[Hostile]:
    """Serve ``canvas`` on a free port of 127.0.0.1 until the block exits."""
    runner = web.AppRunner(canvas.app(), access_log=None, handler_cancellation=True)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        canvas.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        yield canvas
    finally:
        await runner.cleanup()


@dataclass(frozen=True)
class Outcome:
    """What a command-line run left: exit code, stderr and the user report's rows."""

    code: int
    err: str
    out_dir: Path

    def rows(self) -> dict[int, int]:
        """Report rows per user, from the user-pageviews JSON report."""
        counts: dict[int, int] = {}
        for path in self.out_dir.glob("user-pageviews_*.json"):
            for row in json.loads(path.read_text())["data"]:
                counts[row["user_id"]] = counts.get(row["user_id"], 0) + 1
        return counts


async def run_cli(
    canvas: Hostile, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> Outcome:
    """Harvest course 1693 from ``canvas`` with the real command line, fast retries.

    Throttles are retried until ``--retry-time`` (2 s here), not ``--retries``.
    """
    token = tmp_path / "token.txt"
    token.write_text(TOKEN)
    token.chmod(0o600)
    out = tmp_path / "out"
    argv = [str(COURSE), *RANGE_ARGS, "--base-url", canvas.base_url, "--token-file", str(token),
            "--out-dir", str(out), "--retry-base-wait", "0.01", "--retry-max-wait", "0.02",
            "--retries", "3", "--retry-time", "2", *extra]  # fmt: skip
    code = await anyio.to_thread.run_sync(main, argv)
    return Outcome(code, capsys.readouterr().err, out)
