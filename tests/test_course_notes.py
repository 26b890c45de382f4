"""Honest completeness: the same warnings and notes from the single-course command, a batch
and the library, recorded per course, and a summary page that says day by day where its
views came from and warns only about days that may be missing."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from pageviews.testing import World, serve

from .cli_process import FAST_RETRIES, run_cli, write_token
from .test_history import fake_config

pytestmark = pytest.mark.anyio

RANGE = [
    "--start_time", "2015-01-01", "--end_time", "2015-04-19",
    "--enrollment_types", "StudentEnrollment", "--now", "2015-04-20T12:00:00Z", *FAST_RETRIES,
]  # fmt: skip
PAST = "list endpoint past its window"


def said(err: str, level: str) -> list[str]:
    prefix = f"pageviews: {level}: "
    return [line.removeprefix(prefix) for line in err.splitlines() if line.startswith(prefix)]


def day_sources(page: Path) -> list[str]:
    return re.findall(r'<tr data-source="([^"]+)">', page.read_text())


async def test_a_never_batch_over_a_hosted_range_says_what_the_single_command_says(
    small_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, small_world.admin_token)
    async with serve(small_world, fake_config()) as canvas:
        one = await run_cli(canvas, tmp_path, ["1693", *RANGE, "--history", "never"])
        many = await run_cli(
            canvas,
            tmp_path,
            ["batch", "1693", "169", *RANGE, "--history", "never", "--out-dir", "many"],
        )
    assert one[0] == many[0] == 0, (one[2], many[2])
    (warning,) = said(one[2], "warning")
    assert "may be missing on hosted Canvas" in warning
    assert said(many[2], "warning") == [f"courses 1693, 169: {warning}"]
    summary = orjson.loads((tmp_path / "many" / "batch-summary.json").read_bytes())
    for course in summary["courses"]:
        assert course["warnings"] == [warning]
        assert [span["source"] for span in course["sources"]] == [PAST, "list endpoint"]
        assert sum(span["views"] for span in course["sources"]) == course["records"]


async def test_a_batch_notes_where_each_courses_views_came_from(
    small_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, small_world.admin_token)
    async with serve(small_world, fake_config()) as canvas:
        one = await run_cli(canvas, tmp_path, ["1693", *RANGE, "--history", "auto"])
        many = await run_cli(
            canvas, tmp_path, ["batch", "1693", *RANGE, "--history", "auto", "--out-dir", "many"]
        )
    assert one[0] == many[0] == 0, (one[2], many[2])
    assert not said(one[2], "warning") and not said(many[2], "warning")
    (sources,) = [note for note in said(one[2], "note") if note.startswith("sources: ")]
    # auto reads the range from history but for its last day, from the list endpoint.
    assert sources.startswith("sources: from history for 2015-01-01 to ")
    assert "list endpoint for 2015-04-19" in sources
    assert f"course 1693: {sources}" in said(many[2], "note")
    (course,) = orjson.loads((tmp_path / "many" / "batch-summary.json").read_bytes())["courses"]
    assert course["warnings"] == [] and course["notes"] == [sources]


async def test_the_summary_page_shows_each_days_source_and_warns_only_of_days_not_read(
    small_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, small_world.admin_token)
    async with serve(small_world, fake_config()) as canvas:
        auto = await run_cli(
            canvas, tmp_path, ["1693", *RANGE, "--history", "auto", "--out-dir", "auto"]
        )
        never = await run_cli(
            canvas, tmp_path, ["1693", *RANGE, "--history", "never", "--out-dir", "never"]
        )
    assert auto[0] == never[0] == 0, (auto[2], never[2])
    (read, *_) = (tmp_path / "auto").glob("summary_*.html")
    # History covered the range but for its last day: no warning, every day named.
    assert day_sources(read)[0] == "history"
    assert day_sources(read)[-1] in ("list endpoint", "history and list endpoint")
    assert not {PAST, "not read"} & set(day_sources(read))
    assert 'data-stat="problem"' not in read.read_text()
    assert 'data-stat="complete"' in read.read_text()
    (listed, *_) = (tmp_path / "never").glob("summary_*.html")
    assert day_sources(listed) == [PAST, "list endpoint"]
    (problem,) = re.findall(r'<p class="warn" data-stat="problem">([^<]+)</p>', listed.read_text())
    assert problem.startswith("Page views from 2015-01-01T00:00:00Z through 2015-03-21T11:59:59Z")
    assert "may be missing on hosted Canvas" in problem
