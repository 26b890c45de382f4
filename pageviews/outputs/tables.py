"""A course's analyst tables: the three reports as JSON Lines/Parquet, inactive users, records.

The seed's CSV and JSON of the three reports stay with :mod:`.reports`; this
writes what else was chosen, from the same users' rows in the same pass:
- the three reports in ``jsonl``/``parquet``, with the CSV's columns in snake_case;
- ``inactive-users``: roster users with no views in the range, in every chosen format;
- ``page-views`` (opt-in): one row per view with the researcher's fields.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from contextlib import suppress
from operator import itemgetter
from pathlib import Path
from typing import Any

from ..sources.records import EXTRA_FIELDS, extra_values
from .columnar import Columns, TableSink
from .reportmeta import (
    INACTIVE,
    INACTIVE_KIND,
    KINDS,
    PAGE_VIEWS,
    PAGE_VIEWS_KIND,
    PERSONAL,
    RECORDS_KIND,
    REPORT_COLUMNS,
    TOTALS_KIND,
    USER_TOTALS_KIND,
    ReportMeta,
)
from .reports import ranked

_REPORT_FORMATS = ("jsonl", "parquet")
_URL = itemgetter(3)


class CourseTables:
    """The analyst tables of one course, fed user by user; commit or discard as a whole."""

    def __init__(
        self,
        out_dir: Path,
        meta: ReportMeta,
        formats: Sequence[str],
        *,
        records: bool = False,
        include_ip: bool = False,
        excel: bool = False,
    ) -> None:
        self.meta = meta
        self._out_dir, self._excel = out_dir, excel
        report_formats = [f for f in formats if f in _REPORT_FORMATS]
        self._sinks: dict[str, TableSink] = {}
        self._page_columns = [c for c in PAGE_VIEWS if include_ip or c[0] not in PERSONAL]
        try:
            if report_formats:
                for kind in KINDS:
                    self._add(kind, REPORT_COLUMNS[kind], report_formats)
            self._add(INACTIVE_KIND, INACTIVE, formats)
            if records:
                self._add(PAGE_VIEWS_KIND, self._page_columns, formats)
        except BaseException:
            self.discard()
            raise
        self._reports = report_formats != []
        self._url_counts: Counter[str] = Counter()
        self._user_counts: Counter[str] = Counter()
        self._inactive: list[list[Any]] = [[] for _ in INACTIVE]

    def _add(self, kind: str, columns: Columns, formats: Sequence[str]) -> None:
        meta = self.meta
        self._sinks[kind] = TableSink(
            self._out_dir / meta.stem(kind),
            columns,
            formats,
            meta.table_metadata(kind),
            json_head=meta.json_head(),
            excel=self._excel,
        )

    @property
    def paths(self) -> dict[str, Path]:
        """Every file written, as ``<kind>.<format>``."""
        return {f"{k}.{f}": p for k, s in self._sinks.items() for f, p in s.paths.items()}

    def user_chunk(self, user_id: int, name: str, rows: Sequence[Sequence[Any]]) -> None:
        """A chunk of one user's report rows (course, created, id, url, seconds), in order."""
        if not self._reports or not rows:
            return
        meta, n = self.meta, len(rows)
        self._sinks[RECORDS_KIND].add_columns(
            [[user_id] * n, [r[3] for r in rows], [r[1] for r in rows], [meta.start_time] * n,
             [meta.end_time] * n, [meta.course_id] * n, [name] * n, [r[2] for r in rows],
             [r[4] for r in rows]]
        )  # fmt: skip
        self._user_counts.update(map(_URL, rows))

    def end_user(self, user_id: int, name: str) -> None:
        """Write the user's URL totals, once all their chunks are in."""
        if not self._user_counts:
            return
        meta, ranked_urls = self.meta, ranked(self._user_counts)
        m = len(ranked_urls)
        self._sinks[USER_TOTALS_KIND].add_columns(
            [[user_id] * m, [u for u, _ in ranked_urls], [c for _, c in ranked_urls],
             [meta.start_time] * m, [meta.end_time] * m, [meta.course_id] * m, [name] * m]
        )  # fmt: skip
        self._url_counts.update(self._user_counts)
        self._user_counts = Counter()

    def write_records(self, user_id: int, name: str, records: Sequence[Sequence[Any]]) -> None:
        """One user's stored views (created, id, url, seconds, shape fields, ip) as rows."""
        sink = self._sinks.get(PAGE_VIEWS_KIND)
        if sink is None or not records:
            return
        n = len(records)
        extras = [extra_values(r[4], r[5]) for r in records]
        columns: list[list[Any]] = [
            [r[1] for r in records], [user_id] * n, [name] * n, [r[0] for r in records],
            [r[2] for r in records], [r[3] for r in records], [self.meta.course_id] * n,
        ]  # fmt: skip
        wanted = {c[0] for c in self._page_columns}
        for index, field in enumerate(EXTRA_FIELDS):
            if field in wanted:
                columns.append([e[index] for e in extras])
        sink.add_columns(columns)

    def inactive(self, user_id: int, name: str, kinds: list[str], last: str | None) -> None:
        """Note a roster user with no views in the range."""
        for column, value in zip(
            self._inactive, (user_id, name, kinds, last, self.meta.course_id), strict=True
        ):
            column.append(value)

    def commit(self) -> None:
        """Write the totals and inactive users, finish every file, rename all into place."""
        if self._reports:
            meta, totals = self.meta, ranked(self._url_counts)
            m = len(totals)
            self._sinks[TOTALS_KIND].add_columns(
                [[u for u, _ in totals], [c for _, c in totals], [meta.start_time] * m,
                 [meta.end_time] * m, [meta.course_id] * m]
            )  # fmt: skip
        self._sinks[INACTIVE_KIND].add_columns(self._inactive)
        for sink in self._sinks.values():
            sink.commit()

    def discard(self) -> None:
        """Remove every temporary file."""
        for sink in self._sinks.values():
            with suppress(OSError):
                sink.discard()
