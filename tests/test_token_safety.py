"""The token goes only to the configured Canvas and never into anything we print or write."""

from __future__ import annotations

import gzip
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from functools import partial
from pathlib import Path

import anyio
import orjson
import pytest
from aiohttp import web

from pageviews import UnsafeLinkError
from pageviews.cli import main
from pageviews.testing import FakeConfig, FaultConfig, World, expected_reports, serve

from .cli_process import FAST_RETRIES, SEED_ARGS, start_cli, write_token
from .harvesting import END, START, STUDENTS, harvest
from .hostile import TOKEN, Handler, Hostile, Reply, Served, run_cli, serving, views

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def trap() -> AsyncIterator[tuple[str, list[str]]]:
    """A server on another origin that records every Authorization header it is sent."""
    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.json_response([])

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


async def test_link_to_another_origin_is_refused(small_world: World, tmp_path: Path) -> None:
    async with trap() as (foreign, seen):
        faults = FaultConfig(
            foreign_link_users=frozenset(small_world.user_ids), foreign_origin=foreign
        )
        async with serve(small_world, FakeConfig(faults=faults)) as canvas:
            with pytest.raises(UnsafeLinkError, match="another origin"):
                await harvest(canvas, tmp_path)
    assert seen == []


def scan(directory: Path, token: str, keep: str = "oauthtoken.txt") -> list[str]:
    """Files under ``directory`` (but the user's own token file, ``keep``) holding the token."""
    hits = []
    for path in directory.rglob("*"):
        if path.is_file() and path.name != keep and token.encode() in path.read_bytes():
            hits.append(str(path))
    return hits


async def test_token_appears_in_no_output_and_no_file(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = small_world.admin_token
    token_file = write_token(tmp_path, token)
    printed: list[str] = []

    async def run(config: FakeConfig, *extra: str) -> int:
        # Each fake listens on a new port, a new origin, so each run gets its own directory.
        out = tmp_path / f"out{len(printed)}"
        async with serve(small_world, config) as canvas:
            argv = [*SEED_ARGS, "--base-url", canvas.base_url, "--token-file", str(token_file),
                    "--out-dir", str(out), "-v", *FAST_RETRIES, *extra]  # fmt: skip
            code = await anyio.to_thread.run_sync(main, argv)
        captured = capsys.readouterr()
        printed.extend([captured.out, captured.err])
        return code

    victim = (
        expected_reports(small_world, 1693, START, END, enrollment_types=STUDENTS)
        .records[0]
        .user_id
    )
    everyone = frozenset(small_world.user_ids)
    faulty = FaultConfig(rate=0.3, stall_seconds=1.0)
    async with trap() as (foreign, _):
        codes = [
            await run(FakeConfig()),
            await run(FakeConfig(), "--concurrency", "1"),
            await run(FakeConfig(html_everywhere=True)),
            await run(FakeConfig(faults=faulty), "--timeout", "0.3"),
            await run(FakeConfig(faults=FaultConfig(broken_users=frozenset({victim})))),
            await run(
                FakeConfig(faults=FaultConfig(foreign_link_users=everyone, foreign_origin=foreign))
            ),
        ]
    assert codes == [0, 0, 7, 0, 9, 8]
    async with serve(small_world) as canvas:
        process = await start_cli(canvas, tmp_path, [*SEED_ARGS, "-v"])
        async with process:
            await canvas.wait_until(lambda c: len(c.requests) >= 20)
            with suppress(ProcessLookupError):  # it may have finished already: fine here
                process.send_signal(signal.SIGKILL)
            assert process.stderr is not None
            printed.append(b"".join([chunk async for chunk in process.stderr]).decode())
            await process.wait()
    assert not [text for text in printed if token in text]
    assert scan(tmp_path, token) == []
    assert any("Canvas" in text for text in printed)  # the scan did see real output


async def test_group_readable_token_file_is_warned_about(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token_file = write_token(tmp_path, small_world.admin_token)
    token_file.chmod(0o640)
    async with serve(small_world) as canvas:
        argv = [*SEED_ARGS, "--base-url", canvas.base_url, "--token-file", str(token_file),
                "--out-dir", str(tmp_path)]  # fmt: skip
        code = await anyio.to_thread.run_sync(main, argv)
    err = capsys.readouterr().err
    assert code == 0
    assert f"warning: token file {token_file} is readable by other users" in err


def echo(status: int, request: web.Request, **headers: str) -> web.Response:
    """An error answer that repeats the request's Authorization header, as some proxies do."""
    said = request.headers.get("Authorization", "")
    body = orjson.dumps({"errors": [{"message": f"{status} for Authorization: {said}"}]})
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


async def echo_401(request: web.Request) -> web.StreamResponse:
    return echo(401, request)


def history_echo(status: int, *, gzipped: bool) -> Handler:
    """A History API whose jobs finish at once and whose result answers ``status``, echoing."""

    async def answer(request: web.Request) -> web.StreamResponse:
        base = request.path.split("/query")[0] + "/query"
        if request.method == "POST":
            return web.json_response({"poll_url": f"{base}/q1"}, status=201)
        if not request.path.endswith("/results"):
            return web.json_response({"status": "finished", "warnings": []})
        reply = echo(status, request)
        if gzipped:
            reply.body = gzip.compress(reply.body)  # type: ignore[arg-type]
            reply.headers["Content-Encoding"] = "gzip"
        return reply

    return answer


HISTORY_ARGS = ("--history", "only", "--now", "2015-03-20T00:00:00Z")


def page_views_echo(status: int, *, page: int = 1, **headers: str) -> Reply:
    async def reply(served: Served) -> web.StreamResponse:
        if served.user == "12" and served.page == page:
            return echo(status, served.request, **headers)
        return served.normal()

    return reply


def echoing(status: int, *, page: int = 1, pages: int = 3, **headers: str) -> Hostile:
    """A Canvas whose page views of user 12 answer ``status`` on ``page``, echoing the token."""
    return Hostile(
        {11: views(11, 3), 12: views(12, pages)},
        reply=page_views_echo(status, page=page, **headers),
    )


ECHOES: dict[str, Callable[[], Hostile]] = {
    "users/self 401": lambda: Hostile({11: views(11, 3)}, whoami=echo_401),
    **{f"page views {status}": partial(echoing, status)
       for status in (400, 401, 403, 404, 418, 429, 500)},
    "page views 404 part-way": lambda: echoing(404, page=2, pages=130),
    "page views 302": lambda: echoing(302, Location="/login"),
    **{f"history result 403{how}": partial(Hostile, {11: views(11, 3)},
                                           history=history_echo(403, gzipped=bool(how)))
       for how in ("", " gzipped")},
}  # fmt: skip
#: Errors whose text never quotes Canvas's body, so there is nothing to redact.
_BODY_UNQUOTED = {"page views 429", "page views 500", "page views 302"}


@pytest.mark.parametrize("name", list(ECHOES))
async def test_an_error_body_echoing_the_token_is_redacted_everywhere(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    canvas = ECHOES[name]()
    async with serving(canvas):
        extra = HISTORY_ARGS if name.startswith("history") else ()
        outcome = await run_cli(canvas, tmp_path, capsys, "-v", *extra)
    assert outcome.code != 70, outcome.err
    assert TOKEN not in outcome.err
    assert scan(tmp_path, TOKEN, keep="token.txt") == []
    assert name in _BODY_UNQUOTED or "Authorization: Bearer [token]" in outcome.err
