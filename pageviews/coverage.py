"""Which seconds of a user's history are known complete: interval arithmetic, no I/O.

An interval is ``(start, end)``: whole seconds, both included, as UTC
``YYYY-MM-DDTHH:MM:SSZ`` strings (which sort as times). A user's coverage is a
list of intervals, each read completely at some moment. A planner asks which
parts of a wanted range are not covered, and reads only those.

Views arrive late (docs/canvas.md#late-views): a second read at moment R may gain views after
R. So coverage is trusted only up to ``overlap`` before the moment it was read;
a nightly run re-reads that last stretch and de-duplicates by id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .timerange import canvas_timestamp

Interval = tuple[str, str]
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Covered:
    """An interval of one user's history read completely at ``read_at``."""

    start: str
    end: str
    read_at: str


def _shift(stamp: str, seconds: int) -> str:
    return canvas_timestamp(datetime.fromisoformat(stamp) + seconds * _SECOND)


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """The same seconds as few intervals, sorted; neighbours one second apart join."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if start > end:
            continue
        if merged and start <= _shift(merged[-1][1], 1):
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def trusted(covered: Iterable[Covered], overlap: timedelta) -> list[Interval]:
    """The covered seconds, each interval cut back to ``overlap`` before it was read."""
    kept: list[Interval] = []
    for part in covered:
        limit = canvas_timestamp(datetime.fromisoformat(part.read_at) - overlap)
        end = min(part.end, _shift(limit, -1))
        if part.start <= end:
            kept.append((part.start, end))
    return union(kept)


def missing(covered: Iterable[Interval], want: Interval) -> list[Interval]:
    """The parts of ``want`` that ``covered`` leaves out, oldest first."""
    start, end = want
    gaps: list[Interval] = []
    cursor = start
    for lo, hi in union(covered):
        if hi < cursor:
            continue
        if lo > end:
            break
        if lo > cursor:
            gaps.append((cursor, _shift(lo, -1)))
        cursor = _shift(hi, 1)
        if cursor > end:
            return gaps
    if cursor <= end:
        gaps.append((cursor, end))
    return gaps
