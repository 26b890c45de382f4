from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pageviews.errors import StateError
from pageviews.records import Row, merge_user_rows
from pageviews.store import FAILED, MISSING, RunKey, Store

ORIGIN = "https://c.example.edu"
KEY = RunKey(1693, "2015-01-26T00:00:00Z", "2015-03-12T23:59:59Z", ("StudentEnrollment",), None)
NOW = "2026-01-01T00:00:00Z"


def row(created: str, vid: str, course: int = 1693) -> Row:
    return (course, created, vid, f"https://c/courses/{course}/{vid}", 1.0)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.sqlite", ORIGIN)


def stored(store: Store, run_id: int) -> dict[int, list[str]]:
    """Each roster user's stored view ids for course 1693, as reports will read them."""
    return {
        user: [
            r[2]
            for r in merge_user_rows(
                [blob for unit in units for blob in store.unit_pages(unit.fetch_id)],
                1693,
                KEY.start,
                KEY.end,
            )
        ]
        for user, _, units in store.user_units(run_id)
    }


IN_ORDER = (None, True)


def test_a_run_resumes_until_finished(store: Store) -> None:
    run = store.open_run(KEY, KEY.end, NOW)
    assert not run.resumed
    again = store.open_run(KEY, "ignored", NOW)
    assert again.resumed and again.run_id == run.run_id and again.end == KEY.end
    store.finish_run(run.run_id, NOW)
    assert not store.open_run(KEY, KEY.end, NOW).resumed
    found = store.latest_run(KEY)
    assert found is not None and not found[1]


def test_roster_users_get_one_unit_each_and_pages_advance_it(store: Store) -> None:
    run = store.open_run(KEY, KEY.end, NOW)
    store.add_users(run.run_id, [(5, "Ada"), (9, "Bo")], KEY.start, KEY.end)
    store.add_users(run.run_id, [(5, "Ada")], KEY.start, KEY.end)  # listed twice: one unit
    units = store.pending(run.run_id)
    assert [(u.user_id, u.next_url, u.pages) for u in units] == [(5, None, 0), (9, None, 0)]
    five = units[0]
    store.save_page(five, 0, [row("2015-02-02T00:00:00Z", "b")], "https://c/p2", IN_ORDER)
    (resumed,) = store.pending(run.run_id, 5)
    assert (resumed.next_url, resumed.pages) == ("https://c/p2", 1)
    # A view stored twice (a page re-read after a crash) is reported once.
    twice = [row("2015-02-02T00:00:00Z", "b"), row("2015-02-01T00:00:00Z", "a")]
    store.save_page(resumed, 1, twice, None, IN_ORDER)
    assert store.pending(run.run_id, 5) == []
    assert stored(store, run.run_id) == {5: ["a", "b"], 9: []}
    assert store.roster(run.run_id) == {5: "Ada", 9: "Bo"}


def test_split_replaces_a_unit_by_windows(store: Store) -> None:
    run = store.open_run(KEY, KEY.end, NOW)
    store.add_users(run.run_id, [(5, "Ada")], KEY.start, KEY.end)
    (unit,) = store.pending(run.run_id)
    windows = [
        ("2015-02-01T00:00:00Z", "2015-03-01T00:00:00Z"),
        (KEY.start, "2015-02-01T00:00:00Z"),
    ]
    children = store.split(
        unit, 0, [row("2015-03-02T00:00:00Z", "a")], IN_ORDER, run.run_id, windows
    )
    assert [(c.start, c.end) for c in children] == windows
    assert [(u.start, u.end) for u in store.pending(run.run_id)] == windows
    store.save_page(children[1], 0, [row("2015-01-30T00:00:00Z", "z")], None, IN_ORDER)
    assert stored(store, run.run_id) == {5: ["z", "a"]}


def test_problems_name_missing_and_failed_users(store: Store) -> None:
    run = store.open_run(KEY, KEY.end, NOW)
    store.add_users(run.run_id, [(5, "Ada"), (9, "Bo"), (11, "Cy")], KEY.start, KEY.end)
    five, nine, _ = store.pending(run.run_id)
    store.give_up(five.fetch_id, MISSING, "404")
    store.give_up(nine.fetch_id, FAILED, "500s")
    assert store.problems(run.run_id) == [(5, MISSING, "404"), (9, FAILED, "500s")]
    assert store.retry_failed(run.run_id) == 1
    assert [u.user_id for u in store.pending(run.run_id)] == [9, 11]


def test_reports_read_only_their_own_runs_pages(store: Store) -> None:
    first = store.open_run(KEY, KEY.end, NOW)
    store.add_users(first.run_id, [(5, "Ada")], KEY.start, KEY.end)
    store.save_page(
        store.pending(first.run_id)[0], 0, [row("2015-02-01T00:00:00Z", "old")], None, IN_ORDER
    )
    store.finish_run(first.run_id, NOW)
    second = store.open_run(KEY, KEY.end, NOW)
    store.add_users(second.run_id, [(5, "Ada"), (7, "Di")], KEY.start, KEY.end)
    assert stored(store, second.run_id) == {5: [], 7: []}


def test_a_store_belongs_to_one_canvas(tmp_path: Path) -> None:
    Store(tmp_path / "s.sqlite", ORIGIN).close()
    with pytest.raises(StateError, match=r"holds data from https://c\.example\.edu"):
        Store(tmp_path / "s.sqlite", "https://other.example.edu")
    Store(tmp_path / "s.sqlite", None).close()  # reading needs no origin
    with pytest.raises(StateError, match="no state store"):
        Store(tmp_path / "absent.sqlite", None)


def test_a_store_of_an_older_version_is_refused_with_the_way_out(tmp_path: Path) -> None:
    # Version 3 stored next links whose end_time stops a second short (before
    # request_bounds): resuming them would lose the views of that second.
    Store(tmp_path / "s.sqlite", ORIGIN).close()
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        db.execute("UPDATE meta SET value = '3' WHERE name = 'schema_version'")
    with pytest.raises(StateError, match=r"store version 3, this one reads 4.*--fresh"):
        Store(tmp_path / "s.sqlite", ORIGIN)


def test_an_unusable_path_is_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StateError):
        Store(blocker / "state.sqlite", ORIGIN)


def test_units_keep_their_order_marks(store: Store) -> None:
    run = store.open_run(KEY, KEY.end, NOW)
    store.add_users(run.run_id, [(5, "Ada")], KEY.start, KEY.end)
    (unit,) = store.pending(run.run_id)
    store.save_page(
        unit, 0, [row("2015-02-02T00:00:00Z", "b")], "p2", ("2015-02-02T00:00:00Z", False)
    )
    (resumed,) = store.pending(run.run_id)
    assert (resumed.oldest, resumed.ordered) == ("2015-02-02T00:00:00Z", False)
    ((_, _, units),) = list(store.user_units(run.run_id))
    assert [u.ordered for u in units] == [False]


def test_only_a_users_first_unit_is_first_and_global_ids_stay_apart(store: Store) -> None:
    # A 404 on the first unit means the user is gone; on a window split off, rows are missing.
    run = store.open_run(KEY, KEY.end, NOW)
    far = 20_000_000_000_011  # user 11 of shard 2: not this shard's user 11
    store.add_users(run.run_id, [(11, "Near"), (far, "Far")], KEY.start, KEY.end)
    near_unit, far_unit = store.pending(run.run_id)
    assert (near_unit.user_id, far_unit.user_id) == (11, far)
    assert store.first_unit(near_unit, run.run_id) and store.first_unit(far_unit, run.run_id)
    windows = [
        (KEY.start, "2015-02-01T00:00:00Z"),
        ("2015-02-01T00:00:00Z", "2015-02-10T00:00:00Z"),
    ]
    children = store.split(far_unit, 0, [], IN_ORDER, run.run_id, windows)
    assert [store.first_unit(child, run.run_id) for child in children] == [False, False]
    assert store.roster(run.run_id) == {11: "Near", far: "Far"}
