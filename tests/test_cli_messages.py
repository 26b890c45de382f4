"""What the command line says about a mistake: which flag, which help, which words."""

from __future__ import annotations

import pytest

from pageviews.cli import main

from .cli_process import SEED_ARGS

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
