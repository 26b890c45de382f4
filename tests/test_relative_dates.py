"""Every date option of every subcommand takes the relative forms, ``-Nd`` included."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from pageviews.cli import main
from pageviews.testing import FakeConfig, World, serve

from .cli_process import SEED_ARGS, write_token

pytestmark = pytest.mark.anyio


def days_ago(days: int) -> str:
    return f"{(datetime.now(UTC).date() - timedelta(days=days)).isoformat()}T00:00:00Z"


def report_names(directory: Path) -> set[str]:
    return {p.name for p in directory.rglob("total-pageviews_*.csv")}


async def run(argv: list[str]) -> int:
    code: int = await anyio.to_thread.run_sync(main, argv)
    return code


async def test_store_prune_before_a_number_of_days_ago(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = write_token(tmp_path, small_world.admin_token)
    store = tmp_path / "state.sqlite"
    async with serve(small_world, FakeConfig(throttle=None)) as canvas:
        common = ["--base-url", canvas.base_url, "--token-file", str(token), "-q", "--out-dir"]
        assert await run([*SEED_ARGS, *common, str(tmp_path), "--state", str(store)]) == 0
    with sqlite3.connect(store) as db:
        views = db.execute("SELECT COUNT(*) FROM views").fetchone()[0]
    capsys.readouterr()
    code = await run(["store", "prune", "--before", "-180d", "--state", str(store)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"pruned {views:,} page views" in err
    assert f"before {days_ago(180)}" in err


@pytest.mark.parametrize("command", ["harvest", "batch", "report"])
async def test_start_and_end_take_days_ago_in_every_subcommand(
    command: str, small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = write_token(tmp_path, small_world.admin_token)
    dates = ["--start_time", "-3d", "--end-time", "-1d", "--out-dir", str(tmp_path)]
    async with serve(small_world, FakeConfig(throttle=None)) as canvas:
        common = ["--base-url", canvas.base_url, "--token-file", str(token)]
        argv = {
            "harvest": ["1693", *dates, *common],
            "batch": ["batch", "1693", *dates, *common],
            "report": ["report", "1693", *dates],
        }[command]
        code = await run(argv)
    err = capsys.readouterr().err
    # The range the run names is three days ago through the end of yesterday.
    assert "expected one argument" not in err
    if command == "report":  # nothing was harvested for that range: parsed, then refused
        assert code == 14, err
    else:
        assert code == 0, err
        names = report_names(tmp_path)
        start, end = days_ago(3)[:10], days_ago(1)[:10]
        assert any(start in name and end in name for name in names), names
