"""Ground truth for history: views by users and months, and the list window's seam."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest

from pageviews.testing import (
    MAIN_COURSE_ID,
    World,
    expected_history_ids,
    expected_history_rows,
    expected_reports,
    split_by_list_window,
)


def _users(world: World) -> list[int]:
    return sorted(world.user_ids, key=world.page_view_count)[-5:]


def test_months_partition_every_view(small_world: World) -> None:
    users = _users(small_world)
    months = [date(2015, m, 1) for m in range(1, 6)]
    parts = [expected_history_ids(small_world, users, a, b) for a, b in pairwise(months)]
    everything = {i for u in users for i in small_world.views(u).ids}
    assert set().union(*parts) == everything
    assert sum(len(p) for p in parts) == len(everything)
    assert expected_history_ids(small_world, users, months[0], months[0]) == set()


def test_rows_fall_in_their_months_and_before_now(small_world: World) -> None:
    users = _users(small_world)
    now = datetime(2015, 2, 10, 8, tzinfo=UTC)
    rows = expected_history_rows(small_world, users, date(2015, 2, 1), date(2015, 3, 1), now=now)
    low = datetime(2015, 2, 1, tzinfo=UTC).timestamp() * 1000
    assert rows
    assert all(low <= r.created_ms <= now.timestamp() * 1000 for r in rows)
    assert {r.user_id for r in rows} <= set(users)
    assert any(r.context_type == "Course" and r.context_id for r in rows)


def test_months_must_start_on_the_first(small_world: World) -> None:
    with pytest.raises(ValueError, match="first day"):
        expected_history_ids(small_world, [1], date(2015, 1, 2), date(2015, 2, 1))


def test_the_list_window_splits_a_range_at_its_boundary(small_world: World) -> None:
    users = _users(small_world)
    now = datetime(2015, 4, 10, tzinfo=UTC)
    # A report range ends with its last second: here 2015-03-31T23:59:59.999.
    start, end = datetime(2015, 1, 1, tzinfo=UTC), datetime(2015, 3, 31, 23, 59, 59, tzinfo=UTC)
    split = split_by_list_window(small_world, users, start, end, now=now, list_window_days=30)
    assert split.boundary == now - timedelta(days=30)
    assert split.from_list
    assert split.from_history
    assert not split.from_list & split.from_history
    whole = expected_history_ids(small_world, users, date(2015, 1, 1), date(2015, 4, 1))
    assert split.from_list | split.from_history == whole
    by_id = {
        r.id: r.created_ms
        for r in expected_history_rows(small_world, users, date(2015, 1, 1), date(2015, 4, 1))
    }
    edge = split.boundary.timestamp() * 1000
    assert all(by_id[i] < edge for i in split.from_history)
    assert all(by_id[i] >= edge for i in split.from_list)


def test_the_split_covers_a_course_reports_views(small_world: World) -> None:
    start = datetime(2015, 1, 26, tzinfo=UTC)
    end = datetime(2015, 3, 12, 23, 59, 59, tzinfo=UTC)
    truth = expected_reports(small_world, MAIN_COURSE_ID, start, end)
    now = datetime(2015, 3, 20, tzinfo=UTC)
    split = split_by_list_window(small_world, truth.roster, start, end, now=now)
    reported = {r.id for r in truth.records}
    assert reported <= split.from_list | split.from_history
    assert reported & split.from_list
    assert reported & split.from_history
