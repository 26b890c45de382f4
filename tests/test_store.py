from __future__ import annotations

from pathlib import Path

import pytest

from pageviews.errors import StateError
from pageviews.store import FAILED, MISSING, RunKey, Store

ORIGIN = "https://c.example.edu"
KEY = RunKey(1693, "2015-01-26T00:00:00Z", "2015-03-12T23:59:59Z", ("StudentEnrollment",), None)
NOW = "2026-01-01T00:00:00Z"


def row(
    user: int, created: str, vid: str, course: int = 1693
) -> tuple[int, int, str, str, str, float | None]:
    return (course, user, created, vid, f"https://c/courses/{course}/{vid}", 1.0)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.sqlite", ORIGIN)


def test_a_run_resumes_until_finished(store: Store) -> None:
    run = store.open_run(KEY, KEY.end, NOW)
    assert not run.resumed
    again = store.open_run(KEY, "ignored", NOW)
    assert again.resumed and again.run_id == run.run_id and again.end == KEY.end
    store.finish_run(run.run_id, NOW)
    assert not store.open_run(KEY, KEY.end, NOW).resumed


def test_roster_users_get_one_unit_each_and_pages_advance_it(store: Store) -> None:
    run = store.open_run(KEY, KEY.end, NOW)
    store.add_users(run.run_id, [(5, "Ada"), (9, "Bo")], KEY.start, KEY.end)
    store.add_users(run.run_id, [(5, "Ada")], KEY.start, KEY.end)  # listed twice: one unit
    units = store.pending(run.run_id)
    assert [(u.user_id, u.next_url, u.pages) for u in units] == [(5, None, 0), (9, None, 0)]
    five = units[0]
    assert (
        store.save_page(five.fetch_id, [row(5, "2015-02-02T00:00:00Z", "b")], "https://c/p2") == 1
    )
    assert store.pending_for_user(run.run_id, 5)[0].next_url == "https://c/p2"
    # The same page again (a retry after a crash) adds nothing.
    assert store.save_page(five.fetch_id, [row(5, "2015-02-02T00:00:00Z", "b")], None) == 0
    assert store.pending_for_user(run.run_id, 5) == []
    assert store.roster(run.run_id) == {5: "Ada", 9: "Bo"}


def test_split_replaces_a_unit_by_windows(store: Store) -> None:
    run = store.open_run(KEY, KEY.end, NOW)
    store.add_users(run.run_id, [(5, "Ada")], KEY.start, KEY.end)
    (unit,) = store.pending(run.run_id)
    windows = [
        ("2015-02-01T00:00:00Z", "2015-03-01T00:00:00Z"),
        (KEY.start, "2015-02-01T00:00:00Z"),
    ]
    added, children = store.split(unit, [row(5, "2015-03-02T00:00:00Z", "a")], run.run_id, windows)
    assert added == 1
    assert [(c.start, c.end) for c in children] == windows
    assert [(u.start, u.end) for u in store.pending(run.run_id)] == windows


def test_problems_name_missing_and_failed_users(store: Store) -> None:
    run = store.open_run(KEY, KEY.end, NOW)
    store.add_users(run.run_id, [(5, "Ada"), (9, "Bo"), (11, "Cy")], KEY.start, KEY.end)
    five, nine, _ = store.pending(run.run_id)
    store.give_up(five.fetch_id, MISSING, "404")
    store.give_up(nine.fetch_id, FAILED, "500s")
    assert store.problems(run.run_id) == [(5, MISSING, "404"), (9, FAILED, "500s")]
    assert store.retry_failed(run.run_id) == 1
    assert [u.user_id for u in store.pending(run.run_id)] == [9, 11]


def test_report_rows_come_in_report_order_for_the_run_only(store: Store) -> None:
    run = store.open_run(KEY, KEY.end, NOW)
    store.add_users(run.run_id, [(9, "Bo"), (5, "Ada")], KEY.start, KEY.end)
    unit = store.pending(run.run_id)[0]
    store.save_page(
        unit.fetch_id,
        [
            row(9, "2015-02-01T00:00:00Z", "z"),
            row(5, "2015-02-03T00:00:00Z", "b"),
            row(5, "2015-02-01T00:00:00Z", "c"),
            row(5, "2015-02-01T00:00:00Z", "a"),
            row(5, "2015-02-01T00:00:00Z", "x", course=169),
            row(7, "2015-02-01T00:00:00Z", "not-in-roster"),
            row(5, "2015-03-13T00:00:00Z", "after-range"),
        ],
        None,
    )
    got = [
        (r[0], r[2], r[3], r[5]) for r in store.report_rows(run.run_id, 1693, KEY.start, KEY.end)
    ]
    assert got == [
        (5, "2015-02-01T00:00:00Z", "a", "Ada"),
        (5, "2015-02-01T00:00:00Z", "c", "Ada"),
        (5, "2015-02-03T00:00:00Z", "b", "Ada"),
        (9, "2015-02-01T00:00:00Z", "z", "Bo"),
    ]


def test_report_query_needs_no_sort(store: Store) -> None:
    plan = store._db.execute(
        "EXPLAIN QUERY PLAN SELECT p.user_id FROM run_users AS u JOIN page_views AS p"
        " ON p.course_id = 1 AND p.user_id = u.user_id AND p.created_at BETWEEN 'a' AND 'b'"
        " WHERE u.run_id = 1 ORDER BY u.user_id, p.created_at, p.id"
    ).fetchall()
    assert not any("TEMP B-TREE" in str(step) for step in plan)


def test_a_store_belongs_to_one_canvas(tmp_path: Path) -> None:
    Store(tmp_path / "s.sqlite", ORIGIN).close()
    with pytest.raises(StateError, match=r"holds data from https://c\.example\.edu"):
        Store(tmp_path / "s.sqlite", "https://other.example.edu")


def test_an_unusable_path_is_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StateError):
        Store(blocker / "state.sqlite", ORIGIN)
