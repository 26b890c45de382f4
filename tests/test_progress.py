"""Progress with an estimate: users, history jobs and time left, on a terminal and as JSON."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from pageviews.engine import Progress
from pageviews.outlook import Work, describe, seconds_left
from pageviews.store import Unit
from pageviews.testing import FakeConfig, World, serve
from pageviews.testing.throttle import ThrottleConfig

from .cli_process import FAST_RETRIES, run_cli, run_on_terminal, write_token
from .test_history import fake_config

pytestmark = pytest.mark.anyio

HISTORY_ARGS = [
    "1693", "--start_time", "2015-01-01", "--end_time", "2015-04-19",
    "--enrollment_types", "StudentEnrollment", "--history", "auto",
    "--now", "2015-04-20T12:00:00Z", *FAST_RETRIES,
]  # fmt: skip


def slow_fake() -> FakeConfig:
    """History four months back, a bucket that binds a little, and some latency."""
    return fake_config(latency=0.03, throttle=replace(ThrottleConfig(), outflow=200.0))


async def test_json_logs_give_progress_with_jobs_and_time_left(
    small_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, small_world.admin_token)
    args = [*HISTORY_ARGS, "--log-format", "json", "--progress-every", "0.05"]
    async with serve(small_world, slow_fake()) as canvas:
        code, _, err = await run_cli(canvas, tmp_path, args)
    assert code == 0, err
    lines = [orjson.loads(line) for line in err.splitlines()]
    progress = [line for line in lines if line.get("event") == "progress"]
    assert len(progress) >= 3, err
    for line in progress:
        assert {"users_done", "users_total", "jobs_done", "jobs_running", "jobs_queued"} <= set(
            line
        )
        assert line["message"] == "progress" and line["level"] == "info"
    assert any(line["jobs_done"] + line["jobs_running"] + line["jobs_queued"] for line in progress)
    assert any(line["seconds_left"] is not None for line in progress)
    assert progress[-1]["users_total"] == 38  # the course's students, the token's user aside
    # A user whose list units end before its history group fills is not done yet.
    assert all(line["users_done"] <= line["users_total"] for line in progress)


async def test_the_terminal_line_shows_users_jobs_and_time_left(
    small_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, small_world.admin_token)
    async with serve(small_world, slow_fake()) as canvas:
        code, text = await run_on_terminal(canvas, tmp_path, HISTORY_ARGS)
    assert code == 0, text
    assert "\r\x1b[Kusers " in text
    assert " queued · " in text and "history jobs " in text
    assert " s left" in text or " min " in text


def test_the_estimate_is_the_slowest_of_bucket_pace_and_jobs() -> None:
    # 20 list units done in 40 pages; 2 being read, 10 pages so far and 30 predicted by
    # the share of their seconds read; 18 not started; a page has cost 1 unit. Two export
    # jobs left at 300 units each, one of them started (its 150-unit start paid).
    work = Work(
        elapsed=10.0,
        list_done=20,
        list_left=20,
        list_spent=50.0,
        list_pages=50,
        reading=2,
        reading_pages=10,
        reading_total=30.0,
        jobs_queued=1,
        jobs_running=1,
        job_cost=300.0,
        job_start_cost=150.0,
        spent=500.0,
        outflow=10.0,
        room=50.0,
    )
    # Heavy histories end last: a unit not started is taken at the mean of those done
    # and those being read as predicted, (40 + 30) / 22 pages, not 40 / 20.
    pages = (30 - 10) + 18 * (40 + 30) / 22
    left = pages * 1.0 + 300.0 + 150.0
    assert seconds_left(work) == pytest.approx((left - 50.0) / 10.0)  # the bucket binds
    fast = replace(work, outflow=1000.0)
    assert seconds_left(fast) == pytest.approx(10.0 * left / 500.0)  # the pace so far
    slow_jobs = replace(fast, job_seconds=120.0)
    assert seconds_left(slow_jobs) == pytest.approx(2 * 120.0)  # the jobs: one at a time
    assert seconds_left(Work(elapsed=1.0, list_left=5)) is None  # nothing to go on yet


def test_time_left_reads_as_a_person_would_say_it() -> None:
    assert describe(None) == "time left: estimating"
    assert describe(42.4) == "about 42 s left"
    assert describe(130) == "about 2 min 10 s left"
    assert describe(3 * 3600 + 300) == "about 3 h 05 min left"


def test_a_user_is_done_once_when_its_history_group_ends_after_its_list_units() -> None:
    progress = Progress()
    progress.users_total = 2
    progress.awaiting.update({7, 8})  # both planned into one history group, not full yet
    progress.planned(Unit(1, 7, "2015-03-21T13:00:00Z", "2015-04-19T23:59:59Z", "list"))
    progress.planned(Unit(2, 8, "2015-03-21T13:00:00Z", "2015-04-19T23:59:59Z", "list"))
    assert not progress.ended(7) and progress.users_done == 0  # its group is still to read
    # The group fills; user 8's unit reads it, for user 7 too.
    progress.awaiting.discard(8)
    progress.planned(
        Unit(3, 8, "2015-01-01T00:00:00Z", "2015-03-21T12:59:59Z", "history", query_key=1)
    )
    progress.joined(7)
    assert progress.job_counts() == {"queued": 1} and not progress.awaiting
    assert not progress.ended(8)  # its list unit
    assert progress.ended(8) and progress.ended(7)  # the group's unit, for both
    assert progress.users_done == 2 == progress.users_total


def test_a_units_share_read_weighs_its_seconds_by_where_views_fall() -> None:
    # A finished unit showed a tenth of its views in the newer half of the range: another
    # unit that has read that half has read about a tenth of its views, not half.
    progress = Progress()
    done = Unit(1, 7, "2015-01-01T00:00:00Z", "2015-01-30T23:59:59Z", "list")
    progress.planned(done)
    progress.read_page(done, 1, "2015-01-16T00:00:00Z", records=10)
    progress.read_page(done, 2, "2015-01-01T00:00:00Z", records=90)
    progress.unit_ended(done)
    reading = Unit(2, 8, "2015-01-01T00:00:00Z", "2015-01-30T23:59:59Z", "list")
    progress.planned(reading)
    progress.read_page(reading, 1, "2015-01-16T00:00:00Z", records=100)
    pages, share = progress.reading[2]
    assert pages == 1 and share == pytest.approx(0.1, abs=0.01)
    assert progress.pages_ended == 2
