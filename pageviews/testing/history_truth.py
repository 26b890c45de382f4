"""Ground truth for the PageView History API, computed straight from the world.

Shares no code with the history request path (`history_api`, `history_files`):
month bounds and the list window are written again here from docs/canvas.md#history-api.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from .world import World

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class HistoryViewRow(NamedTuple):
    """One view an export must hold, with local ids."""

    user_id: int
    id: str
    created_ms: int  # epoch milliseconds
    url: str
    context_type: str | None
    context_id: int | None


@dataclass(frozen=True, slots=True)
class SourceSplit:
    """The views of a range, split at the list endpoint's window (`auto` mode's seam).

    Views at or after `boundary` are within the list window; older ones can come
    only from history.
    """

    boundary: datetime
    from_list: frozenset[str]
    from_history: frozenset[str]


def _ms(moment: datetime) -> int:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(milliseconds=1)


def _month_ms(day: date) -> int:
    if day.day != 1:
        raise ValueError(f"{day} is not the first day of a month")
    return _ms(datetime(day.year, day.month, 1, tzinfo=UTC))


def expected_history_rows(
    world: World,
    user_ids: Iterable[int],
    start: date,
    end: date,
    *,
    now: datetime | None = None,
) -> list[HistoryViewRow]:
    """Return every view of the users in the months [start, end), by user and time.

    `now` (default: no limit) leaves out views after the moment a job started.
    """
    lo, hi = _month_ms(start), _month_ms(end)
    limit = None if now is None else _ms(now)
    rows = []
    for user_id in dict.fromkeys(user_ids):
        store = world.views(user_id)
        for index, millis in enumerate(store.ms):
            if lo <= millis < hi and (limit is None or millis <= limit):
                view = store.to_json(index, user_id, world.tables)
                links = view.get("links") or {}
                rows.append(
                    HistoryViewRow(
                        user_id,
                        view["id"],
                        millis,
                        view["url"],
                        view["context_type"],
                        links.get("context"),
                    )
                )
    return rows


def expected_history_ids(
    world: World,
    user_ids: Iterable[int],
    start: date,
    end: date,
    *,
    now: datetime | None = None,
) -> set[str]:
    """Return the ids of every view of the users in the months [start, end)."""
    return {row.id for row in expected_history_rows(world, user_ids, start, end, now=now)}


def split_by_list_window(
    world: World,
    user_ids: Iterable[int],
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    list_window_days: int = 30,
) -> SourceSplit:
    """Split the users' views in a report range at `now - list_window_days`.

    The range is `expected_reports`'s: `start`'s second through the end of
    `end`'s second; all contexts count. A harvester in `auto` mode must read
    `from_history` through history and may read `from_list` through the list
    endpoint.
    """
    boundary = now - timedelta(days=list_window_days)
    lo = _ms(start.replace(microsecond=0))
    hi = _ms(end.replace(microsecond=0) + timedelta(seconds=1))
    cut = _ms(boundary)
    recent: set[str] = set()
    older: set[str] = set()
    for user_id in dict.fromkeys(user_ids):
        store = world.views(user_id)
        for millis, view_id in zip(store.ms, store.ids, strict=True):
            if lo <= millis < hi:
                (older if millis < cut else recent).add(view_id)
    return SourceSplit(boundary, frozenset(recent), frozenset(older))
