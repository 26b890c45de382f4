"""History as a second source: auto, never and only against the fake with 30-day retention."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from pageviews import CanvasClient, HarvestOptions, HarvestResult, TimeRange, harvest_course
from pageviews.canvas.retry import FAST_RETRIES
from pageviews.testing import (
    FakeCanvas,
    FakeConfig,
    HistoryConfig,
    World,
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


async def harvest(canvas: FakeCanvas, out_dir: Path, mode: str, **options: object) -> HarvestResult:
    async with aiohttp.ClientSession() as session:
        client = CanvasClient(
            session, canvas.base_url, canvas.world.admin_token, retry=FAST_RETRIES, concurrency=8
        )
        harvest_options = HarvestOptions(
            course=1693,
            time_range=TimeRange(START, END),
            enrollment_types=STUDENTS,
            out_dir=out_dir,
            workers=8,
            history=mode,
            **options,  # type: ignore[arg-type]
        )
        return await harvest_course(client, harvest_options, now=lambda: NOW)


def truth(world: World) -> object:
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
