"""Crash-safe resume: SIGKILL and Ctrl-C mid-harvest, then the same command again."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from pageviews.store.schema import GROUP_PAGES
from pageviews.testing import FakeCanvas, FakeConfig, World, serve
from pageviews.testing.report_files import assert_reports_exact, files_in

from .cli_process import FAST_RETRIES, SEED_ARGS, finish, run_cli, start_cli, write_token
from .harvesting import END, START, truth_for

pytestmark = pytest.mark.anyio
CONCURRENCY = 8
ARGS = [*SEED_ARGS, *FAST_RETRIES, "--concurrency", str(CONCURRENCY)]


def page_view_pages(canvas: FakeCanvas) -> int:
    return sum(1 for r in canvas.requests if r.status == 200 and "/page_views" in r.path)


def pages_requested_twice(canvas: FakeCanvas) -> int:
    served = Counter(
        (r.path, r.query) for r in canvas.requests if r.status == 200 and "/page_views" in r.path
    )
    return sum(n - 1 for n in served.values() if n > 1)


async def kill_after(
    canvas: FakeCanvas, cwd: Path, pages: int, how: signal.Signals
) -> tuple[int, str]:
    """Start the CLI, send ``how`` once the fake has served ``pages`` more pages."""
    target = page_view_pages(canvas) + pages
    process = await start_cli(canvas, cwd, ARGS)
    async with process:
        await canvas.wait_until(lambda c: page_view_pages(c) >= target)
        process.send_signal(how)
        return await finish(process)


async def test_three_sigkills_then_resume_is_exact(test_world: World, tmp_path: Path) -> None:
    write_token(tmp_path, test_world.admin_token)
    async with serve(test_world, FakeConfig(latency=0.01)) as canvas:
        for pages in (40, 250, 400):
            code, _ = await kill_after(canvas, tmp_path, pages, signal.SIGKILL)
            assert code == -signal.SIGKILL
            assert not [f for f in files_in(tmp_path) if f.endswith((".csv", ".json"))]
        code, out, err = await run_cli(canvas, tmp_path, ARGS)
        assert out == ""
        truth = truth_for(canvas)
    assert code == 0, err
    assert "resumed" in err
    assert_reports_exact(tmp_path, truth, 1693, START, END)
    # Only pages in flight at a kill, or stored since the store's last commit (a group of
    # GROUP_PAGES), may be asked for again: at most CONCURRENCY + GROUP_PAGES per kill.
    assert pages_requested_twice(canvas) <= 3 * (CONCURRENCY + GROUP_PAGES)


@pytest.fixture
def sigint_delivered() -> Iterator[None]:
    """Let a child see SIGINT even when this run inherited it ignored.

    A shell starts background jobs with SIGINT ignored, and exec passes that on,
    so the CLI would never see the Ctrl-C this test sends.
    """
    before = signal.getsignal(signal.SIGINT)
    if before == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.usefixtures("sigint_delivered")
async def test_ctrl_c_stops_cleanly_and_says_how_to_resume(
    test_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, test_world.admin_token)
    async with serve(test_world, FakeConfig(latency=0.01)) as canvas:
        code, err = await kill_after(canvas, tmp_path, 100, signal.SIGINT)
        assert code == 130, err
        assert "Traceback" not in err
        assert err.endswith(
            "pageviews: interrupted; run the same command again to resume "
            "(state in pageviews-state.sqlite)\n"
        )
        code, _, err = await run_cli(canvas, tmp_path, ARGS)
        truth = truth_for(canvas)
    assert code == 0, err
    assert_reports_exact(tmp_path, truth, 1693, START, END)
    assert pages_requested_twice(canvas) <= CONCURRENCY


async def test_reports_rebuild_from_the_store_alone(small_world: World, tmp_path: Path) -> None:
    write_token(tmp_path, small_world.admin_token)
    async with serve(small_world) as canvas:
        code, _, err = await run_cli(canvas, tmp_path, SEED_ARGS)
        assert code == 0, err
        written = {name: (tmp_path / name).read_bytes() for name in files_in(tmp_path)}
        reports = [name for name in written if name.endswith((".csv", ".json"))]
        assert len(reports) == 8  # the three reports and inactive users, CSV and JSON
        for name in reports:
            (tmp_path / name).unlink()
        served = len(canvas.requests)
        code, _, err = await run_cli(canvas, tmp_path, ["report", *SEED_ARGS])
        assert code == 0, err
        assert len(canvas.requests) == served  # not one request to Canvas
    for name in reports:
        assert (tmp_path / name).read_bytes() == written[name]


async def test_report_of_an_unfinished_harvest_says_so(test_world: World, tmp_path: Path) -> None:
    write_token(tmp_path, test_world.admin_token)
    async with serve(test_world, FakeConfig(latency=0.01)) as canvas:
        await kill_after(canvas, tmp_path, 50, signal.SIGKILL)
        code, _, err = await run_cli(canvas, tmp_path, ["report", *SEED_ARGS])
    assert code == 9
    assert err.splitlines()[-1].startswith("pageviews: error: that harvest did not finish (")
    assert "no reports were written" in err
    assert not [f for f in files_in(tmp_path) if f.endswith((".csv", ".json", ".part"))]


async def test_fresh_discards_the_store(small_world: World, tmp_path: Path) -> None:
    write_token(tmp_path, small_world.admin_token)
    async with serve(small_world, FakeConfig(throttle=None)) as canvas:
        await run_cli(canvas, tmp_path, SEED_ARGS)
        first = len(canvas.requests)
        code, _, err = await run_cli(canvas, tmp_path, [*SEED_ARGS, "--fresh", "-q"])
        truth = truth_for(canvas)
    assert (code, err) == (0, "")
    # Every roster user's page views were asked for again, from the first page.
    again = {r.user_id for r in canvas.requests[first:] if "per_page" in r.query}
    assert again >= set(truth.roster)
    assert_reports_exact(tmp_path, truth, 1693, START, END)
