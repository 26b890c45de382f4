"""The store and the reports under stress: two runs at once, a full disk, SIGTERM,
corrupt pages, and errors raised inside the worker pool. Each ends exact or loud.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process

from pageviews.cli import main
from pageviews.outputs import reports
from pageviews.testing import FakeCanvas, FakeConfig, World, serve
from pageviews.testing.report_files import assert_reports_exact, files_in

from .cli_process import (
    FAST_RETRIES,
    SEED_ARGS,
    cli_env,
    finish,
    run_cli,
    start_cli,
    write_token,
)
from .harvesting import END, START, truth_for
from .test_resume import page_view_pages

pytestmark = pytest.mark.anyio
STORE = "pageviews-state.sqlite"

# Run the CLI with files capped at LIMIT bytes: a write past it fails with EFBIG
# (SIGXFSZ ignored), as on a full disk, with no root or mount needed.
CAPPED = (
    "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
    "limit = int(sys.argv[1]); resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)); "
    "from pageviews.cli import main; sys.exit(main(sys.argv[2:]))"
)


def leftovers(directory: Path) -> list[str]:
    """Temporary report files left behind."""
    return [name for name in files_in(directory) if name.endswith(".part")]


def report_files(directory: Path) -> list[str]:
    return [name for name in files_in(directory) if name.endswith((".csv", ".json"))]


@asynccontextmanager
async def harvesting(
    world: World, cwd: Path, pages: int
) -> AsyncIterator[tuple[FakeCanvas, Process]]:
    """A harvest of ``world`` in a subprocess, once the fake has served ``pages`` pages."""
    write_token(cwd, world.admin_token)
    async with serve(world, FakeConfig(latency=0.01)) as canvas:
        process = await start_cli(canvas, cwd, [*SEED_ARGS, *FAST_RETRIES])
        async with process:
            await canvas.wait_until(lambda c: page_view_pages(c) >= pages)
            yield canvas, process


async def test_a_second_run_on_the_same_store_stops_at_once(
    test_world: World, tmp_path: Path
) -> None:
    async with harvesting(test_world, tmp_path, pages=20) as (canvas, first):
        code, _, err = await run_cli(canvas, tmp_path, SEED_ARGS)
        report_code, _, report_err = await run_cli(canvas, tmp_path, ["report", *SEED_ARGS])
        first_code, first_err = await finish(first)
        truth = truth_for(canvas)
    assert (code, report_code) == (13, 13), err + report_err
    for text in (err, report_err):
        assert text.splitlines()[-1].startswith(
            f"pageviews: error: the state store {STORE} is in use by another pageviews run "
            f"(pid {first.pid}, started "
        ), text
    assert first_code == 0, first_err
    assert_reports_exact(tmp_path, truth, 1693, START, END)


async def test_a_stale_lock_of_a_killed_run_is_taken_over(
    small_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, small_world.admin_token)
    (tmp_path / f"{STORE}.lock").write_text("999999 2015-01-01T00:00:00Z\n")
    async with serve(small_world) as canvas:
        code, _, err = await run_cli(canvas, tmp_path, SEED_ARGS)
        truth = truth_for(canvas)
    assert code == 0, err
    assert_reports_exact(tmp_path, truth, 1693, START, END)


async def run_capped(
    canvas_env: dict[str, str], cwd: Path, limit: int, args: list[str]
) -> tuple[int, str]:
    done = await anyio.run_process(
        [sys.executable, "-c", CAPPED, str(limit), *args], cwd=cwd, env=canvas_env, check=False
    )
    return done.returncode, done.stderr.decode()


async def test_a_full_disk_under_the_store_is_exit_10_with_the_reason(
    small_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, small_world.admin_token)
    async with serve(small_world) as canvas:
        code, err = await run_capped(cli_env(canvas), tmp_path, 128 * 1024, SEED_ARGS)
    assert code == 10, err
    assert "ExceptionGroup" not in err
    # Opening writes the schema, so the cap may bite there or at a page.
    last = err.splitlines()[-1]
    assert last.startswith("pageviews: error: cannot ") and f"the state store {STORE}: " in last
    # SQLite calls a file-size limit an I/O error ("database or disk is full" on a full disk).
    assert err.splitlines()[-1].endswith(": disk I/O error")
    assert not leftovers(tmp_path) and not report_files(tmp_path)


async def test_a_full_disk_under_the_reports_is_exit_12_and_leaves_no_temporary_files(
    small_world: World, tmp_path: Path
) -> None:
    await harvested(small_world, tmp_path)
    code, err = await run_capped(dict(os.environ), tmp_path, 64 * 1024, ["report", *SEED_ARGS])
    assert code == 12, err
    assert err.splitlines()[-1] == (
        "pageviews: error: cannot write the reports in .: File too large"
    ), err
    assert not leftovers(tmp_path) and not report_files(tmp_path)


async def test_sigterm_mid_harvest_stops_cleanly_and_says_how_to_resume(
    test_world: World, tmp_path: Path
) -> None:
    async with harvesting(test_world, tmp_path, pages=50) as (canvas, process):
        process.send_signal(signal.SIGTERM)
        code, err = await finish(process)
        assert code == 143, err
        assert all(line.startswith("pageviews: ") for line in err.splitlines()), err
        assert err.endswith(
            "pageviews: terminated (SIGTERM); run the same command again to resume "
            f"(state in {STORE})\n"
        ), err
        assert not leftovers(tmp_path) and not report_files(tmp_path)
        code, _, err = await run_cli(canvas, tmp_path, SEED_ARGS)
        truth = truth_for(canvas)
    assert code == 0, err
    assert_reports_exact(tmp_path, truth, 1693, START, END)


def sigterm_on_first_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send this process SIGTERM as the report writer takes its first user."""
    real_write = reports.ReportWriter.write_user

    def terminated_while_writing(self: reports.ReportWriter, *args: object) -> None:
        assert leftovers(self.summary.paths["user-pageviews.csv"].parent)  # files are open
        signal.raise_signal(signal.SIGTERM)  # its handler runs before the next line
        real_write(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(reports.ReportWriter, "write_user", terminated_while_writing)


async def harvested(world: World, tmp_path: Path) -> None:
    """Harvest the seed selection into ``tmp_path`` through the command line."""
    write_token(tmp_path, world.admin_token)
    async with serve(world) as canvas:
        code, _, err = await run_cli(canvas, tmp_path, SEED_ARGS)
    assert code == 0, err
    for name in report_files(tmp_path):
        (tmp_path / name).unlink()


async def test_sigterm_while_reports_are_written_removes_the_temporary_files(
    small_world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await harvested(small_world, tmp_path)
    monkeypatch.chdir(tmp_path)
    sigterm_on_first_write(monkeypatch)
    before = signal.getsignal(signal.SIGTERM)
    code = main(["report", *SEED_ARGS])
    err = capsys.readouterr().err
    assert code == 143, err
    assert err.splitlines() == [
        "pageviews: terminated (SIGTERM); run the same command again to resume"
    ]
    assert not leftovers(tmp_path) and not report_files(tmp_path)
    assert signal.getsignal(signal.SIGTERM) == before


def harvest_terminated_while_writing(
    fake: subprocess.Popen[str], ready: Path, monkeypatch: pytest.MonkeyPatch
) -> int:
    """Run the seed harvest in this thread against ``fake``; SIGTERM it as reports are written."""
    assert fake.stderr is not None
    assert "listening at" in fake.stderr.readline()  # blocks until it listens
    base_url = json.loads(ready.read_text())["base_url"]
    sigterm_on_first_write(monkeypatch)
    monkeypatch.chdir(ready.parent)
    return main([*SEED_ARGS, "--base-url", base_url])


def test_sigterm_while_a_harvest_writes_its_reports_leaves_no_temporary_files(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The CLI must run in the main thread to receive the signal, so the fake
    # Canvas runs in a process of its own.
    ready = tmp_path / "ready.json"
    before = signal.getsignal(signal.SIGTERM)
    with subprocess.Popen(
        [sys.executable, "-m", "pageviews.testing", "--preset", "small", "--port", "0",
         "--token-file", str(tmp_path / "oauthtoken.txt"), "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    ) as fake:  # fmt: skip
        try:
            code = harvest_terminated_while_writing(fake, ready, monkeypatch)
        finally:
            fake.terminate()
    err = capsys.readouterr().err
    assert code == 143, err
    assert err.splitlines() == [
        f"pageviews: terminated (SIGTERM); run the same command again to resume (state in {STORE})"
    ]
    assert not leftovers(tmp_path)
    assert signal.getsignal(signal.SIGTERM) == before


async def test_a_damaged_store_is_exit_10_naming_it(
    small_world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await harvested(small_world, tmp_path)
    for name in report_files(tmp_path):
        (tmp_path / name).unlink()
    with sqlite3.connect(tmp_path / STORE) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = db.execute("PRAGMA page_size").fetchone()[0]
    # Everything after the schema's first page overwritten: the tables' pages are garbage.
    with (tmp_path / STORE).open("r+b") as file:
        size = file.seek(0, 2)
        file.seek(page)
        file.write(b"\x5b" * (size - page))
    monkeypatch.chdir(tmp_path)
    code = main(["report", *SEED_ARGS])
    err = capsys.readouterr().err
    assert code == 10, err
    (line,) = err.splitlines()
    assert line.startswith("pageviews: error: cannot ") and f"the state store {STORE}: " in line
    assert "malformed" in line or "not a database" in line
    assert not leftovers(tmp_path) and not report_files(tmp_path)


async def test_a_bug_inside_the_worker_pool_is_one_plain_line(
    small_world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(*_: object) -> object:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("pageviews.sources.listing.course_rows", broken)
    monkeypatch.chdir(tmp_path)
    token = write_token(tmp_path, small_world.admin_token)
    async with serve(small_world) as canvas:
        args = [*SEED_ARGS, "--base-url", canvas.base_url, "--token-file", str(token)]
        code = await anyio.to_thread.run_sync(main, args)
    err = capsys.readouterr().err
    assert code == 70, err
    assert "ExceptionGroup" not in err
    assert err.splitlines()[-1] == "pageviews: internal error: ZeroDivisionError: division by zero"
