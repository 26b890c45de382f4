"""The library face of the store: a course's page views as typed records or an Arrow table."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict, Unpack

from ..sources.records import EXTRA_FIELDS, extra_values
from ..store import StateLocation, open_store
from ..timerange import canvas_timestamp
from .columnar import arrow_schema, arrow_table
from .reportmeta import PAGE_VIEWS, PERSONAL


@dataclass(frozen=True, slots=True)
class PageViewRecord:
    """One stored page view with the researcher's fields (docs/outputs.md: the dataset)."""

    id: str
    user_id: int
    user_name: str
    created_at: datetime
    url: str
    interaction_seconds: float | None
    course_id: int
    context_id: int | None
    asset_id: int | None
    context_type: str | None
    asset_type: str | None
    controller: str | None
    action: str | None
    participated: bool | None
    user_request: bool | None
    http_method: str | None
    user_agent: str | None
    app_name: str | None
    remote_ip: str | None  # None unless include_ip: personal data


def _rows(
    store_path: StateLocation | Path | str,
    course_id: int,
    start: datetime,
    end: datetime,
    users: Collection[int] | None,
    include_ip: bool,
) -> Iterator[list[Any]]:
    """Rows in PAGE_VIEWS order, with created_at still as stored text."""
    store = open_store(store_path, None)
    try:
        wanted = None if users is None else set(users)
        for user_id, name in store.course_users(course_id):
            if wanted is not None and user_id not in wanted:
                continue
            for created, view_id, url, seconds, fields, ip in store.user_records(
                user_id, course_id, canvas_timestamp(start), canvas_timestamp(end)
            ):
                values = extra_values(fields, ip)
                row = [view_id, user_id, name, created, url, seconds, course_id, *values]
                if not include_ip:
                    row[-1] = None
                yield row
    finally:
        store.close()


class Choice(TypedDict, total=False):
    """Which records: only these ``users`` (default all), ``include_ip`` (default False)."""

    users: Collection[int] | None
    include_ip: bool


def course_records(
    store_path: StateLocation | Path | str,
    course_id: int,
    start: datetime,
    end: datetime,
    **choice: Unpack[Choice],
) -> Iterator[PageViewRecord]:
    """A course's stored views in ``[start, end]`` by (user, time, id); see :class:`Choice`."""
    users, include_ip = choice.get("users"), choice.get("include_ip", False)
    for row in _rows(store_path, course_id, start, end, users, include_ip):
        row[3] = datetime.fromisoformat(row[3]).astimezone(UTC)
        yield PageViewRecord(*row)


def records_table(
    store_path: StateLocation | Path | str,
    course_id: int,
    start: datetime,
    end: datetime,
    **choice: Unpack[Choice],
) -> Any:
    """The same records as a ``pyarrow.Table`` (needs ``pageviews[parquet]``)."""
    users, include_ip = choice.get("users"), choice.get("include_ip", False)
    columns = [c for c in PAGE_VIEWS if include_ip or c[0] not in PERSONAL]
    names = [f.name for f in fields(PageViewRecord)]
    # The dataset's column order is the record's, so a row maps by position.
    assert [n for n, _ in PAGE_VIEWS] == [*names[:7], *EXTRA_FIELDS]
    rows = list(_rows(store_path, course_id, start, end, users, include_ip))
    data = [[row[i] for row in rows] for i in range(len(columns))]
    return arrow_table(columns, data, arrow_schema(columns))
