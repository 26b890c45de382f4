"""Hostile transports (issue 8): slow bodies, huge bodies, Retry-After and leaking errors."""

from __future__ import annotations

import zlib
from pathlib import Path

import anyio
import orjson
import pytest
from aiohttp import web

from .hostile import Hostile, Served, run_cli, serving, views

pytestmark = pytest.mark.anyio


async def test_timeout_is_a_deadline_for_the_whole_body(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def trickle(served: Served) -> web.StreamResponse:
        if served.user != "12":
            return served.normal()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(served.request)
        # One byte every 50 ms: a per-read timeout of 0.3 s never fires. The body ends
        # after about 2 s, so a client without a deadline finishes (and fails the test).
        body = orjson.dumps(served.rows)
        for _ in range(40):
            await response.write(b" ")
            await anyio.sleep(0.05)  # the server's pace, not synchronisation
        await response.write(body)
        return response

    canvas = Hostile({11: views(11, 20), 12: views(12, 20)}, reply=trickle)
    async with serving(canvas):
        outcome = await run_cli(canvas, tmp_path, capsys, "--timeout", "0.3", "--retries", "2")
    assert outcome.code == 9, outcome.err
    assert "INCOMPLETE user 12: gave up after retries: Canvas did not answer within 0.3 s" in (
        outcome.err
    )
    assert outcome.rows() == {11: 20}


def _gzip_bomb(inflated_mib: int) -> bytes:
    """A gzip body that inflates to ``inflated_mib`` MiB of JSON-ish blanks."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    blanks = b" " * 2**20
    parts = [packer.compress(b"[")]
    parts += [packer.compress(blanks) for _ in range(inflated_mib)]
    return b"".join([*parts, packer.compress(b"]"), packer.flush()])


async def test_a_body_past_the_cap_is_cut_off_and_the_user_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb = _gzip_bomb(64)
    assert len(bomb) < 2**20

    async def reply(served: Served) -> web.StreamResponse:
        if served.user != "12":
            return served.normal()
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return web.Response(body=bomb, headers=headers)

    canvas = Hostile({11: views(11, 20), 12: views(12, 20)}, reply=reply)
    async with serving(canvas):
        outcome = await run_cli(canvas, tmp_path, capsys, "--max-body-mb", "1")
    assert outcome.code == 9, outcome.err
    assert "INCOMPLETE user 12: Canvas sent a response larger than 1 MiB" in outcome.err
    assert outcome.rows() == {11: 20}


@pytest.mark.parametrize(
    ("retry_after", "says"),
    [
        ("999999", "; Canvas asked to wait 999999 s (Retry-After), more than the"),
        ("nan", ""),
        ("-5", ""),
    ],
)
async def test_retry_after_never_overrides_the_users_bounds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], retry_after: str, says: str
) -> None:
    async def reply(served: Served) -> web.StreamResponse:
        if served.user != "12":
            return served.normal()
        return web.Response(status=429, text="slow down", headers={"Retry-After": retry_after})

    canvas = Hostile({11: views(11, 20), 12: views(12, 20)}, reply=reply)
    async with serving(canvas):
        outcome = await run_cli(
            canvas, tmp_path, capsys, "--retry-max-wait", "0.05", "--retry-time", "5"
        )
    assert outcome.code == 9, outcome.err
    assert (
        f"INCOMPLETE user 12: gave up after retries: rate limited by Canvas (HTTP 429){says}"
        in (outcome.err)
    )
    asked = sum("/users/12/" in path for path in canvas.asked)
    assert asked == (1 if retry_after == "999999" else 3)  # --retries 3 (run_cli)
