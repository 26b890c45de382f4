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
#: Where a run that read no course puts its summary, beside the last good one.
REFUSED_STEM = "batch-summary-refused"
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


def refused(result: BatchResult) -> bool:
    """Whether the run read no course at all (each refused, unknown or failed)."""
    return len(result.failed_courses) == len(result.courses)


def write_summary(result: BatchResult, options: BatchOptions) -> dict[str, Path]:
    """Write both summary files (temporary names, then renamed); return their paths.

    A refused run never replaces the last good summary with a worse one: its own goes
    beside it under :data:`REFUSED_STEM`; a run that read courses removes that stale one.
    """
    out_dir = options.out_dir
    stem = REFUSED_STEM if refused(result) else SUMMARY_STEM
    rows = summary_rows(result, out_dir)
    document = {
        "start_time": options.time_range.start.isoformat(),
        "end_time": options.time_range.end.isoformat(),
        "selection": selection_of(options),
        "incremental": options.incremental,
        "courses": rows,
        "totals": totals(result),
    }
    paths = {"json": out_dir / f"{stem}.json", "csv": out_dir / f"{stem}.csv"}
    write_document(paths["json"], document)
    with CsvFile(paths["csv"], COLUMNS, excel=options.excel, lineterminator="\n") as table:
        table.write_rows(
            [_cell(row[c], " | " if c in ("warnings", "notes") else " ") for c in COLUMNS]
            for row in rows
        )
    if stem == SUMMARY_STEM:
        for suffix in ("json", "csv"):
            (out_dir / f"{REFUSED_STEM}.{suffix}").unlink(missing_ok=True)
    return paths


def _cell(value: object, joiner: str) -> object:
    if isinstance(value, list):
        return joiner.join(map(str, value))
    return "" if value is None else value
