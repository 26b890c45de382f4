"""History as a second source: auto, never and only against the fake with 30-day retention."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import aiohttp
import anyio
import orjson
import pytest

from pageviews import CanvasClient, HarvestOptions, HarvestResult, TimeRange, harvest_course
from pageviews.canvas.retry import FAST_RETRIES
from pageviews.testing import (
    ExpectedReports,
    FakeCanvas,
    FakeConfig,
    HistoryConfig,
    World,
    expected_history_ids,
    expected_reports,
    serve,
)
from pageviews.testing.report_files import assert_reports_exact

pytestmark = pytest.mark.anyio

NOW = datetime(2015, 4, 20, 12, tzinfo=UTC)
START = datetime(2015, 1, 1, tzinfo=UTC)  # four months back
END = datetime(2015, 4, 19, 23, 59, 59, tzinfo=UTC)
STUDENTS = ("StudentEnrollment",)
INSTANT = HistoryConfig(queue_seconds=0, run_seconds=0)


def fake_config(history: HistoryConfig = INSTANT, **options: object) -> FakeConfig:
    config = FakeConfig(history=history, now=NOW, retention_days=30, throttle=None)
    for name, value in options.items():
        setattr(config, name, value)
    return config


async def harvest(
    canvas: FakeCanvas, out_dir: Path, mode: str, *, deadline: float = 60.0, **options: object
) -> HarvestResult:
    async with aiohttp.ClientSession() as session:
        client = CanvasClient(
            session,
            canvas.base_url,
            canvas.world.admin_token,
            retry=FAST_RETRIES,
            concurrency=8,
            timeout=deadline,
        )
        settings: dict[str, object] = {
            "course": 1693, "enrollment_types": STUDENTS, "workers": 8, **options
        }  # fmt: skip
        harvest_options = HarvestOptions(
            time_range=TimeRange(START, END),
            out_dir=out_dir,
            history=mode,
            **settings,  # type: ignore[arg-type]
        )
        return await harvest_course(client, harvest_options, now=lambda: NOW)


def truth(world: World) -> ExpectedReports:
    return expected_reports(world, 1693, START, END, enrollment_types=STUDENTS)


def starts(canvas: FakeCanvas) -> list[tuple[int, ...]]:
    return [
        r.history.user_ids
        for r in canvas.requests
        if r.history is not None and r.history.kind == "start" and r.status == 201
    ]


async def test_auto_reads_four_months_back_exactly(small_world: World, tmp_path: Path) -> None:
    async with serve(small_world, fake_config()) as canvas:
        result = await harvest(canvas, tmp_path, "auto")
    want = expected_reports(small_world, 1693, START, END, enrollment_types=STUDENTS)
    assert_reports_exact(tmp_path, want, 1693, START, END)
    assert result.complete and not result.warnings
    assert any(note.startswith("sources: ") and "from history" in note for note in result.notes)
    groups = starts(canvas)
    assert sorted(u for group in groups for u in group) == sorted(want.roster)
    assert all(len(group) == 10 for group in groups[:-1]) and len(groups[-1]) <= 10


def report_ids(out_dir: Path) -> set[str]:
    (path,) = out_dir.glob("user-pageviews_*.json")
    return {row["page_view_id"] for row in orjson.loads(path.read_bytes())["data"]}


async def test_never_misses_exactly_the_older_part_and_says_so(
    small_world: World, tmp_path: Path
) -> None:
    async with serve(small_world, fake_config()) as canvas:
        result = await harvest(canvas, tmp_path, "never")
    assert not starts(canvas)
    want = expected_reports(small_world, 1693, START, END, enrollment_types=STUDENTS)
    edge = "2015-03-21T12:00:00Z"  # NOW minus 30 days, where the list's retention cuts
    assert report_ids(tmp_path) == {r.id for r in want.records if r.created_at >= edge}
    assert {r.id for r in want.records if r.created_at < edge}, "the range must reach past"
    assert result.warnings == [
        "page views from 2015-01-01T00:00:00Z through 2015-03-21T11:59:59Z may be missing on "
        "hosted Canvas, whose list endpoint serves only the last 30 days and silently leaves "
        "older ones out (a self-hosted Canvas keeps them all); --history auto reads them "
        "from Canvas's page-view history"
    ]


async def test_only_reads_the_whole_range_from_history(small_world: World, tmp_path: Path) -> None:
    async with serve(small_world, fake_config()) as canvas:
        result = await harvest(canvas, tmp_path, "only")
    assert_reports_exact(tmp_path, truth(small_world), 1693, START, END)
    assert result.complete
    listed = [r for r in canvas.requests if r.path.endswith("/page_views")]
    # No page of views from the list endpoint: one view of each user, to tell refused
    # and deleted users before they join a batch (test_history_refusals.py).
    assert sorted(r.user_id or 0 for r in listed) == sorted(truth(small_world).roster)
    assert {r.query for r in listed} == {"per_page=1"}


@asynccontextmanager
async def ticking(canvas: FakeCanvas, seconds: float = 1.0) -> AsyncIterator[None]:
    """Move the fake's clock on by ``seconds`` every few milliseconds: jobs run and end."""

    async def tick() -> None:
        while True:
            await anyio.sleep(0.005)
            assert canvas.config.now is not None
            canvas.config.now += timedelta(seconds=seconds)

    async with anyio.create_task_group() as tg:
        tg.start_soon(tick)
        yield
        tg.cancel_scope.cancel()


def biggest_user_month(world: World, users: list[int]) -> int:
    months = [date(2015, m, 1) for m in range(1, 6)]
    return max(
        len(expected_history_ids(world, [user], lo, hi))
        for user in users
        for lo, hi in pairwise(months)
    )


RECOVERED = {
    "a failed job is started again": HistoryConfig(
        queue_seconds=0, run_seconds=0, failures=("INTERNAL_ERROR", "INTERNAL_ERROR")
    ),
    "a 500 on the result is retried": HistoryConfig(
        queue_seconds=0, run_seconds=0, result_errors=(500, 500)
    ),
    "an unusable result (400) is made again": HistoryConfig(
        queue_seconds=0, run_seconds=0, result_errors=(400,)
    ),
    "429 waits for one of our jobs to end": HistoryConfig(
        queue_seconds=1, run_seconds=3, max_jobs_per_requester=1
    ),
    "503 waits for room in the queue": HistoryConfig(queue_seconds=1, run_seconds=3, capacity=1),
    "processing, raw names, naive times, no gzip": HistoryConfig(
        queue_seconds=1,
        run_seconds=2,
        running_status="processing",
        columns="raw",
        timestamps="naive",
        compress=False,
    ),
    "a download dropped mid-file is read again": HistoryConfig(
        queue_seconds=0, run_seconds=0, cut_results="drop", cut_results_after=3000
    ),
    "a gzip file ending mid-stream is read again": HistoryConfig(
        queue_seconds=0, run_seconds=0, cut_results="end", cut_results_after=3000
    ),
    "offset times, per-user gzip": HistoryConfig(
        queue_seconds=0, run_seconds=0, timestamps="offset", max_batch_users=10
    ),
}


@pytest.mark.parametrize("history", RECOVERED.values(), ids=RECOVERED.keys())
async def test_each_job_failure_is_survived_exactly(
    small_world: World, tmp_path: Path, history: HistoryConfig
) -> None:
    async with serve(small_world, fake_config(history)) as canvas, ticking(canvas):
        result = await harvest(canvas, tmp_path, "auto")
    assert_reports_exact(tmp_path, truth(small_world), 1693, START, END)
    # A 429 on starting a query is the export service's, not the bucket's: the gate is
    # not throttled for it.
    assert result.complete and result.stats.throttled == 0
    refused = {r.status for r in canvas.requests if r.history and r.history.kind == "start"}
    if history.max_jobs_per_requester == 1:
        assert 429 in refused
    if history.capacity == 1:
        assert 503 in refused


async def test_a_job_over_the_size_limit_is_split(small_world: World, tmp_path: Path) -> None:
    want = truth(small_world)
    limit = biggest_user_month(small_world, want.roster)
    history = HistoryConfig(queue_seconds=0, run_seconds=0, max_rows=limit)
    async with serve(small_world, fake_config(history)) as canvas:
        result = await harvest(canvas, tmp_path, "auto")
    assert_reports_exact(tmp_path, want, 1693, START, END)
    assert result.complete
    assert any(len(users) < 10 for users in starts(canvas)[:-1])


@pytest.mark.parametrize("how", ["filtered_users", "hidden_users"])
async def test_users_history_may_not_show_are_named(
    small_world: World, tmp_path: Path, how: str
) -> None:
    want = truth(small_world)
    # A user with views older than the list window, so the gap would show.
    user = next(r.user_id for r in want.records if r.created_at < "2015-03-01T00:00:00Z")
    hidden = frozenset({user})
    history = (
        replace(INSTANT, filtered_users=hidden)
        if how == "filtered_users"
        else replace(INSTANT, hidden_users=hidden)
    )
    async with serve(small_world, fake_config(history)) as canvas:
        result = await harvest(canvas, tmp_path, "auto")
    assert [u for u, _ in result.failed_users] == [user]
    assert "permission denied" in result.failed_users[0][1]
    assert user not in {int(r) for r in _report_users(tmp_path)}
    assert report_ids(tmp_path) == {r.id for r in want.records if r.user_id != user}


def _report_users(out_dir: Path) -> set[str]:
    (path,) = out_dir.glob("user-pageviews_*.json")
    return {str(row["user_id"]) for row in orjson.loads(path.read_bytes())["data"]}


async def test_a_per_user_gzip_file_ending_mid_stream_is_read_again(
    small_world: World, tmp_path: Path
) -> None:
    # A lone user's file comes with Content-Encoding: gzip (docs/canvas.md#history-files); cut
    # short, it
    # must not pass for a whole file just because the HTTP body ended cleanly.
    teachers = ("TeacherEnrollment",)
    want = expected_reports(small_world, 169, START, END, enrollment_types=teachers)
    assert len(want.roster) == 1 and want.records
    history = HistoryConfig(queue_seconds=0, run_seconds=0, cut_results="end",
                            cut_results_after=2000)  # fmt: skip
    async with serve(small_world, fake_config(history)) as canvas:
        result = await harvest(canvas, tmp_path, "only", course=169, enrollment_types=teachers)
    assert_reports_exact(tmp_path, want, 169, START, END)
    assert result.complete
    downloads = [r for r in canvas.requests if r.history and r.history.kind == "results"]
    assert {len(r.history.user_ids) for r in downloads if r.history} == {1}
    assert len(downloads) == 2


async def test_a_download_stalled_mid_file_is_read_again_after_the_timeout(
    small_world: World, tmp_path: Path
) -> None:
    history = HistoryConfig(queue_seconds=0, run_seconds=0, cut_results="stall",
                            cut_results_after=3000)  # fmt: skip
    async with serve(small_world, fake_config(history)) as canvas:
        result = await harvest(canvas, tmp_path, "only", deadline=0.5)
    assert_reports_exact(tmp_path, truth(small_world), 1693, START, END)
    assert result.complete
    downloads = [r for r in canvas.requests if r.history and r.history.kind == "results"]
    assert len(downloads) == 2 * len(starts(canvas))  # each file: stalled once, then whole


@pytest.mark.parametrize("columns", ["export", "raw"])
async def test_users_whose_history_rows_lack_an_id_are_named_and_the_rest_exact(
    small_world: World, tmp_path: Path, columns: str
) -> None:
    want = truth(small_world)
    # Two users with views older than the list window: their months come from history.
    older = dict.fromkeys(r.user_id for r in want.records if r.created_at < "2015-03-01")
    idless = frozenset(list(older)[:2])
    history = replace(INSTANT, idless_users=idless, columns=columns)  # type: ignore[arg-type]
    async with serve(small_world, fake_config(history)) as canvas:
        result = await harvest(canvas, tmp_path, "auto")
    assert {u for u, _ in result.failed_users} == idless
    assert all("without an id" in why for _, why in result.failed_users)
    assert report_ids(tmp_path) == {r.id for r in want.records if r.user_id not in idless}
