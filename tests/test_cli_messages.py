"""What the command line says about a mistake: which flag, which help, which words."""

from __future__ import annotations

from pathlib import Path

import anyio
import orjson
import pytest

from pageviews.cli import main
from pageviews.testing import FakeConfig, World, serve

from .cli_process import SEED_ARGS, write_token

OFFLINE = ["--base-url", "http://127.0.0.1:9", "--token-file", "/nonexistent"]


def test_a_bad_number_names_only_its_own_flags(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*SEED_ARGS, *OFFLINE, "--concurrency", "0", "--timeout", "-1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "pageviews: error: --concurrency must be positive, not 0; "
        "--timeout must be positive, not -1\n"
    )


@pytest.mark.parametrize(
    ("argv", "help_of"),
    [
        ([*SEED_ARGS, "--frobnicate"], "pageviews --help"),
        (["batch", "1693", "--start_time", "2015-01-26", "--frobnicate"], "pageviews batch --help"),
        (["report", *SEED_ARGS, "--frobnicate"], "pageviews report --help"),
        (["store", "compact"], "pageviews store --help"),
        (["store", "prune"], "pageviews store prune --help"),
        (["store", "info", "--frobnicate"], "pageviews store info --help"),
    ],
)
def test_a_usage_error_points_to_its_own_subcommands_help(
    argv: list[str], help_of: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("pageviews: error: ") and err.endswith(f" (see {help_of})\n"), err


def test_store_alone_prints_its_usage_and_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["store"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("usage: pageviews store")
    assert "info" in err and "prune" in err and "forget page views" in err


@pytest.mark.parametrize(
    ("argv", "flags"),
    [
        (["--help"], ("--start-time WHEN", "--end-time WHEN")),
        (["batch", "--help"], ("--start-time WHEN", "--end-time WHEN")),
        (["report", "--help"], ("--start-time WHEN", "--end-time WHEN")),
        (["store", "prune", "--help"], ("--before DATE",)),
    ],
)
def test_help_names_every_form_of_a_date(
    argv: list[str], flags: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    text = " ".join(capsys.readouterr().out.split())  # as one line, whatever the wrapping
    for flag in flags:
        words = text.split(flag)[-1].split(" --")[0]  # the help after its last spelling
        for form in ("YYYY-MM-DD", "ISO 8601", "today", "yesterday", "-Nd"):
            assert form in words, (flag, form, words)


@pytest.mark.anyio
@pytest.mark.parametrize("batch", [False, True], ids=["harvest", "batch"])
async def test_json_logs_name_an_unknown_course_once(
    batch: bool, small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = write_token(tmp_path, small_world.admin_token)
    async with serve(small_world, FakeConfig(throttle=None)) as canvas:
        where = ["--base-url", canvas.base_url, "--token-file", str(token)]
        courses = ["batch", "169", "424242"] if batch else ["424242"]
        argv = [*courses, *SEED_ARGS[1:], *where, "--out-dir", str(tmp_path), "--log-format"]
        code = await anyio.to_thread.run_sync(main, [*argv, "json"])
    events = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
    about = [e for e in events if "424242" in str(e["message"])]
    assert code == (15 if batch else 5), events
    assert len(about) == 1, about
