"""The command line as the original script's users run it (bad inputs: test_bad_input.py)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio
import pytest

from pageviews.cli import main
from pageviews.testing import FakeConfig, World, serve
from pageviews.testing.report_files import assert_reports_exact, files_in

from .cli_process import SEED_ARGS, run_cli, run_on_terminal, write_token
from .harvesting import END, START, truth_for

pytestmark = pytest.mark.anyio
DENVER = ZoneInfo("America/Denver")
DENVER_START = datetime(2015, 1, 25, tzinfo=DENVER)
DENVER_END = datetime(2015, 3, 12, 23, 59, 59, tzinfo=DENVER)


async def test_seed_invocation_as_a_subprocess(test_world: World, tmp_path: Path) -> None:
    # Exactly the original script's invocation, token in ./oauthtoken.txt.
    write_token(tmp_path, test_world.admin_token)
    async with serve(test_world) as canvas:
        code, out, err = await run_cli(canvas, tmp_path, SEED_ARGS)
        truth = truth_for(canvas)
    assert code == 0, err
    assert out == ""
    assert "Traceback" not in err
    assert f"{len(truth.records):,} page views of {len(truth.roster)} users" in err
    # One summary line: what, how long, how politely, and where everything went.
    summary = (
        rf"pageviews: course 1693 \(.+\): {len(truth.records):,} page views of "
        rf"{len(truth.roster)} users in [\d.]+s \([\d,]+ requests, \d+ throttled, "
        r"\d+ retr(?:y|ies)\); "
        r"reports in \./, state in pageviews-state\.sqlite"
    )
    assert re.fullmatch(summary, err.splitlines()[0]), err
    assert_reports_exact(tmp_path, truth, 1693, START, END)
    assert files_in(tmp_path) == sorted(
        [
            "oauthtoken.txt",
            "pageviews-state.sqlite",
            "summary_1693_2015-01-26-2015-03-12.html",
            *(
                f"{kind}_1693_2015-01-26-2015-03-12.{ext}"
                for kind in (
                    "total-pageviews",
                    "total-user-pageviews",
                    "user-pageviews",
                    "inactive-users",
                )
                for ext in ("csv", "json")
            ),
        ]
    )


async def test_hyphenated_flags_env_token_and_short_type_names(
    small_world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CANVAS_TOKEN", small_world.admin_token)
    async with serve(small_world) as canvas:
        argv = ["1693", "--start-time", "2015-01-26", "--end-time", "2015-03-12",
                "--enrollment-types", "student", "--base-url", canvas.base_url,
                "--out-dir", str(tmp_path), "-q"]  # fmt: skip
        code = await anyio.to_thread.run_sync(main, argv)
        truth = truth_for(canvas)
    assert (code, capsys.readouterr().err) == (0, "")
    assert_reports_exact(tmp_path, truth, 1693, START, END)


async def test_iso_bounds_and_time_zone(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_token(tmp_path, small_world.admin_token)
    async with serve(small_world) as canvas:
        argv = ["1693", "--start_time", "2015-01-25", "--end_time", "2015-03-12",
                "--timezone", "America/Denver", "--enrollment_types", "StudentEnrollment",
                "--base-url", canvas.base_url, "--token-file", str(tmp_path / "oauthtoken.txt"),
                "--out-dir", str(tmp_path), "-q"]  # fmt: skip
        code = await anyio.to_thread.run_sync(main, argv)
        truth = truth_for(canvas, start=DENVER_START, end=DENVER_END)
    assert code == 0, capsys.readouterr().err
    assert_reports_exact(tmp_path, truth, 1693, DENVER_START, DENVER_END)


async def test_progress_is_drawn_on_a_terminal(small_world: World, tmp_path: Path) -> None:
    write_token(tmp_path, small_world.admin_token)
    async with serve(small_world, FakeConfig(latency=0.05)) as canvas:
        code, text = await run_on_terminal(canvas, tmp_path, SEED_ARGS)
    assert code == 0
    assert "\r\x1b[Kusers " in text
    assert "page views" in text and "req/s" in text
    assert "pageviews: course 1693" in text
