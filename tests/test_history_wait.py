"""A history job that never ends does not hang the run: --history-wait bounds it.

The fake's clock stands still, so its jobs stay ``running`` until the test moves
it: exactly a job that never finishes, as far as a run can tell.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from pageviews.cli import main
from pageviews.testing import FakeCanvas, HistoryConfig, World, serve
from pageviews.testing.report_files import assert_reports_exact

from .test_history import END, START, fake_config, truth
from .test_history_refusals import ARGS, starts

pytestmark = pytest.mark.anyio

JOB = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


async def cli(canvas: FakeCanvas, tmp_path: Path, *args: str) -> int:
    token = tmp_path / "oauthtoken.txt"
    token.write_text(canvas.world.admin_token)
    token.chmod(0o600)
    argv = [*ARGS, "--base-url", canvas.base_url, "--out-dir", str(tmp_path),
            "--token-file", str(token), "--history", "only", *args]  # fmt: skip
    return await anyio.to_thread.run_sync(main, argv)


async def test_a_job_past_the_history_wait_names_its_users_and_a_rerun_polls_it_again(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = HistoryConfig(queue_seconds=1, run_seconds=1000, max_jobs_per_requester=10)
    async with serve(small_world, fake_config(history)) as canvas:
        code = await cli(canvas, tmp_path, "--history-wait", "0.3", "-v")
        first = capsys.readouterr().err
        jobs = [users for status, users in starts(canvas) if status == 201]
        assert code == 9, first
        code = await cli(canvas, tmp_path, "--history-wait", "0.3")
        second = capsys.readouterr().err
        assert code == 9, second
        assert len(starts(canvas)) == len(jobs), "a rerun started a job again"
        assert canvas.config.now is not None
        canvas.config.now += timedelta(seconds=2000)  # the jobs end
        code = await cli(canvas, tmp_path, "-v")
        third = capsys.readouterr().err
        assert len(starts(canvas)) == len(jobs)
    assert code == 0, third
    assert_reports_exact(tmp_path, truth(small_world), 1693, START, END)
    named = re.findall(
        rf"INCOMPLETE user \d+: history job ({JOB}) still (\w+) after 0.3 s \(--history-wait\); "
        r"run the same command again to poll it again",
        first,
    )
    assert len(named) == sum(map(len, jobs))
    assert {state for _, state in named} == {"queued"}
    ids = {job for job, _ in named}
    assert len(ids) == len(jobs)
    # Every change of a job's state is a -v line: started and queued; two runs later,
    # once the clock moved past its end, finished.
    for job in ids:
        started = rf"history job {job} started: users [\d, ]+, 2015-01-01 to 2015-05-01"
        assert re.search(started, first)
        assert f"history job {job}: queued" in first
        assert f"history job {job}: finished" in third
        assert f"history job {job} started" not in second + third
