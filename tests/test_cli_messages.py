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
