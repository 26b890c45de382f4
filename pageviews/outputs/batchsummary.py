"""``batch-summary.json`` and ``.csv``: a row per course of a batch, and the batch's totals."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .csvfile import CsvFile
from .jsonfile import write_document
from .render import selection_of

if TYPE_CHECKING:
    from ..options import BatchOptions
    from ..results import BatchResult

SUMMARY_STEM = "batch-summary"
COLUMNS = (
    "course_id",
    "course",
    "name",
    "status",
    "users",
    "records",
    "missing_users",
    "failed_users",
    "reports",
    "detail",
    "warnings",
    "notes",
)


def summary_rows(result: BatchResult, out_dir: Path) -> list[dict[str, Any]]:
    """One plain row per course, as both files hold them."""
    rows = []
    for course in result.courses:
        folder = next(iter(course.reports.values())).parent if course.reports else None
        rows.append(
            {
                "course_id": course.course_id,
                "course": course.ref,
                "name": course.name,
                "status": course.status,
                "users": course.users,
                "records": course.records,
                "missing_users": [user for user, _ in course.missing_users],
                "failed_users": [user for user, _ in course.failed_users],
                "reports": None if folder is None else os.path.relpath(folder, out_dir),
                "detail": course.detail,
                "warnings": course.warnings,
                "notes": course.notes,
                "sources": [span.to_json() for span in course.days],
            }
        )
    return rows


def totals(result: BatchResult) -> dict[str, Any]:
    """The batch's totals: what it read and what it cost."""
    stats = result.stats
    return {
        "courses": len(result.courses),
        "courses_failed": len(result.failed_courses),
        "users": result.users,
        "records": sum(c.records for c in result.courses),
        "requests": stats.requests,
        "throttled": stats.throttled,
        "retries": stats.retries,
        "seconds": round(result.seconds, 3),
    }


def write_summary(result: BatchResult, options: BatchOptions) -> dict[str, Path]:
    """Write both summary files (temporary names, then renamed); return their paths."""
    out_dir = options.out_dir
    rows = summary_rows(result, out_dir)
    document = {
        "start_time": options.time_range.start.isoformat(),
        "end_time": options.time_range.end.isoformat(),
        "selection": selection_of(options),
        "incremental": options.incremental,
        "courses": rows,
        "totals": totals(result),
    }
    paths = {
        "json": out_dir / f"{SUMMARY_STEM}.json",
        "csv": out_dir / f"{SUMMARY_STEM}.csv",
    }
    write_document(paths["json"], document)
    with CsvFile(paths["csv"], COLUMNS, excel=options.excel, lineterminator="\n") as table:
        table.write_rows(
            [_cell(row[c], " | " if c in ("warnings", "notes") else " ") for c in COLUMNS]
            for row in rows
        )
    return paths


def _cell(value: object, joiner: str) -> object:
    if isinstance(value, list):
        return joiner.join(map(str, value))
    return "" if value is None else value
