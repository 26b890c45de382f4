"""Hostile transports (issue 8): slow bodies, huge bodies, Retry-After and leaking errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .hostile import (
    Hostile,
    Reply,
    inflating,
    oversized,
    run_cli,
    serving,
    throttled,
    trickling,
    views,
)

pytestmark = pytest.mark.anyio


async def test_timeout_is_a_deadline_for_the_whole_body(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A byte every 50 ms: a per-read timeout of 0.3 s never fires; the body ends after
    # about 2 s, so a client without a deadline finishes (and fails the test).
    canvas = Hostile({11: views(11, 20), 12: views(12, 20)}, reply=trickling)
    async with serving(canvas):
        outcome = await run_cli(canvas, tmp_path, capsys, "--timeout", "0.3", "--retries", "2")
    assert outcome.code == 9, outcome.err
    assert "INCOMPLETE user 12: gave up after retries: Canvas did not answer within 0.3 s" in (
        outcome.err
    )
    assert outcome.rows() == {11: 20}


@pytest.mark.parametrize("body", ["gzip inflating to 64 MiB", "2 MiB sized", "2 MiB chunked"])
async def test_a_body_past_the_cap_is_cut_off_and_the_user_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str
) -> None:
    replies: dict[str, Callable[[], Reply]] = {
        "gzip inflating to 64 MiB": lambda: inflating(64),  # a body under 1 MiB itself
        "2 MiB sized": lambda: oversized(2, chunked=False),
        "2 MiB chunked": lambda: oversized(2, chunked=True),
    }
    canvas = Hostile({11: views(11, 20), 12: views(12, 20)}, reply=replies[body]())
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
    canvas = Hostile({11: views(11, 20), 12: views(12, 20)}, reply=throttled(retry_after))
    async with serving(canvas):
        outcome = await run_cli(
            canvas, tmp_path, capsys, "--retry-max-wait", "0.05", "--retry-time", "1"
        )
    assert outcome.code == 9, outcome.err
    assert (
        f"INCOMPLETE user 12: gave up after retries: rate limited by Canvas (HTTP 429){says}"
        in (outcome.err)
    )
    asked = sum("/users/12/" in path for path in canvas.asked)
    # A throttle is not a fault: --retries 3 (run_cli) does not bound it, --retry-time does.
    assert asked == 1 if retry_after == "999999" else asked > 3
