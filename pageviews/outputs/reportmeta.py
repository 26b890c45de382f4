"""What a course's outputs are called and what their columns are: the one place for both.

Every file of a course is ``<kind>_<course>_<range>.<format>`` (the seed's
names, e.g. ``total-pageviews_1693_2015-01-26-2015-03-12.csv``). Columns are
named in snake_case everywhere (JSON, JSON Lines, Parquet, and the CSV of the
analyst tables and the batch summary); only the seed's three CSV reports title
them as the original script did.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from ..sources.records import EXTRA_FIELDS
from .columnar import BOOL, FLOAT, INT, NAMES, STR, TIME, Columns

TOTALS_KIND, USER_TOTALS_KIND, RECORDS_KIND = (
    "total-pageviews", "total-user-pageviews", "user-pageviews",
)  # fmt: skip
#: The seed's three reports, in the order the README lists them.
KINDS = (TOTALS_KIND, USER_TOTALS_KIND, RECORDS_KIND)
INACTIVE_KIND, PAGE_VIEWS_KIND, SUMMARY_KIND = "inactive-users", "page-views", "summary"

_RANGE: Columns = (("start_time", TIME), ("end_time", TIME), ("course_id", INT))
TOTALS: Columns = (("course_url", STR), ("page_views", INT), *_RANGE)
USER_TOTALS: Columns = (
    ("user_id", INT), ("course_url", STR), ("page_views", INT), *_RANGE, ("user_name", STR),
)  # fmt: skip
RECORDS: Columns = (
    ("user_id", INT), ("course_url", STR), ("request_date", TIME), *_RANGE,
    ("user_name", STR), ("page_view_id", STR), ("interaction_seconds", FLOAT),
)  # fmt: skip
REPORT_COLUMNS = {TOTALS_KIND: TOTALS, USER_TOTALS_KIND: USER_TOTALS, RECORDS_KIND: RECORDS}
INACTIVE: Columns = (
    ("user_id", INT), ("user_name", STR), ("enrollment_types", NAMES),
    ("last_activity_at", TIME), ("course_id", INT),
)  # fmt: skip
_EXTRA_KINDS = {"context_id": INT, "asset_id": INT, "participated": BOOL, "user_request": BOOL}
PAGE_VIEWS: Columns = (
    ("id", STR), ("user_id", INT), ("user_name", STR), ("created_at", TIME), ("url", STR),
    ("interaction_seconds", FLOAT), ("course_id", INT),
    *((name, _EXTRA_KINDS.get(name, STR)) for name in EXTRA_FIELDS),
)  # fmt: skip
#: Columns of the record-level dataset left out unless ``--include-ip``.
PERSONAL = frozenset({"remote_ip"})

#: The seed's CSV titles of the report columns.
_TITLES = {
    "course_url": "Course URL", "page_views": "Page Views", "user_id": "User ID",
    "request_date": "Request Date", "start_time": "Report Start Time",
    "end_time": "Report End Time", "course_id": "Report Course ID", "user_name": "User Name",
    "page_view_id": "Page View ID", "interaction_seconds": "Interaction Seconds",
}  # fmt: skip


def seed_csv_header(kind: str) -> list[str]:
    """The CSV header row of one of the seed's three reports."""
    return [_TITLES[name] for name, _ in REPORT_COLUMNS[kind]]


@dataclass(frozen=True, slots=True)
class ReportMeta:
    """What every report row and JSON header repeats, and what the course's files are called."""

    course_id: int
    start_time: str
    end_time: str
    label: str
    #: The enrollment filter, recorded in the JSON header so that reports of another
    #: selection under the same names are never replaced silently.
    selection: dict[str, list[str] | None] | None = None

    def stem(self, kind: str) -> str:
        """A file's name without its format: ``<kind>_<course>_<range>``."""
        return f"{kind}_{self.course_id}_{self.label}"

    def path(self, out_dir: Path, kind: str, ext: str) -> Path:
        """Where the ``kind`` file in format ``ext`` goes."""
        return out_dir / f"{self.stem(kind)}.{ext}"

    def paths(self, out_dir: Path) -> dict[str, Path]:
        """The seed's six output paths, as ``<kind>.<ext>``."""
        return {
            f"{kind}.{ext}": self.path(out_dir, kind, ext)
            for kind in KINDS
            for ext in ("csv", "json")
        }

    def json_head(self) -> bytes:
        """The JSON header of every report and table, open for ``"data"``."""
        head: dict[str, object] = {
            "start_time": self.start_time,
            "end_time": self.end_time,
            "course_id": self.course_id,
        }
        if self.selection is not None:
            head["selection"] = self.selection
        return orjson.dumps(head)[:-1]

    def table_metadata(self, table: str) -> dict[str, str]:
        """Parquet file metadata: which course, range and selection the table holds."""
        return {
            "pageviews.table": table,
            "pageviews.course_id": str(self.course_id),
            "pageviews.start_time": self.start_time,
            "pageviews.end_time": self.end_time,
            "pageviews.selection": orjson.dumps(self.selection).decode(),
        }
