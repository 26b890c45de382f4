"""A run killed while its export jobs run resumes by polling them, starting none again."""

from __future__ import annotations

import signal
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from pageviews.testing import FakeCanvas, HistoryConfig, World, expected_reports, serve
from pageviews.testing.report_files import assert_reports_exact

from .cli_process import FAST_RETRIES, finish, run_cli, start_cli, write_token
from .test_history import END, START, STUDENTS, fake_config

pytestmark = pytest.mark.anyio

ARGS = [
    "1693", "--start_time", "2015-01-01", "--end_time", "2015-04-19",
    "--enrollment_types", "StudentEnrollment", "--history", "auto",
    "--now", "2015-04-20T12:00:00Z", *FAST_RETRIES,
]  # fmt: skip


def polled(canvas: FakeCanvas) -> set[tuple[int, ...]]:
    """The queries polled: their ids were stored (a query is stored before its first poll)."""
    return {
        r.history.user_ids
        for r in canvas.requests
        if r.history is not None and r.history.kind == "poll" and r.status == 200
    }


def started(canvas: FakeCanvas) -> list[tuple[int, ...]]:
    return [
        r.history.user_ids
        for r in canvas.requests
        if r.history is not None and r.history.kind == "start" and r.status == 201
    ]


async def test_sigkill_while_jobs_run_then_resume_starts_none_again(
    small_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, small_world.admin_token)
    # Jobs run for 1000 s of the fake's clock, which stands still until the test moves it.
    history = HistoryConfig(queue_seconds=0, run_seconds=1000)
    async with serve(small_world, fake_config(history)) as canvas:
        process = await start_cli(canvas, tmp_path, ARGS)
        async with process:
            await canvas.wait_until(lambda c: len(polled(c)) >= 2)
            process.send_signal(signal.SIGKILL)
            code, _ = await finish(process)
        assert code == -signal.SIGKILL
        # Only a query whose 201 was in flight at the kill may be started again (as a
        # page in flight is read again); every query already polled must not be.
        before = polled(canvas)
        count = len(started(canvas))
        assert canvas.config.now is not None
        canvas.config.now += timedelta(seconds=1500)  # the jobs finish
        canvas.config.history = replace(history, run_seconds=0)  # and new ones at once
        code, _, err = await run_cli(canvas, tmp_path, ARGS)
        again = started(canvas)[count:]
    assert code == 0, err
    assert "resumed" in err
    assert not before & set(again), "a query started before the kill was started again"
    want = expected_reports(small_world, 1693, START, END, enrollment_types=STUDENTS)
    assert_reports_exact(tmp_path, want, 1693, START, END)


async def test_an_expired_job_is_started_again(small_world: World, tmp_path: Path) -> None:
    write_token(tmp_path, small_world.admin_token)
    history = HistoryConfig(queue_seconds=0, run_seconds=1000, expiry_seconds=60)
    async with serve(small_world, fake_config(history)) as canvas:
        process = await start_cli(canvas, tmp_path, ARGS)
        async with process:
            await canvas.wait_until(lambda c: len(started(c)) >= 1)
            process.send_signal(signal.SIGKILL)
            await finish(process)
        before = started(canvas)
        assert canvas.config.now is not None
        canvas.config.now += timedelta(seconds=5000)  # done, and expired: poll says 404
        canvas.config.history = replace(history, run_seconds=0)
        code, _, err = await run_cli(canvas, tmp_path, ARGS)
        again = started(canvas)[len(before) :]
    assert code == 0, err
    assert set(before) <= set(again)
    want = expected_reports(small_world, 1693, START, END, enrollment_types=STUDENTS)
    assert_reports_exact(tmp_path, want, 1693, START, END)
