"""The six report files a correct harvest writes, built from :class:`ExpectedReports`.

Written from the report format in docs/outputs.md, not from the harvester's writer,
so the two can disagree; tests and benchmarks compare against this.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from .truth import ExpectedReports

REPORT_KINDS = ("total-pageviews", "total-user-pageviews", "user-pageviews")


def report_paths(out_dir: Path, course_id: int, label: str) -> dict[str, Path]:
    """Where the six files of a course and date label live."""
    return {
        f"{kind}.{ext}": out_dir / f"{kind}_{course_id}_{label}.{ext}"
        for kind in REPORT_KINDS
        for ext in ("csv", "json")
    }


def _seconds_csv(value: float | None) -> str:
    return "" if value is None else str(float(value))


def expected_files(
    truth: ExpectedReports, course_id: int, start: datetime, end: datetime
) -> dict[str, Any]:
    """The parsed content each of the six files must have."""
    s, e = start.isoformat(), end.isoformat()
    tail = [s, e, str(course_id)]
    head = ["Report Start Time", "Report End Time", "Report Course ID"]
    names = truth.user_names

    def doc(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "start_time": s,
            "end_time": e,
            "course_id": course_id,
            "selection": truth.selection,
            "data": rows,
        }

    return {
        "total-pageviews.csv": [["Course URL", "Page Views", *head]]
        + [[url, str(n), *tail] for url, n in truth.totals],
        "total-pageviews.json": doc(
            [{"course_url": url, "page_views": n} for url, n in truth.totals]
        ),
        "total-user-pageviews.csv": [["User ID", "Course URL", "Page Views", *head, "User Name"]]
        + [[str(u), url, str(n), *tail, names[u]] for u, url, n in truth.user_totals],
        "total-user-pageviews.json": doc(
            [
                {"user_id": u, "course_url": url, "page_views": n, "user_name": names[u]}
                for u, url, n in truth.user_totals
            ]
        ),
        "user-pageviews.csv": [
            [
                "User ID",
                "Course URL",
                "Request Date",
                *head,
                "User Name",
                "Page View ID",
                "Interaction Seconds",
            ]
        ]
        + [
            [
                str(r.user_id),
                r.url,
                r.created_at,
                *tail,
                names[r.user_id],
                r.id,
                _seconds_csv(r.interaction_seconds),
            ]
            for r in truth.records
        ],
        "user-pageviews.json": doc(
            [
                {
                    "user_id": r.user_id,
                    "course_url": r.url,
                    "request_date": r.created_at,
                    "user_name": names[r.user_id],
                    "page_view_id": r.id,
                    "interaction_seconds": r.interaction_seconds,
                }
                for r in truth.records
            ]
        ),
    }


def read_files(paths: dict[str, Path]) -> dict[str, Any]:
    """Parse the six files as written."""
    parsed: dict[str, Any] = {}
    for name, path in paths.items():
        if name.endswith(".csv"):
            with path.open(newline="", encoding="utf-8") as f:
                parsed[name] = list(csv.reader(f))
        else:
            parsed[name] = orjson.loads(path.read_bytes())
    return parsed


def assert_reports_exact(
    out_dir: Path,
    truth: ExpectedReports,
    course_id: int,
    start: datetime,
    end: datetime,
) -> None:
    """Assert that every report, CSV and JSON, equals the expected content exactly."""
    label = f"{start.date().isoformat()}-{end.date().isoformat()}"
    got = read_files(report_paths(out_dir, course_id, label))
    want = expected_files(truth, course_id, start, end)
    for name in want:
        assert got[name] == want[name], f"{name} differs from the ground truth"
    assert not list(out_dir.glob(".*.part")), "temporary report files were left behind"


def without_users(truth: ExpectedReports, users: Collection[int]) -> ExpectedReports:
    """The truth with some users' page views left out (recomputing the totals)."""
    records = [r for r in truth.records if r.user_id not in users]
    totals = Counter(r.url for r in records)
    per_user = Counter((r.user_id, r.url) for r in records)
    return replace(
        truth,
        records=records,
        totals=sorted(totals.items(), key=lambda t: (-t[1], t[0])),
        user_totals=sorted(
            ((u, url, n) for (u, url), n in per_user.items()), key=lambda t: (t[0], -t[2], t[1])
        ),
    )


def files_in(directory: Path) -> list[str]:
    """Names of the files in ``directory``, sorted."""
    return sorted(p.name for p in directory.iterdir())
