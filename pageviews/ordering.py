"""Stream one user's stored rows in report order, holding about a page per unit.

A user's history is stored as fetch units (the whole range, or windows of it),
each a chain of pages newest first. Units may overlap: a window reaches through
the whole second of the record where its parent stopped, a page may be stored
twice around a crash. Read oldest page first, every unit is a non-decreasing run
of seconds, so the units merge page by page: the pages not yet read all start at
or after the *frontier* (the oldest first second among them), so every buffered
row older than it is final and leaves in (time, id) order, each id once. Copies
of one view share their second, so they always leave together.

The harvest checks that each unit's pages really were newest first and marks
the unit otherwise; users with such a unit are merged in memory instead
(:func:`pageviews.records.merge_user_rows`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from operator import itemgetter
from typing import Any

import orjson

from .errors import ProtocolError

_BY_TIME_THEN_ID = itemgetter(1, 2)
_COURSE = itemgetter(0)
_CREATED = itemgetter(1)


def ordered_rows(
    units: Iterable[Iterable[bytes]], course_id: int, start: str, end: str
) -> Iterator[list[Any]]:
    """Yield one user's rows of ``course_id`` in ``[start, end]``, by (time, id), each id once.

    ``units`` gives each fetch unit's page blobs, **oldest page first**, read lazily.
    """
    heads: list[tuple[str, int, list[list[Any]], Iterator[list[list[Any]]]]] = []
    for index, unit in enumerate(units):
        pages = _decoded(unit)
        first = next(pages, None)
        if first is not None:
            heads.append((first[0][1], index, first, pages))
    heapq.heapify(heads)
    held: list[list[Any]] = []
    done = ""  # every second before this one has been yielded
    while heads:
        _, index, page, pages = heads[0]
        following = next(pages, None)
        if page[0][1] <= done or (following is not None and following[0][1] < page[-1][1]):
            raise ProtocolError("stored pages out of order; rebuild with --fresh")
        if following is None:
            heapq.heappop(heads)
        else:
            heapq.heapreplace(heads, (following[0][1], index, following, pages))
        held += page
        if not heads:
            break
        frontier = heads[0][0]
        if held[-1][1] < frontier and len(held) == len(page):
            ready, held = held, []  # the common case: one unit, a page of older seconds
        else:
            held.sort(key=_BY_TIME_THEN_ID)
            cut = len(held)
            while cut and held[cut - 1][1] >= frontier:
                cut -= 1
            ready, held = held[:cut], held[cut:]
        if ready:
            yield from _wanted(_unique(ready), course_id, start, end)
            done = ready[-1][1]
    if held:
        held.sort(key=_BY_TIME_THEN_ID)
        yield from _wanted(_unique(held), course_id, start, end)


def _unique(rows: list[list[Any]]) -> list[list[Any]]:
    """Sorted ``rows``, each id once: copies of a view share its second, so sit side by side."""
    ids = [row[2] for row in rows]
    if len(set(ids)) == len(ids):
        return rows
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
