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
) -> list[tuple[str, str]]:
    """Windows covering ``[start, oldest_seen]``, or ``[]`` when not worth splitting.

    The pages read so far covered ``[oldest_seen, end]`` with ``fetched`` records;
    the same density over the rest predicts how many records remain. Windows
    overlap by their edge second (see :meth:`TimeRange.split`), and the first
    one includes ``oldest_seen`` itself, since more records may share it.
    """
    first, rest_start, rest_end = _parse(end), _parse(start), _parse(oldest_seen)
    covered = max((first - rest_end).total_seconds(), 1.0)
    remaining = (rest_end - rest_start).total_seconds()
    if remaining <= 0 or fetched <= 0:
        return []
    expected_pages = fetched * remaining / covered / per_page
    parts = min(max_windows, math.ceil(expected_pages / PAGES_PER_WINDOW))
    if parts < 2:
        return []
    windows = TimeRange(rest_start, rest_end).split(parts)
    if len(windows) < 2:
        return []
    return [(canvas_timestamp(w.start), canvas_timestamp(w.end)) for w in windows]
