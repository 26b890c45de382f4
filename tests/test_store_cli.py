"""``pageviews store info`` beside a running run, and ``store prune`` giving space back."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import anyio
import pytest

from pageviews.cli import main
from pageviews.store import open_store, store_lock
from pageviews.testing import FakeConfig, World, serve

from .cli_process import SEED_ARGS, write_token

pytestmark = pytest.mark.anyio


async def harvested(world: World, tmp_path: Path) -> Path:
    """A state store holding the seed selection's harvest."""
    token = write_token(tmp_path, world.admin_token)
    store = tmp_path / "state.sqlite"
    async with serve(world, FakeConfig(throttle=None)) as canvas:
        where = ["--base-url", canvas.base_url, "--token-file", str(token), "-q"]
        argv = [*SEED_ARGS, *where, "--out-dir", str(tmp_path), "--state", str(store)]
        assert await anyio.to_thread.run_sync(main, argv) == 0
    return store


def on_disk(store: Path) -> int:
    return sum(p.stat().st_size for p in (store, Path(f"{store}-wal")) if p.exists())


async def test_store_info_reads_beside_a_running_run_and_names_it(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = await harvested(small_world, tmp_path)
    capsys.readouterr()
    with store_lock(store):  # a run holds the store, with a transaction open
        writer = open_store(store, None)
        run = writer.open_run("running", "2015-01-01T00:00:00Z", "2015-01-31T23:59:59Z", "now")
        code = main(["store", "info", "--state", str(store)])
        writer.close()
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"running now: pid {os.getpid()}, started " in out
    assert f"run {run.run_id}: 2015-01-01T00:00:00Z to 2015-01-31T23:59:59Z" in out
    assert "runs 2 (1 unfinished)" in out
    assert main(["store", "info", "--state", str(store)]) == 0
    assert "running now" not in capsys.readouterr().out  # the lock is released


async def test_store_prune_gives_the_space_back(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = await harvested(small_world, tmp_path)
    before = on_disk(store)
    capsys.readouterr()
    code = main(["store", "prune", "--before", "2016-01-01", "--state", str(store)])
    err = capsys.readouterr().err
    assert code == 0, err
    after = on_disk(store)
    assert after < before / 2, (before, after)
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0  # no page left unused
    said = re.search(r"; ([\d.,]+) MiB before, ([\d.,]+) MiB now$", err.strip())
    assert said is not None, err
    assert said.groups() == (f"{before / 2**20:,.1f}", f"{after / 2**20:,.1f}")
