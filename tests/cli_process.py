"""Start the real command line as a subprocess against a fake Canvas served by the test."""

from __future__ import annotations

import os
import pty
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio
from anyio.abc import Process

from pageviews.testing import FakeCanvas

SEED_ARGS = ["1693", "--start_time", "2015-01-26", "--end_time", "2015-03-12",
             "--enrollment_types", "StudentEnrollment"]  # fmt: skip
FAST_RETRIES = ["--retry-base-wait", "0.01", "--retry-max-wait", "0.05"]


def cli_env(canvas: FakeCanvas) -> dict[str, str]:
    """The environment of a user who set CANVAS_BASE_URL and nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANVAS_")}
    env["CANVAS_BASE_URL"] = canvas.base_url
    return env


def write_token(directory: Path, token: str) -> Path:
    """Put the token in ``directory/oauthtoken.txt``, readable by its owner only."""
    path = directory / "oauthtoken.txt"
    path.write_text(token + "\n")
    path.chmod(0o600)
    return path


async def start_cli(canvas: FakeCanvas, cwd: Path, args: Sequence[str]) -> Process:
    """Start ``python -m pageviews ARGS`` in ``cwd`` (where oauthtoken.txt is)."""
    return await anyio.open_process(
        [sys.executable, "-m", "pageviews", *args], cwd=cwd, env=cli_env(canvas)
    )


async def run_cli(canvas: FakeCanvas, cwd: Path, args: Sequence[str]) -> tuple[int, str, str]:
    """Run the command line to its end; return exit code, stdout and stderr."""
    done = await anyio.run_process(
        [sys.executable, "-m", "pageviews", *args], cwd=cwd, env=cli_env(canvas), check=False
    )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def run_on_terminal(canvas: FakeCanvas, cwd: Path, args: Sequence[str]) -> tuple[int, str]:
    """Run the command line with its stderr on a pseudo-terminal; return its code and screen."""
    controller, terminal = pty.openpty()
    try:
        process = await anyio.open_process(
            [sys.executable, "-m", "pageviews", *args],
            cwd=cwd,
            env=cli_env(canvas),
            stderr=terminal,
        )
        async with process:
            code = await process.wait()
        os.close(terminal)
        terminal = -1
        screen = b""
        while chunk := _read_available(controller):
            screen += chunk
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
    return code, screen.decode()


def _read_available(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # the terminal's other end is closed: all was read
        return b""


async def finish(process: Process) -> tuple[int, str]:
    """Read a started CLI's stderr to its end; return its exit code and stderr."""
    assert process.stderr is not None
    err = b"".join([chunk async for chunk in process.stderr]).decode()
    return await process.wait(), err


async def until(condition: Callable[[], bool], *, within: float = 30.0) -> None:
    """Wait until another process makes ``condition`` hold (its files say so), or fail.

    Only for what a subprocess writes: it has no event to wait on, so its files are
    looked at every few milliseconds; the result never rests on how long that takes.
    """
    with anyio.fail_after(within):
        while not condition():  # noqa: ASYNC110 -- the writer is another process
            await anyio.sleep(0.02)
