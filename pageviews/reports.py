"""The three seed-compatible reports, each as CSV and JSON, written in one streaming pass.

Row order (documented in the README):
- ``total-pageviews``: page views descending, then URL;
- ``total-user-pageviews``: user id, then page views descending, then URL;
- ``user-pageviews``: user id, then request date, then page view id.

Every file is written under a temporary name and renamed only when all six are
complete, so an interrupted run never leaves a half-written report.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Self

import orjson

from .store import ReportRow

_REPORT_COLUMNS = ["Report Start Time", "Report End Time", "Report Course ID"]
TOTALS_CSV = ["Course URL", "Page Views", *_REPORT_COLUMNS]
USER_TOTALS_CSV = ["User ID", "Course URL", "Page Views", *_REPORT_COLUMNS, "User Name"]
RECORDS_CSV = [
    "User ID",
    "Course URL",
    "Request Date",
    *_REPORT_COLUMNS,
    "User Name",
    "Page View ID",
    "Interaction Seconds",
]
TOTALS_JSON = ("course_url", "page_views")
USER_TOTALS_JSON = ("user_id", "course_url", "page_views", "user_name")
RECORDS_JSON = (
    "user_id",
    "course_url",
    "request_date",
    "user_name",
    "page_view_id",
    "interaction_seconds",
)


@dataclass(frozen=True, slots=True)
class ReportMeta:
    """What every report row and JSON header repeats."""

    course_id: int
    start_time: str
    end_time: str
    label: str

    def paths(self, out_dir: Path) -> dict[str, Path]:
        """The six output paths, named as the original script named them."""
        stem = f"{self.course_id}_{self.label}"
        return {
            f"{kind}.{ext}": out_dir / f"{kind}_{stem}.{ext}"
            for kind in ("total-pageviews", "total-user-pageviews", "user-pageviews")
            for ext in ("csv", "json")
        }


@dataclass(slots=True)
class ReportTotals:
    """What the reports hold, for the summary and the library's return value."""

    records: int = 0
    users_with_views: int = 0
    urls: int = 0
    paths: dict[str, Path] = field(default_factory=dict)


def ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    """Order (url, count) pairs by count descending, then url."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


class _Report:
    """One report as a CSV and a JSON file, written to temporary names."""

    def __init__(
        self, csv_path: Path, json_path: Path, meta: ReportMeta, csv_head: list[str]
    ) -> None:
        self.targets = [(csv_path, _part(csv_path)), (json_path, _part(json_path))]
        self._csv_file: IO[str] = open(_part(csv_path), "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._json_file: IO[bytes] = open(_part(json_path), "wb")  # noqa: SIM115
        self._csv = csv.writer(self._csv_file)
        self._csv.writerow(csv_head)
        head = orjson.dumps(
            {"start_time": meta.start_time, "end_time": meta.end_time, "course_id": meta.course_id}
        )
        self._json_file.write(head[:-1] + b',"data":[')
        self._first = True

    def write(self, csv_row: list[Any], json_row: dict[str, Any]) -> None:
        self._csv.writerow(csv_row)
        self._json_file.write((b"\n" if self._first else b",\n") + orjson.dumps(json_row))
        self._first = False

    def write_many(self, csv_rows: list[list[Any]], json_rows: list[bytes]) -> None:
        self._csv.writerows(csv_rows)
        if json_rows:
            self._json_file.write((b"\n" if self._first else b",\n") + b",\n".join(json_rows))
            self._first = False

    def close(self) -> None:
        self._json_file.write(b"\n]}\n")
        self._csv_file.close()
        self._json_file.close()

    def discard(self) -> None:
        self._csv_file.close()
        self._json_file.close()
        for _, part in self.targets:
            part.unlink(missing_ok=True)


def _part(path: Path) -> Path:
    return path.with_name(f".{path.name}.part")


class ReportWriter:
    """Fold report rows, already in report order, into the six files."""

    def __init__(self, out_dir: Path, meta: ReportMeta) -> None:
        self.meta = meta
        paths = meta.paths(out_dir)
        self._reports: list[_Report] = []
        try:
            for kind, head in (
                ("total-pageviews", TOTALS_CSV),
                ("total-user-pageviews", USER_TOTALS_CSV),
                ("user-pageviews", RECORDS_CSV),
            ):
                self._reports.append(
                    _Report(paths[f"{kind}.csv"], paths[f"{kind}.json"], meta, head)
                )
        except BaseException:
            self.discard()
            raise
        self._totals, self._user_totals, self._records = self._reports
        self._tail = [meta.start_time, meta.end_time, meta.course_id]
        self._url_counts: Counter[str] = Counter()
        self.summary = ReportTotals(paths=dict(paths))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()

    def write(self, rows: Iterable[ReportRow], batch: int = 2000) -> None:
        """Write rows in (user, time, id) order; user totals flush as each user ends."""
        tail = self._tail
        user_counts: Counter[str] = Counter()
        current: tuple[int, str] | None = None
        csv_rows: list[list[Any]] = []
        json_rows: list[bytes] = []
        dumps = orjson.dumps
        for user_id, url, created, view_id, seconds, name in rows:
            if current is None or current[0] != user_id:
                if current is not None:
                    self._flush_user(current, user_counts)
                current = (user_id, name)
                user_counts = Counter()
            user_counts[url] += 1
            csv_rows.append(
                [user_id, url, created, *tail, name, view_id, "" if seconds is None else seconds]
            )
            json_rows.append(
                dumps(
                    {
                        "user_id": user_id,
                        "course_url": url,
                        "request_date": created,
                        "user_name": name,
                        "page_view_id": view_id,
                        "interaction_seconds": seconds,
                    }
                )
            )
            if len(csv_rows) >= batch:
                self._records.write_many(csv_rows, json_rows)
                csv_rows, json_rows = [], []
        self._records.write_many(csv_rows, json_rows)
        if current is not None:
            self._flush_user(current, user_counts)

    def _flush_user(self, user: tuple[int, str], counts: Counter[str]) -> None:
        user_id, name = user
        self._url_counts.update(counts)
        self.summary.users_with_views += 1
        for url, count in ranked(counts):
            self.summary.records += count
            self._user_totals.write(
                [user_id, url, count, *self._tail, name],
                {"user_id": user_id, "course_url": url, "page_views": count, "user_name": name},
            )

    def commit(self) -> None:
        """Write the URL totals, close every file and rename all six into place."""
        for url, count in ranked(self._url_counts):
            self._totals.write([url, count, *self._tail], {"course_url": url, "page_views": count})
        self.summary.urls = len(self._url_counts)
        for report in self._reports:
            report.close()
        for report in self._reports:
            for final, part in report.targets:
                os.replace(part, final)

    def discard(self) -> None:
        """Remove the temporary files; nothing reaches the final names."""
        for report in self._reports:
            report.discard()
