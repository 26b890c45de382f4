"""The command line against the fake Canvas: the seed invocation and every bad input."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio
import pytest

from pageviews.cli import main
from pageviews.testing import FakeCanvas, FakeConfig, World, serve
from pageviews.testing.report_files import assert_reports_exact

from .harvesting import END, START, truth_for

SEED_ARGS = [
    "1693",
    "--start_time",
    "2015-01-26",
    "--end_time",
    "2015-03-12",
    "--enrollment_types",
    "StudentEnrollment",
]
FAST = ["--retry-base-wait", "0.01", "--retry-max-wait", "0.05"]


def run_cli(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``main`` in-process; return the exit code and stderr."""
    code = main(list(argv))
    return code, capsys.readouterr().err


async def run_cli_beside(
    canvas: FakeCanvas, argv: Sequence[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """Run ``main`` in a thread while this loop serves the fake Canvas."""
    code = await anyio.to_thread.run_sync(main, list(argv))
    return code, capsys.readouterr().err


@pytest.fixture
def token_file(tmp_path: Path, small_world: World) -> Path:
    path = tmp_path / "oauthtoken.txt"
    path.write_text(small_world.admin_token + "\n")
    path.chmod(0o600)
    return path


@pytest.mark.anyio
async def test_seed_invocation_as_a_subprocess(test_world: World, tmp_path: Path) -> None:
    # Exactly the original script's invocation, token in ./oauthtoken.txt.
    (tmp_path / "oauthtoken.txt").write_text(test_world.admin_token + "\n")
    (tmp_path / "oauthtoken.txt").chmod(0o600)
    async with serve(test_world) as canvas:
        env = {**os.environ, "CANVAS_BASE_URL": canvas.base_url}
        env.pop("CANVAS_TOKEN", None)
        done = await anyio.run_process(
            [sys.executable, "-m", "pageviews", *SEED_ARGS], cwd=tmp_path, env=env, check=False
        )
        truth = truth_for(canvas)
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    assert done.stdout == b""
    assert "Traceback" not in stderr
    assert f"{len(truth.records):,} page views of {len(truth.roster)} users" in stderr
    assert_reports_exact(tmp_path, truth, 1693, START, END)


@pytest.mark.anyio
async def test_hyphenated_flags_and_env_token(
    small_world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CANVAS_TOKEN", small_world.admin_token)
    async with serve(small_world) as canvas:
        code, err = await run_cli_beside(
            canvas,
            [
                "1693",
                "--start-time",
                "2015-01-26",
                "--end-time",
                "2015-03-12",
                "--enrollment-types",
                "student",
                "--base-url",
                canvas.base_url,
                "--out-dir",
                str(tmp_path),
                "-q",
            ],
            capsys,
        )
        truth = truth_for(canvas)
    assert (code, err) == (0, "")
    assert_reports_exact(tmp_path, truth, 1693, START, END)


@pytest.mark.anyio
async def test_bad_token_exits_3(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("nope\n")
    bad.chmod(0o600)
    async with serve(small_world) as canvas:
        code, err = await run_cli_beside(
            canvas,
            [
                *SEED_ARGS,
                "--base-url",
                canvas.base_url,
                "--token-file",
                str(bad),
                "--out-dir",
                str(tmp_path),
            ],
            capsys,
        )
    assert code == 3
    assert error_line(err) == "pageviews: error: Canvas rejected the token: Invalid access token."


@pytest.mark.anyio
async def test_teacher_token_exits_4_with_advice(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    teacher = tmp_path / "teacher.txt"
    teacher.write_text(small_world.teacher_token)
    teacher.chmod(0o600)
    async with serve(small_world, FakeConfig()) as canvas:
        code, err = await run_cli_beside(
            canvas,
            [
                *SEED_ARGS,
                "--base-url",
                canvas.base_url,
                "--token-file",
                str(teacher),
                "--out-dir",
                str(tmp_path),
            ],
            capsys,
        )
    assert code == 4
    assert "view_statistics" in error_line(err)


@pytest.mark.anyio
async def test_unknown_course_exits_5(
    small_world: World, token_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serve(small_world) as canvas:
        code, err = await run_cli_beside(
            canvas,
            [
                "424242",
                "--start_time",
                "2015-01-26",
                "--end_time",
                "2015-03-12",
                "--base-url",
                canvas.base_url,
                "--token-file",
                str(token_file),
                "--out-dir",
                str(tmp_path),
            ],
            capsys,
        )
    assert code == 5
    assert error_line(err).startswith("pageviews: error: course 424242 not found")


def error_line(err: str) -> str:
    """The one error line of a failed run (warnings may precede it), never a traceback."""
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("pageviews: error: ")]
    assert len(errors) == 1, err
    assert err.endswith(errors[0] + "\n")
    return errors[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


BAD_INPUTS = [
    # (case, extra argv, expected exit code, text in the message)
    ("unknown flag", ["--frobnicate"], 2, "unrecognized arguments: --frobnicate"),
    (
        "bad start date",
        ["--start_time", "2015-02-30"],
        2,
        "--start_time: '2015-02-30' is not a date",
    ),
    ("bad end date", ["--end_time", "soon"], 2, "--end_time: 'soon' is not a date"),
    ("end before start", ["--end_time", "2015-01-01"], 2, "--end_time is before --start_time"),
    (
        "start in future",
        ["--start_time", "2999-01-01", "--end_time", "2999-02-01"],
        2,
        "--start_time is in the future",
    ),
    ("bad time zone", ["--timezone", "Mars/Base"], 2, "unknown time zone"),
    (
        "bad enrollment type",
        ["--enrollment_types", "Wizard"],
        2,
        "unknown enrollment type 'Wizard'",
    ),
    (
        "bad enrollment state",
        ["--enrollment_states", "actve"],
        2,
        "unknown enrollment state 'actve'",
    ),
    ("base URL without scheme", ["--base-url", "canvas.example.edu"], 2, "needs a scheme and host"),
    (
        "base URL with a path",
        ["--base-url", "https://canvas.example.edu/api/v1"],
        2,
        "must be only scheme and host",
    ),
    (
        "plain http to a remote host",
        ["--base-url", "http://canvas.example.edu"],
        2,
        "refusing to send the token over plain http",
    ),
]


@pytest.mark.parametrize(
    ("extra", "code", "text"), [case[1:] for case in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_gets_one_line_and_an_exit_code(
    extra: list[str],
    code: int,
    text: str,
    token_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [
        *SEED_ARGS,
        "--base-url",
        "https://canvas.example.edu",
        "--token-file",
        str(token_file),
        "--out-dir",
        str(tmp_path),
        *extra,
    ]
    got, err = run_cli(argv, capsys)
    assert got == code, err
    assert err.startswith("pageviews: error: ") and err.count("\n") == 1, err
    assert text in err
    assert list(tmp_path.iterdir()) == [token_file]


def test_missing_base_url(
    token_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CANVAS_BASE_URL", raising=False)
    code, err = run_cli([*SEED_ARGS, "--token-file", str(token_file)], capsys)
    assert code == 2 and "no Canvas address" in err


@pytest.mark.parametrize("course", ["abc", "16 93", "sis_course_id:", "-5"])
def test_course_must_be_numeric_or_sis(
    course: str, token_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        course,
        "--start_time",
        "2015-01-26",
        "--end_time",
        "2015-03-12",
        "--base-url",
        "https://c.example.edu",
        "--token-file",
        str(token_file),
    ]
    code, err = run_cli(argv, capsys)
    assert code == 2 and "must be a numeric id or sis_course_id:<id>" in err


def test_token_file_problems_exit_11(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CANVAS_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    base = [*SEED_ARGS, "--base-url", "https://c.example.edu"]
    code, err = run_cli(base, capsys)
    assert code == 11 and "token file oauthtoken.txt not found" in err
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    code, err = run_cli([*base, "--token-file", str(empty)], capsys)
    assert code == 11 and "is empty" in err
    directory = tmp_path / "dir"
    directory.mkdir()
    code, err = run_cli([*base, "--token-file", str(directory)], capsys)
    assert code == 11 and "cannot read token file" in err


def test_unreachable_host_exits_6(
    token_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        *SEED_ARGS,
        "--base-url",
        f"http://127.0.0.1:{free_port()}",
        "--token-file",
        str(token_file),
        "--out-dir",
        str(tmp_path),
        *FAST,
    ]
    code, err = run_cli(argv, capsys)
    assert code == 6
    assert error_line(err).startswith("pageviews: error: cannot connect to http://127.0.0.1:")
