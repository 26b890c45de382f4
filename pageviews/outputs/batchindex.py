"""``OUT_DIR/index.html``: every course of a batch with a sparkline, linking its summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from .atomic import write_atomic
from .summary import STYLE
from .svgcharts import sparkline

INDEX = "index.html"


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One course's line: what it holds, its views per day and where its summary is."""

    ref: str
    course_id: int | None
    name: str
    status: str
    users: int
    records: int
    inactive: int
    per_day: Sequence[int]
    summary: Path | None


def write_index(out_dir: Path, label: str, entries: Sequence[IndexEntry]) -> Path:
    """Write the index whole (a temporary name, then renamed into place)."""
    return write_atomic(out_dir / INDEX, index_html(out_dir, label, entries).encode())


def _cell(key: str, value: int) -> str:
    return f'<td data-stat="{key}" data-value="{value}">{value:,}</td>'


def index_html(out_dir: Path, label: str, entries: Sequence[IndexEntry]) -> str:
    """The page: batch totals, then a row per course."""
    rows = []
    for e in entries:
        name = escape(e.name or e.ref)
        if e.summary is not None:
            link = escape(e.summary.relative_to(out_dir).as_posix())
            name = f'<a href="{link}">{name}</a>'
        spark = (
            sparkline(list(e.per_day), title=f"Page views per day, course {e.course_id}")
            if e.per_day
            else ""
        )
        rows.append(
            f'<tr data-course="{e.course_id or escape(e.ref)}"><td>{e.course_id or ""}</td>'
            f"<td>{name}</td><td>{escape(e.status)}</td>{_cell('users', e.users)}"
            f"{_cell('views', e.records)}{_cell('inactive', e.inactive)}<td>{spark}</td></tr>"
        )
    views, users = sum(e.records for e in entries), sum(e.users for e in entries)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Page views {escape(label)}: {len(entries)} courses</title><style>{STYLE}
table{{border-collapse:collapse}}tr{{border-bottom:1px solid #ddd}}</style></head>
<body><h1>Page views {escape(label)}</h1>
<dl class="stats"><div><dt>Courses</dt><dd data-stat="courses" data-value="{len(entries)}">
{len(entries):,}</dd></div><div><dt>Page views</dt><dd data-stat="views" data-value="{views}">
{views:,}</dd></div><div><dt>Roster places</dt><dd data-stat="users" data-value="{users}">
{users:,}</dd></div></dl>
<table><thead><tr><th>ID</th><th>Course</th><th>Status</th><th>Users</th><th>Page views</th>
<th>Without views</th><th>Per day</th></tr></thead><tbody>{"".join(rows)}</tbody></table>
</body></html>
"""
