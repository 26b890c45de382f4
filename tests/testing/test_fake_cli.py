"""The `python -m pageviews.testing` command, run as a separate process."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from pageviews.testing import (
    HistoryConfig,
    LateViews,
    ListQuirks,
    ThrottleConfig,
    World,
    WorldSpec,
)
from pageviews.testing.__main__ import build_config, parse_args


def test_command_serves_until_sigterm(tmp_path: Path) -> None:
    token_file, ready_file = tmp_path / "token", tmp_path / "ready.json"
    command = [
        sys.executable,
        "-m",
        "pageviews.testing",
        "--port",
        "0",
        "--preset",
        "small",
        "--token-file",
        str(token_file),
        "--ready-file",
        str(ready_file),
    ]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stderr is not None
            line = process.stderr.readline()  # blocks until the server is listening
            assert line.startswith("fake Canvas listening at http://127.0.0.1:")
            ready = json.loads(ready_file.read_text())
            assert ready["pid"] == process.pid
            assert line.strip().endswith(ready["base_url"])
            token = token_file.read_text().strip()
            assert token == World.generate(WorldSpec.preset("small")).admin_token
            assert token not in line
            assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
            with urllib.request.urlopen(ready["base_url"] + "/__fake__/stats") as response:
                assert json.load(response)["requests"] == 0
            request = urllib.request.Request(
                ready["base_url"] + "/api/v1/users/self",
                headers={"Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(request) as response:
                assert json.load(response)["name"] == "Ada Admin"
        finally:
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stderr.read() == ""


def test_history_options_reach_the_config() -> None:
    plain = build_config(parse_args([]))
    assert plain.history is None
    assert plain.now is None
    config = build_config(
        parse_args(["--history", "--now", "2015-04-20T12:00", "--list-cost-per-page-size", "0.4"])
    )
    assert config.history == HistoryConfig()
    assert config.now == datetime(2015, 4, 20, 12, tzinfo=UTC)
    assert config.throttle is not None
    assert config.throttle.list_cost_per_page_size == 0.4


def test_late_view_options_reach_the_config() -> None:
    assert build_config(parse_args([])).late is None
    config = build_config(parse_args(["--late-share", "0.8", "--late-max-delay", "3000"]))
    assert config.late == LateViews(share=0.8, max_delay=3000.0)


def test_a_page_size_clamp_reaches_the_config() -> None:
    assert build_config(parse_args([])).quirks == ListQuirks()
    assert build_config(parse_args(["--max-per-page", "50"])).quirks == ListQuirks(max_per_page=50)


def test_retry_after_reaches_the_config() -> None:
    assert build_config(parse_args(["--throttle", "429"])).throttle == ThrottleConfig(status=429)
    config = build_config(parse_args(["--throttle", "429", "--retry-after"]))
    assert config.throttle == ThrottleConfig(status=429, retry_after=True)
