"""A throttle is not a fault: it is waited out for up to --retry-time, whatever --retries says."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from pageviews.cli import main
from pageviews.testing import FakeConfig, FaultConfig, FaultKind, World, serve
from pageviews.testing.report_files import assert_reports_exact

from .cli_process import FAST_RETRIES, SEED_ARGS, write_token
from .harvesting import END, START, truth_for

pytestmark = pytest.mark.anyio


async def cli(canvas_url: str, tmp_path: Path, *args: str) -> int:
    argv = [*SEED_ARGS, "--base-url", canvas_url, "--token-file", str(tmp_path / "oauthtoken.txt"),
            "--out-dir", str(tmp_path), *FAST_RETRIES, *args]  # fmt: skip
    return await anyio.to_thread.run_sync(main, argv)


def throttled_first(times: int, kind: FaultKind = FaultKind.THROTTLE_429) -> FakeConfig:
    """Every page-views URL is throttled ``times`` times before it is served."""
    return FakeConfig(faults=FaultConfig(rate=1.0, kinds=(kind,), max_consecutive=times))


@pytest.mark.parametrize("kind", [FaultKind.THROTTLE_429, FaultKind.THROTTLE_403])
async def test_throttles_do_not_use_up_the_retries_meant_for_faults(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: FaultKind
) -> None:
    async with serve(small_world, throttled_first(4, kind)) as canvas:
        write_token(tmp_path, small_world.admin_token)
        code = await cli(canvas.base_url, tmp_path, "--retries", "2")
        truth = truth_for(canvas)
        throttled = sum(r.throttled or r.fault is not None for r in canvas.requests)
    err = capsys.readouterr().err
    assert code == 0, err
    assert throttled >= 4 * len(truth.roster)
    assert_reports_exact(tmp_path, truth, 1693, START, END)


async def test_a_throttle_that_never_ends_is_bounded_by_the_retry_time(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serve(small_world, throttled_first(10**6)) as canvas:
        write_token(tmp_path, small_world.admin_token)
        code = await cli(canvas.base_url, tmp_path, "--retries", "2", "--retry-time", "0.5")
    err = capsys.readouterr().err
    assert code == 9, err
    assert "gave up after retries: rate limited by Canvas (HTTP 429)" in err
