"""Run the fake Canvas in its own process, one fresh process per measured run.

A fresh process per run means every run starts with empty throttle buckets,
zeroed counters and no warm caches left by the previous client.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from pageviews.testing import ThrottleConfig

START_TIMEOUT = 120.0


class FakeError(RuntimeError):
    """The fake Canvas did not start or answer."""


@dataclass(frozen=True, slots=True)
class FakeSetup:
    """How to start the fake: world preset, latency and throttle (None: off)."""

    preset: str
    latency: float = 0.0
    throttle: ThrottleConfig | None = None
    now: datetime | None = None  # the fake's clock; None: real time
    late_share: float = 0.0  # share of views visible only up to ``late_max_delay`` later
    late_max_delay: float = 600.0
    # 0 picks a free port; a store is bound to its Canvas's URL, so nights share one.
    port: int = 0
    history: bool = False  # serve the History API; its clock runs on from ``now``

    def argv(self) -> list[str]:
        """Command-line flags for ``python -m pageviews.testing``."""
        args = ["--preset", self.preset, "--latency", str(self.latency)]
        if self.now is not None:
            args += ["--now", self.now.isoformat()]
        if self.history:
            args += ["--history", "--history-run-seconds", "0", "--clock-runs"]
        if self.late_share > 0:
            args += ["--late-share", str(self.late_share)]
            args += ["--late-max-delay", str(self.late_max_delay)]
        t = self.throttle
        if t is None:
            return [*args, "--throttle", "off"]
        if t.retry_after:
            args.append("--retry-after")
        return [
            *args,
            "--throttle", str(t.status),
            "--maximum", str(t.maximum),
            "--hwm", str(t.hwm),
            "--outflow", str(t.outflow),
            "--up-front-cost", str(t.up_front_cost),
            "--cost-base", str(t.cost_base),
            "--cost-per-item", str(t.cost_per_item),
        ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class RunningFake:
    """A listening fake: where it is, its token file and its process id."""

    base_url: str
    token_file: Path
    pid: int

    def stats(self) -> dict[str, Any]:
        """The fake's own counters (``GET /__fake__/stats``)."""
        with urllib.request.urlopen(f"{self.base_url}/__fake__/stats", timeout=10) as reply:
            data: dict[str, Any] = orjson.loads(reply.read())
        return data

    def requests_log(self) -> list[dict[str, Any]]:
        """Every request the fake saw, in order (``GET /__fake__/requests``)."""
        with urllib.request.urlopen(f"{self.base_url}/__fake__/requests", timeout=60) as reply:
            data: list[dict[str, Any]] = orjson.loads(reply.read())
        return data

    def cpu_seconds(self) -> float:
        """User plus system CPU the fake's process has used so far (Linux ``/proc``)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        # Fields 14 and 15 of stat(5), counted after the ")" that ends the command name.
        ticks = int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def running_fake(setup: FakeSetup, work_dir: Path) -> Iterator[RunningFake]:
    """Start ``python -m pageviews.testing`` and stop it when the block ends."""
    work_dir.mkdir(parents=True, exist_ok=True)
    ready, token = work_dir / "fake-ready.json", work_dir / "token.txt"
    ready.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "pageviews.testing", "--host", "127.0.0.1", "--port", str(setup.port),
        *setup.argv(), "--ready-file", str(ready), "--token-file", str(token),
    ]  # fmt: skip
    with (work_dir / "fake.log").open("ab") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        info = _wait_ready(ready, proc)
        yield RunningFake(str(info["base_url"]), token, int(info["pid"]))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(path: Path, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if path.exists():
            info: dict[str, Any] = orjson.loads(path.read_bytes())
            return info
        if proc.poll() is not None:
            raise FakeError(
                f"the fake Canvas exited with status {proc.returncode} before it was ready"
            )
        time.sleep(0.05)
    raise FakeError("the fake Canvas did not start in time")
