"""Stream one user's stored rows in report order, holding about a page at a time.

A user's history is stored as fetch units (the whole range, or windows of it),
each a chain of pages newest first, and units overlap only at their edge
second. Read oldest page first, every unit is an ascending run, and the units,
ordered by their oldest row, follow each other; only rows of one second can
straddle a page or unit boundary, so rows of the newest second read so far are
held back until the next page shows where that second ends. Duplicates (an edge
second fetched by two windows, a page stored twice around a crash) share their
second, so they meet among the held-back rows and leave once.

The harvest checks that each unit's pages really were newest first and marks
the unit otherwise; users with such a unit are merged in memory instead
(:func:`pageviews.records.merge_user_rows`).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from operator import itemgetter
from typing import Any

import orjson

from .errors import ProtocolError

_BY_TIME_THEN_ID = itemgetter(1, 2)


def ordered_rows(
    units: Iterable[Iterable[bytes]], course_id: int, start: str, end: str
) -> Iterator[list[Any]]:
    """Yield one user's rows of ``course_id`` in ``[start, end]``, by (time, id), each id once.

    ``units`` gives each fetch unit's page blobs, **oldest page first**, read lazily.
    """
    runs = []
    for unit in units:
        pages = _decoded(unit)
        first = next(pages, None)
        if first is not None:
            runs.append((first[0][1], first, pages))
    held: list[list[Any]] = []
    last: tuple[str, str] = ("", "")
    runs.sort(key=itemgetter(0))
    for _, first, pages in runs:
        for page in _prepend(first, pages):
            batch = held + page
            batch.sort(key=_BY_TIME_THEN_ID)
            newest = batch[-1][1]
            cut = len(batch)
            while cut and batch[cut - 1][1] == newest:
                cut -= 1
            held = batch[cut:]
            for row in batch[:cut]:
                last = yield from _emit(row, last, course_id, start, end)
    held.sort(key=_BY_TIME_THEN_ID)
    for row in held:
        last = yield from _emit(row, last, course_id, start, end)


def _emit(
    row: list[Any], last: tuple[str, str], course_id: int, start: str, end: str
) -> Generator[list[Any], None, tuple[str, str]]:
    # A generator returning the new "last" key: yields the row when it is new and wanted.
    key = (row[1], row[2])
    if key <= last:
        if key == last:
            return last  # the same view stored twice
        raise ProtocolError("stored pages out of order; rebuild with --fresh")
    if row[0] == course_id and start <= row[1] <= end:
        yield row
    return key


def _decoded(unit: Iterable[bytes]) -> Iterator[list[list[Any]]]:
    for blob in unit:
        rows: list[list[Any]] = orjson.loads(blob)
        if rows:
            rows.sort(key=_BY_TIME_THEN_ID)
            yield rows


def _prepend(first: list[list[Any]], pages: Iterator[list[list[Any]]]) -> Iterator[list[list[Any]]]:
    yield first
    yield from pages
