"""Render a course's reports from the store, and guard reports of another selection.

The store keeps views by user and second, so a course's reports are its roster's
users in id order, each user's views of the course in the range read back in
(time, id) order by SQLite: no merging, and one user's rows at a time in memory.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import orjson

from ..errors import OutputDirError
from ..notes import CourseNotes, Read, course_notes
from ..options import BatchOptions
from ..store import Run, Store
from .coursestats import CourseStats
from .reportmeta import RECORDS_KIND, ReportMeta
from .reports import ReportTotals, ReportWriter
from .summary import SummaryInput, write_summary
from .tables import CourseTables

#: One stored view as the reports read it: (course_id, created, id, url, seconds).
ReportRow = tuple[int, str, str, str, float | None]
#: Rows shown to the analyst tables at a time: bounds memory for a long history.
_CHUNK = 4096

#: The JSON header is short; this much of a report holds it whole.
_HEAD_BYTES = 8192


def check_writable(out_dir: Path) -> None:
    """Fail before any request if the reports could not be written."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputDirError(f"output directory {out_dir} is a file, not a directory")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".pageviews-probe-{time.monotonic_ns()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputDirError(
            f"output directory {out_dir} is not writable: {exc.strerror}"
        ) from None


def report_meta(course_id: int, options: BatchOptions) -> ReportMeta:
    """What every report of this course and selection repeats."""
    requested = options.time_range
    return ReportMeta(
        course_id=course_id,
        start_time=requested.start.isoformat(),
        end_time=requested.end.isoformat(),
        label=requested.label,
        selection=selection_of(options),
    )


def selection_of(options: BatchOptions) -> dict[str, list[str] | None]:
    """The enrollment filter as the JSON reports record it."""
    return {
        "enrollment_types": sorted(options.enrollment_types) if options.enrollment_types else None,
        "enrollment_states": sorted(options.enrollment_states)
        if options.enrollment_states
        else None,
    }


def selection_clash(out_dir: Path, course_id: int, options: BatchOptions) -> str | None:
    """Why this course's reports may not be written into ``out_dir``, or None.

    Report names carry the course and the dates, not the enrollment filter or the
    times of day; reports of another selection under the same names are never
    replaced silently.
    """
    meta = report_meta(course_id, options)
    path = meta.path(out_dir, RECORDS_KIND, "json")
    try:
        with path.open("rb") as file:
            head = file.read(_HEAD_BYTES)
    except OSError:
        return None
    cut = head.find(b',"data":')
    try:
        found = orjson.loads(head[:cut] + b"}") if cut > 0 else None
    except orjson.JSONDecodeError:
        found = None
    if not isinstance(found, dict) or "selection" not in found:
        return None
    mine = {
        "start_time": meta.start_time,
        "end_time": meta.end_time,
        "selection": selection_of(options),
    }
    theirs = {key: found.get(key) for key in mine}
    if theirs == mine:
        return None
    return (
        f"{path} holds reports of another selection ({_describe(theirs)}); this run selects "
        f"{_describe(mine)}: use another --out-dir, or remove those files"
    )


def _describe(selection: Mapping[str, object]) -> str:
    chosen = selection.get("selection")
    parts = [f"{selection.get('start_time')} to {selection.get('end_time')}"]
    if isinstance(chosen, dict):
        for key in ("enrollment_types", "enrollment_states"):
            parts.append(f"{key} {','.join(chosen.get(key) or ['(all)'])}")
    return ", ".join(parts)


def render_course(
    store: Store,
    run: Run,
    course_id: int,
    roster: list[tuple[int, str]],
    options: BatchOptions,
    *,
    exclude: Collection[int] = (),
    name: str = "",
    missing: Sequence[tuple[int, str]] = (),
    list_reads_all: bool = False,
) -> ReportTotals:
    """Write one course's six reports from the store, in one streaming pass.

    Users in ``exclude`` (read only in part) are left out whole, so no report holds
    a partial count; the summary names them. ``list_reads_all``: this Canvas's list
    endpoint keeps every view (it has no History API), so no day is in doubt.
    """
    out_dir = options.course_dir(course_id)
    meta = report_meta(course_id, options)
    enrollments = store.enrollments(run.run_id, course_id)
    # Counted only for the summary and the index: the seed's reports alone pay nothing.
    stats = CourseStats() if options.summary else None
    inactive: list[tuple[int, str]] = []
    page: Path | None = None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        tables = CourseTables(
            out_dir,
            meta,
            options.formats,
            records=options.records_dataset,
            include_ip=options.include_ip,
            excel=options.excel,
        )
        try:
            with ReportWriter(
                out_dir, meta, excel=options.excel, formats=options.formats
            ) as writer:
                for user_id, user_name in roster:
                    if user_id in exclude:
                        continue
                    rows = store.user_rows(user_id, course_id, run.start, run.end)
                    seen = _Tap(user_id, user_name, tables, stats)
                    writer.write_user(user_id, user_name, seen.tap(rows))
                    tables.end_user(user_id, user_name)
                    if stats is not None:
                        stats.end_user(user_id)
                    if not seen.count:
                        kinds, last = enrollments.get(user_id, ([], None))
                        tables.inactive(user_id, user_name, kinds, last)
                        inactive.append((user_id, user_name))
                    elif options.records_dataset:
                        records = store.user_records(user_id, course_id, run.start, run.end)
                        tables.write_records(user_id, user_name, list(records))
                # Inside the block: the seed's files reach their names only after these.
                tables.commit()
            notes = _notes(
                store, run, course_id, roster, options, exclude, missing, stats, list_reads_all
            )
            if stats is not None:
                summary = SummaryInput(
                    meta=meta,
                    zone=options.time_range.start.tzinfo or UTC,
                    first_day=options.time_range.start,
                    last_day=options.time_range.end,
                    harvested_at=run.started_at,
                    course_name=name,
                    roster=len(roster),
                    inactive=inactive,
                    missing=missing,
                    incomplete=[(u, "") for u in sorted(exclude)],
                    notes=notes,
                )
                page = write_summary(out_dir, summary, stats)
        except BaseException:
            tables.discard()
            raise
    except OSError as exc:  # a full disk, a quota: the writers removed their temporary files
        raise OutputDirError(
            f"cannot write the reports in {out_dir}: {exc.strerror or exc}"
        ) from None
    writer.summary.paths.update(tables.paths)
    if page is not None:
        writer.summary.paths["summary.html"] = page
    writer.summary.inactive = len(inactive)
    writer.summary.notes = notes
    if stats is not None:
        writer.summary.per_day = _per_day(stats, options)
    return writer.summary


def _per_day(stats: CourseStats, options: BatchOptions) -> list[int]:
    zone = options.time_range.start.tzinfo or UTC
    days = stats.per_day(zone, options.time_range.start.date(), options.time_range.end.date())
    return [n for _, n in days]


def _notes(
    store: Store,
    run: Run,
    course_id: int,
    roster: Sequence[tuple[int, str]],
    options: BatchOptions,
    exclude: Collection[int],
    missing: Sequence[tuple[int, str]],
    stats: CourseStats | None,
    list_reads_all: bool,
) -> CourseNotes:
    """The course's warnings, notes and days' sources, from its read users' coverage."""
    gone = {u for u, _ in missing} | set(exclude)
    users = [u for u, _ in roster if u not in gone]
    reads = [
        Read(*row) for row in store.course_reads(run.run_id, course_id, users, run.start, run.end)
    ]
    return course_notes(
        options.time_range,
        datetime.fromisoformat(run.started_at),
        reads,
        window_days=None if list_reads_all else options.list_window_days,
        per_day=None if stats is None else _per_day(stats, options),
        users=len(users),
    )


class _Tap:
    """Pass one user's rows on to the report writer, showing each chunk to the tables."""

    def __init__(
        self, user_id: int, name: str, tables: CourseTables, stats: CourseStats | None
    ) -> None:
        self.user_id, self.name, self.tables, self.stats = user_id, name, tables, stats
        self.count = 0

    def tap(self, rows: Iterable[ReportRow]) -> Iterator[ReportRow]:
        iterator = iter(rows)
        while chunk := list(islice(iterator, _CHUNK)):
            self.count += len(chunk)
            self.tables.user_chunk(self.user_id, self.name, chunk)
            if self.stats is not None:
                self.stats.chunk(chunk)
            yield from chunk
