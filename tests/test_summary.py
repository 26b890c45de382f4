"""The summary's pure parts: page names, charts with text alternatives, local-time counts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pageviews.outputs.coursestats import CourseStats, page_labels, page_name
from pageviews.outputs.reportmeta import ReportMeta
from pageviews.outputs.summary import SummaryInput, summary_html
from pageviews.outputs.svgcharts import bars, columns, heatmap, sparkline


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://canvas.example.edu/courses/1693/assignments/55", "assignment 55"),
        ("/courses/1693/assignments", "assignments"),
        ("https://c.example.edu/courses/1693", "course home"),
        ("https://c.example.edu/courses/1693/pages/week-1?x=1", "page week-1"),
        ("/api/v1/courses/1693/quizzes/3/history", "quiz 3 history"),
        ("/courses/1693/discussion_topics/7", "discussion 7"),
        ("/courses/1693/modules/items/12", "modules item 12"),
        ("/courses/1693/external_tools/4", "tool 4"),
    ],
)
def test_pages_get_readable_names(url: str, name: str) -> None:
    assert page_name(url) == name


@pytest.mark.parametrize(
    "svg",
    [
        columns([("a", 1), ("b", 3)], title="T", desc="D", marks=[(0, "start")]),
        bars([("a", 1)], title="T", desc="D", highlight=0),
        heatmap(["r"], ["c1", "c2"], [[1, 2]], title="T", desc="D"),
        sparkline([1, 2, 3], title="T"),
    ],
)
def test_every_chart_has_a_title_and_a_text_alternative(svg: str) -> None:
    labelled = re.search(r'role="img"[^>]*aria-labelledby="(t\d+) (d\d+)"', svg)
    assert labelled is not None
    assert f'<title id="{labelled[1]}">' in svg and f'<desc id="{labelled[2]}">' in svg
    assert "<script" not in svg


def test_heat_map_cells_print_their_counts() -> None:
    svg = heatmap(["Mon"], ["00", "01"], [[5, 12]], title="T", desc="D")
    assert ">5</text>" in svg and ">12</text>" in svg


def test_counts_land_on_local_days_and_hours() -> None:
    stats = CourseStats()
    stats.chunk([(1, "2015-02-02T03:10:00Z", "a", "/x", None),
                 (1, "2015-02-02T15:00:00Z", "b", "/y", None)])  # fmt: skip
    stats.end_user(7)
    chicago = ZoneInfo("America/Chicago")
    assert stats.per_day(chicago, date(2015, 2, 1), date(2015, 2, 2)) == [
        (date(2015, 2, 1), 1),
        (date(2015, 2, 2), 1),
    ]
    grid = stats.week_hours(chicago)
    assert grid[6][21] == 1 and grid[0][9] == 1  # Sunday 21:00 and Monday 09:00 in Chicago
    assert stats.views_per_user == {7: 2} and stats.url_users == {"/x": 1, "/y": 1}


def test_the_summary_is_self_contained(tmp_path: Path) -> None:
    stats = CourseStats()
    stats.chunk([(1, "2015-02-02T03:10:00Z", "a", "https://c/courses/1/files/9", 1.0)])
    stats.end_user(5)
    stats.end_user(6)
    start = datetime(2015, 2, 1, tzinfo=UTC)
    meta = ReportMeta(1, start.isoformat(), start.isoformat(), "2015-02-01-2015-02-03", {})
    page = summary_html(
        SummaryInput(meta, UTC, start, datetime(2015, 2, 3, tzinfo=UTC), "now", "Course <1>",
                     roster=2, inactive=[(6, "Ann <b>")]),
        stats,
    )  # fmt: skip
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert not re.search(r'(?:src|href)="https?:', page)
    assert "Ann &lt;b&gt;" in page and "Course &lt;1&gt;" in page
    assert "file 9" in page


@pytest.mark.parametrize(
    ("urls", "labels"),
    [
        (["/courses/1/modules", "/api/v1/courses/1/modules?include[]=items"],
         ["modules", "modules (API, ?include[]=items)"]),
        (["/courses/1/modules", "/api/v1/courses/1/modules"], ["modules", "modules (API)"]),
        (["/courses/1/files?page=2", "/courses/1/files"], ["files (?page=2)", "files"]),
        (["https://a.example.edu/courses/1/files", "https://b.example.edu/courses/1/files"],
         ["files (a.example.edu)", "files (b.example.edu)"]),
        (["/courses/1/files#top", "/api/v1/courses/1/files", "/courses/1/files#end"],
         ["files (1)", "files (API)", "files (3)"]),
    ],
)  # fmt: skip
def test_pages_of_one_name_get_labels_that_tell_them_apart(
    urls: list[str], labels: list[str]
) -> None:
    assert page_labels(urls) == labels


def test_the_top_pages_of_the_summary_can_be_told_apart() -> None:
    stats = CourseStats()
    urls = ["https://c/courses/1/modules", "https://c/api/v1/courses/1/modules?include[]=items"]
    rows = [urls[0], *urls]  # the course's modules page first: two views
    stats.chunk([(1, "2015-02-02T03:10:00Z", str(i), url, None) for i, url in enumerate(rows)])
    stats.end_user(5)
    start = datetime(2015, 2, 1, tzinfo=UTC)
    meta = ReportMeta(1, start.isoformat(), start.isoformat(), "2015-02-01-2015-02-03", {})
    page = summary_html(
        SummaryInput(meta, UTC, start, datetime(2015, 2, 3, tzinfo=UTC), "now", "C", roster=1),
        stats,
    )
    by_views = re.search(r"<h2>Top pages by views</h2>(.*?)</svg>", page, re.DOTALL)
    assert by_views is not None
    shown = re.findall(r'data-label="([^"]*)"', by_views[1])
    assert shown == ["modules", "modules (API, ?include[]=items)"]
    assert re.findall(r'<text[^>]*text-anchor="end"[^>]*>([^<]*)</text>', by_views[1]) == [
        "modules",
        "modules (API, ?include[]=items)",
    ]
