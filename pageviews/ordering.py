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

from collections.abc import Iterable, Iterator
from operator import itemgetter
from typing import Any

import orjson

from .errors import ProtocolError

_BY_TIME_THEN_ID = itemgetter(1, 2)
_COURSE = itemgetter(0)
_ID = itemgetter(2)


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
    runs.sort(key=itemgetter(0))
    held: list[list[Any]] = []
    last: list[Any] | None = None
    for _, first, pages in runs:
        for page in _prepend(first, pages):
            batch = held + page
            batch.sort(key=_BY_TIME_THEN_ID)
            newest = batch[-1][1]
            cut = len(batch)
            while cut and batch[cut - 1][1] == newest:
                cut -= 1
            held = batch[cut:]
            if cut:
                ready = batch[:cut]
                yield from _wanted(_after(ready, last), course_id, start, end)
                last = ready[-1]
    if held:
        held.sort(key=_BY_TIME_THEN_ID)
        yield from _wanted(_after(held, last), course_id, start, end)


def _after(rows: list[list[Any]], last: list[Any] | None) -> list[list[Any]]:
    """Sorted ``rows`` that follow ``last``, each id once; a row before it breaks the order."""
    if last is not None and _BY_TIME_THEN_ID(rows[0]) <= _BY_TIME_THEN_ID(last):
        rows = [row for row in rows if _BY_TIME_THEN_ID(row) != _BY_TIME_THEN_ID(last)]
        if rows and _BY_TIME_THEN_ID(rows[0]) < _BY_TIME_THEN_ID(last):
            raise ProtocolError("stored pages out of order; rebuild with --fresh")
    ids = list(map(_ID, rows))
    if len(set(ids)) == len(ids):
        return rows
    # The same view stored twice (window edges): sorted, the copies sit side by side.
    return [row for i, row in enumerate(rows) if i == 0 or row[2] != rows[i - 1][2]]


def _wanted(rows: list[list[Any]], course_id: int, start: str, end: str) -> list[list[Any]]:
    """The rows of ``course_id`` in ``[start, end]``; sorted, so the ends decide the range."""
    if not rows:
        return rows
    if start <= rows[0][1] and rows[-1][1] <= end and set(map(_COURSE, rows)) == {course_id}:
        return rows
    return [row for row in rows if row[0] == course_id and start <= row[1] <= end]


def _decoded(unit: Iterable[bytes]) -> Iterator[list[list[Any]]]:
    for blob in unit:
        rows: list[list[Any]] = orjson.loads(blob)
        if rows:
            rows.sort(key=_BY_TIME_THEN_ID)
            yield rows


def _prepend(first: list[list[Any]], pages: Iterator[list[list[Any]]]) -> Iterator[list[list[Any]]]:
    yield first
    yield from pages
