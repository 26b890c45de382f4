from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pytest

from pageviews.outputs.reportmeta import ReportMeta
from pageviews.outputs.reports import ReportWriter

META = ReportMeta(
    course_id=1693,
    start_time="2015-01-26T00:00:00+00:00",
    end_time="2015-03-12T23:59:59+00:00",
    label="2015-01-26-2015-03-12",
)
TAIL = ["2015-01-26T00:00:00+00:00", "2015-03-12T23:59:59+00:00", "1693"]
ADA = [
    (1693, "2015-02-01T00:00:00Z", "v1", "https://c/courses/1693/a", 1.5),
    (1693, "2015-02-02T00:00:00Z", "v2", "https://c/courses/1693/b", None),
    (1693, "2015-02-03T00:00:00Z", "v3", "https://c/courses/1693/b", 600.0),
]
BO = [(1693, "2015-02-01T00:00:00Z", "v4", "https://c/courses/1693/a", 2.0)]


def write_all(writer: ReportWriter) -> None:
    writer.write_user(5, "Ada L", ADA)
    writer.write_user(7, "Empty", [])
    writer.write_user(9, 'Bo, "B"', BO)


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_names_follow_the_original_script(tmp_path: Path) -> None:
    names = sorted(p.name for p in META.paths(tmp_path).values())
    assert names == [
        "total-pageviews_1693_2015-01-26-2015-03-12.csv",
        "total-pageviews_1693_2015-01-26-2015-03-12.json",
        "total-user-pageviews_1693_2015-01-26-2015-03-12.csv",
        "total-user-pageviews_1693_2015-01-26-2015-03-12.json",
        "user-pageviews_1693_2015-01-26-2015-03-12.csv",
        "user-pageviews_1693_2015-01-26-2015-03-12.json",
    ]


def test_three_reports_in_one_pass(tmp_path: Path) -> None:
    with ReportWriter(tmp_path, META) as writer:
        write_all(writer)
    paths = META.paths(tmp_path)
    assert read_csv(paths["total-pageviews.csv"]) == [
        ["Course URL", "Page Views", "Report Start Time", "Report End Time", "Report Course ID"],
        ["https://c/courses/1693/a", "2", *TAIL],
        ["https://c/courses/1693/b", "2", *TAIL],
    ]
    assert read_csv(paths["total-user-pageviews.csv"])[1:] == [
        ["5", "https://c/courses/1693/b", "2", *TAIL, "Ada L"],
        ["5", "https://c/courses/1693/a", "1", *TAIL, "Ada L"],
        ["9", "https://c/courses/1693/a", "1", *TAIL, 'Bo, "B"'],
    ]
    records = read_csv(paths["user-pageviews.csv"])
    assert records[0][:3] == ["User ID", "Course URL", "Request Date"]
    assert records[1:] == [
        ["5", "https://c/courses/1693/a", "2015-02-01T00:00:00Z", *TAIL, "Ada L", "v1", "1.5"],
        ["5", "https://c/courses/1693/b", "2015-02-02T00:00:00Z", *TAIL, "Ada L", "v2", ""],
        ["5", "https://c/courses/1693/b", "2015-02-03T00:00:00Z", *TAIL, "Ada L", "v3", "600.0"],
        ["9", "https://c/courses/1693/a", "2015-02-01T00:00:00Z", *TAIL, 'Bo, "B"', "v4", "2.0"],
    ]
    doc = orjson.loads(paths["user-pageviews.json"].read_bytes())
    assert doc["start_time"] == META.start_time and doc["course_id"] == 1693
    assert doc["data"][1] == {
        "user_id": 5,
        "course_url": "https://c/courses/1693/b",
        "request_date": "2015-02-02T00:00:00Z",
        "user_name": "Ada L",
        "page_view_id": "v2",
        "interaction_seconds": None,
    }
    totals = orjson.loads(paths["total-pageviews.json"].read_bytes())
    assert totals["data"] == [
        {"course_url": "https://c/courses/1693/a", "page_views": 2},
        {"course_url": "https://c/courses/1693/b", "page_views": 2},
    ]
    assert writer.summary.records == 4 and writer.summary.users_with_views == 2
    assert writer.summary.urls == 2
    assert sorted(tmp_path.iterdir()) == sorted(paths.values())


def test_no_rows_gives_valid_empty_reports(tmp_path: Path) -> None:
    with ReportWriter(tmp_path, META) as writer:
        writer.write_user(5, "Ada", [])
    for path in META.paths(tmp_path).values():
        if path.suffix == ".json":
            assert orjson.loads(path.read_bytes())["data"] == []
        else:
            assert len(read_csv(path)) == 1


def test_interrupted_writing_leaves_no_report_at_all(tmp_path: Path) -> None:
    def interrupted() -> None:
        with ReportWriter(tmp_path, META) as writer:
            writer.write_user(5, "Ada L", ADA)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert list(tmp_path.iterdir()) == []


def test_earlier_reports_survive_an_interrupted_rewrite(tmp_path: Path) -> None:
    with ReportWriter(tmp_path, META) as writer:
        write_all(writer)
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(RuntimeError), ReportWriter(tmp_path, META) as writer:
        raise RuntimeError("crash")
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_fast_encoding_matches_the_csv_and_json_modules(tmp_path: Path) -> None:
    tricky = [
        (1693, "2015-02-01T00:00:00Z", 'id,"q"', 'https://c/courses/1693/x?a=1,2&b="3"', 1e-05),
        (1693, "2015-02-02T00:00:00Z", "id2", "https://c/courses/1693/ünï\\code\n", 3.0),
    ]
    with ReportWriter(tmp_path, META) as writer:
        writer.write_user(5, 'Zoë "Z", Ng\t', tricky)
    paths = META.paths(tmp_path)
    rows = read_csv(paths["user-pageviews.csv"])[1:]
    assert [r[1] for r in rows] == [t[3] for t in tricky]
    assert [r[7] for r in rows] == [t[2] for t in tricky]
    assert [r[6] for r in rows] == ['Zoë "Z", Ng\t'] * 2
    assert [r[8] for r in rows] == ["1e-05", "3.0"]
    data = orjson.loads(paths["user-pageviews.json"].read_bytes())["data"]
    assert [(d["course_url"], d["page_view_id"], d["interaction_seconds"]) for d in data] == [
        (t[3], t[2], t[4]) for t in tricky
    ]
