"""What a newcomer meets in the first ten minutes: the demo, the fake, --version,
-v logs, ``pageviews report``, the range warning, and the library example.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import pytest

from pageviews.cli import main
from pageviews.testing import World, serve
from pageviews.testing.report_files import files_in

from .cli_process import FAST_RETRIES, SEED_ARGS, run_cli, write_token
from .test_bad_input import broken_user, free_port

ROOT = Path(__file__).resolve().parent.parent
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def reports_in(directory: Path) -> list[str]:
    return [name for name in files_in(directory) if "pageviews_" in name]


# 1. Range warnings: once, after the outcome, only when the range reaches past the window.


@pytest.mark.anyio
async def test_the_range_warning_comes_after_the_outcome(
    small_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, small_world.admin_token)
    async with serve(small_world) as canvas:
        code, _, err = await run_cli(canvas, tmp_path, SEED_ARGS)
    lines = err.splitlines()
    assert code == 0, err
    assert lines[0].startswith("pageviews: course 1693"), err
    warnings = [line for line in lines if "warning: page views from" in line]
    assert len(warnings) == 1, err


@pytest.mark.anyio
async def test_a_range_inside_the_window_gets_no_warning(
    small_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, small_world.admin_token)
    today = datetime.now(UTC).date()
    # The summary names exactly the seconds older than "now minus 30 days": a bare date
    # 29 days back starts inside the window (30 days back would start hours before it).
    start = (today - timedelta(days=29)).isoformat()
    async with serve(small_world) as canvas:
        code, _, err = await run_cli(
            canvas, tmp_path, ["1693", "--start_time", start, "--end_time", today.isoformat()]
        )
    assert code == 0, err
    assert "warning" not in err


# 2. The demo prints exactly what it runs, and the printed commands work when pasted.


def run_demo(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py"), "--preset", "small",
         "--latency", "0"],
        cwd=cwd, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def test_the_demo_prints_commands_that_work_when_pasted_after_another_demo(
    tmp_path: Path,
) -> None:
    demo, later = run_demo(tmp_path), run_demo(tmp_path)
    assert (demo.returncode, later.returncode) == (0, 0), (demo.stderr, later.stderr)
    commands = [line[2:] for line in demo.stdout.splitlines() if line.startswith("$ ")]
    fake_command, harvest_command = commands
    assert "--port 18693 " in fake_command  # every demo's: its store knows that address
    assert commands == [line[2:] for line in later.stdout.splitlines() if line.startswith("$ ")]
    assert "--token-file demo-out/oauthtoken.txt" in harvest_command
    token = (tmp_path / "demo-out" / "oauthtoken.txt").read_text().strip()
    assert token not in demo.stdout
    for name in reports_in(tmp_path / "demo-out"):
        (tmp_path / "demo-out" / name).unlink()
    with subprocess.Popen(
        shlex.split(fake_command), cwd=tmp_path, stderr=subprocess.PIPE, text=True
    ) as fake:
        try:
            assert fake.stderr is not None
            assert "listening at" in fake.stderr.readline()  # blocks until it listens
            harvest = subprocess.run(
                shlex.split(harvest_command), cwd=tmp_path, capture_output=True, text=True,
                check=False, timeout=120,
            )  # fmt: skip
        finally:
            fake.send_signal(signal.SIGTERM)
    assert harvest.returncode == 0, harvest.stderr
    assert len(reports_in(tmp_path / "demo-out")) == 6


# 3. The fake says what it serves.


def test_the_fake_lists_its_courses(small_world: World) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pageviews.testing", "--preset", "small", "--list"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    roster = len({e.user_id for e in small_world.enrollment_records(1693)})
    assert re.search(
        rf"^ *1693 +sis_course_id:DATA-1693-2015SP +{roster} users +Introduction to Data Analysis$",
        done.stdout,
        flags=re.MULTILINE,
    ), done.stdout
    assert re.search(r"^ *16930 +- +\d+ users +Data Analysis Lab$", done.stdout, re.MULTILINE)


def test_the_fake_says_where_it_listens_and_where_the_token_is(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pageviews.testing", "--preset", "small", "--port", "0"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    ) as process:
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(3)]
        finally:
            process.send_signal(signal.SIGTERM)
        rest = process.stdout.read()
    assert lines[0].startswith("base URL:   http://127.0.0.1:")
    token_file = Path(lines[1].removeprefix("token file: ").strip())
    assert lines[1].startswith("token file: ")
    assert "sis_course_id:DATA-1693-2015SP" in rest
    assert not token_file.exists()  # a file of its own, removed when the fake stops


# 4. --version, and help that points at documentation that ships with the package.


@pytest.mark.parametrize("command", [["pageviews"], [sys.executable, "-m", "pageviews"]])
def test_version(command: list[str]) -> None:
    exe = Path(sys.executable).parent / "pageviews" if command == ["pageviews"] else None
    argv = [str(exe)] if exe else command
    done = subprocess.run([*argv, "--version"], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (0, f"pageviews {version('pageviews')}\n"), done.stderr


def test_help_points_at_documentation_that_is_installed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--help"]) == 0
    assert "pageviews --readme" in capsys.readouterr().out
    assert main(["--readme"]) == 0
    text = capsys.readouterr().out
    assert "### Exit codes" in text and "## Bad input" in text


# 5. -v log lines carry a timestamp and the unit of work.


@pytest.mark.anyio
async def test_verbose_lines_carry_timestamps_and_the_unit(
    small_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, small_world.admin_token)
    config = broken_user(small_world)
    (victim,) = config.faults.broken_users
    async with serve(small_world, config) as canvas:
        code, _, err = await run_cli(
            canvas, tmp_path, [*SEED_ARGS, *FAST_RETRIES, "--retries", "2", "-v"]
        )
    assert code == 9, err
    logged = [line for line in err.splitlines() if re.match(rf"{STAMP} ", line)]
    assert any(
        re.fullmatch(
            rf"{STAMP} pageviews \[user {victim} 2015-01-26T00:00:00Z\.\.2015-03-12T23:59:59Z\]: "
            rf"user {victim}: gave up after retries: .*",
            line,
        )
        for line in logged
    ), err


# 6. pageviews report: sis ids, its own exit code for "nothing stored", nothing partial.


@pytest.mark.anyio
async def test_report_takes_a_sis_course_id(small_world: World, tmp_path: Path) -> None:
    write_token(tmp_path, small_world.admin_token)
    sis = ["sis_course_id:DATA-1693-2015SP", *SEED_ARGS[1:]]
    async with serve(small_world) as canvas:
        code, _, err = await run_cli(canvas, tmp_path, sis)
        assert code == 0, err
        written = {name: (tmp_path / name).read_bytes() for name in reports_in(tmp_path)}
        for name in written:
            (tmp_path / name).unlink()
        code, _, err = await run_cli(canvas, tmp_path, ["report", *sis])
    assert code == 0, err
    assert {name: (tmp_path / name).read_bytes() for name in reports_in(tmp_path)} == written


@pytest.mark.anyio
async def test_report_of_a_selection_never_harvested_has_its_own_exit_code(
    small_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, small_world.admin_token)
    async with serve(small_world) as canvas:
        code, _, err = await run_cli(canvas, tmp_path, ["report", *SEED_ARGS])
        assert (code, err.splitlines()) == (
            14, ["pageviews: error: no stored harvest: there is no state store at "
                 "pageviews-state.sqlite"]
        )  # fmt: skip
        code, _, err = await run_cli(canvas, tmp_path, SEED_ARGS)
        assert code == 0, err
        other = ["1693", "--start_time", "2015-01-27", *SEED_ARGS[3:]]
        code, _, err = await run_cli(canvas, tmp_path, ["report", *other])
    assert code == 14, err
    assert err.splitlines()[-1].startswith(
        "pageviews: error: no stored harvest: pageviews-state.sqlite holds no harvest of "
        "course 1693 for 2015-01-27-2015-03-12"
    )


# 7. Small words: an --out-dir that is a file says so.


def test_an_out_dir_that_is_a_file_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANVAS_TOKEN", "unused")
    (tmp_path / "out").write_text("")
    code = main([*SEED_ARGS, "--base-url", "https://canvas.example.edu",
                 "--out-dir", str(tmp_path / "out")])  # fmt: skip
    assert (code, capsys.readouterr().err) == (
        12, f"pageviews: error: output directory {tmp_path}/out is a file, not a directory\n"
    )  # fmt: skip


@pytest.mark.parametrize("command", [[], ["batch", "169"]])
def test_a_failed_connection_leaves_no_empty_folders_behind(
    command: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CANVAS_TOKEN", "unused")
    (tmp_path / "kept").mkdir()
    code = main([*command, *SEED_ARGS, *FAST_RETRIES,
                 "--base-url", f"http://127.0.0.1:{free_port()}",
                 "--out-dir", str(tmp_path / "new" / "out"),
                 "--state", str(tmp_path / "kept" / "state" / "s.sqlite")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 6, err
    assert "cannot connect to http://127.0.0.1:" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]  # it was there before
    assert list((tmp_path / "kept").iterdir()) == []


# 8. The library example leaves nothing behind.


def test_the_library_example_cleans_up(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "library_usage.py")],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []
