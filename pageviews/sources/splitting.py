"""When one user's history is long, cut the rest of it into windows fetched side by side.

A user's pages form a serial chain of requests; a student with thirty pages
makes the whole course wait thirty round trips. The pages read so far tell how
dense the history is, which is enough to plan windows of a few pages each.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from ..timerange import TimeRange, canvas_timestamp

#: A window should hold about this many pages, so its chain stays short.
PAGES_PER_WINDOW = 3
MAX_WINDOWS = 16
_ONE_SECOND = timedelta(seconds=1)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def plan_windows(
    *,
    start: str,
    end: str,
    oldest_seen: str,
    fetched: int,
    per_page: int,
    max_windows: int = MAX_WINDOWS,
    metered: bool = True,
) -> list[tuple[str, str]]:
    """Windows covering the whole unit ``[start, end]``, or ``[]`` when not worth splitting.

    The pages read so far covered ``[oldest_seen, end]`` with ``fetched`` records;
    the same density over the rest predicts how many records remain. Windows
    overlap by their edge second (see :meth:`TimeRange.split`).

    The newest window reaches to ``end``, so it reads the pages already read once
    more: a chain is newest first only as far as it was read, and a later page
    may still hold a view newer than ``oldest_seen`` (a server whose order breaks
    further on). Only a window asked for those seconds is sure to show it, so the
    union of the windows is the unsplit chain's whatever order its pages come in.
    That is why, while Canvas's bucket is ``metered`` (each request spends its
    time), a chain is split only while it has read a window's worth of pages at
    most: later, reading them again would cost more than a window saves. Without
    a bucket a page read again costs a round trip beside the others, and a chain
    whose length shows only later is still worth cutting.
    """
    if metered and fetched > PAGES_PER_WINDOW * per_page:
        return []
    newest, rest_start, rest_end = _parse(end), _parse(start), _parse(oldest_seen)
    covered = max((newest - rest_end).total_seconds(), 1.0)
    remaining = (rest_end - rest_start).total_seconds()
    if remaining <= 0 or fetched <= 0:
        return []
    expected_pages = fetched * remaining / covered / per_page
    parts = min(max_windows, math.ceil(expected_pages / PAGES_PER_WINDOW))
    if parts < 2:
        return []
    older = TimeRange(rest_start, rest_end).split(parts)
    if len(older) < 2:
        return []
    windows = [TimeRange(older[0].start, newest), *older[1:]]
    return [(canvas_timestamp(w.start), canvas_timestamp(w.end)) for w in windows]
