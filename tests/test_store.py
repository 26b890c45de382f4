from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pageviews.coverage import Covered
from pageviews.errors import StateError
from pageviews.sources.records import Row
from pageviews.store import DONE, FAILED, LISTED, MISSING, SCHEMA_VERSION, SPLIT, RunCourse, Store

ORIGIN = "https://c.example.edu"
KEY = '[["1693"],"2015-01-26T00:00:00Z","2015-03-12T23:59:59Z",null,null,false]'
START, END = "2015-01-26T00:00:00Z", "2015-03-12T23:59:59Z"
NOW = "2026-01-01T00:00:00Z"
IN_ORDER = (None, True)


def row(created: str, vid: str, course: int = 1693, url: str = "") -> Row:
    url = url or f"https://c/courses/{course}/{vid}"
    return (course, created, vid, url, 1.0, 0, None, b"[]")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.sqlite", ORIGIN)


def ids(store: Store, user: int, course: int = 1693) -> list[str]:
    return [r[2] for r in store.user_rows(user, course, START, END)]


def test_a_run_resumes_until_finished(store: Store) -> None:
    run = store.open_run(KEY, START, END, NOW)
    assert not run.resumed
    again = store.open_run(KEY, START, "ignored", NOW)
    assert again.resumed and again.run_id == run.run_id and again.end == END
    store.finish_run(run.run_id, NOW)
    assert not store.open_run(KEY, START, END, NOW).resumed
    found = store.latest_run(KEY)
    assert found is not None and not found[1]
    assert [finished for _, finished in store.runs()] == [False, True]


def test_each_view_is_held_once_and_a_later_read_wins(store: Store) -> None:
    run = store.open_run(KEY, START, END, NOW)
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    store.save_page(run.run_id, unit, [row("2015-02-02T00:00:00Z", "b")], "p2", IN_ORDER)
    # The same view again (a window edge, a page re-read after a crash), now corrected.
    page = [row("2015-02-02T00:00:00Z", "b", url="fixed"), row("2015-02-01T00:00:00Z", "a")]
    store.save_page(run.run_id, unit, page, None, IN_ORDER)
    assert ids(store, 5) == ["a", "b"]
    assert [r[3] for r in store.user_rows(5, 1693, START, END)] == [
        "https://c/courses/1693/a",
        "fixed",
    ]
    assert store.pending(run.run_id) == []


def test_views_route_to_their_course_and_range(store: Store) -> None:
    run = store.open_run(KEY, START, END, NOW)
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    page = [
        row("2015-02-01T00:00:00Z", "in"),
        row("2015-02-01T00:00:00Z", "other", course=169),
        row("2015-03-13T00:00:00Z", "after"),
    ]
    store.save_page(run.run_id, unit, page, None, IN_ORDER)
    assert ids(store, 5) == ["in"]
    assert ids(store, 5, course=169) == ["other"]


def test_a_finished_unit_covers_its_interval_from_the_runs_start(store: Store) -> None:
    run = store.open_run(KEY, START, END, NOW)
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    store.save_page(run.run_id, unit, [], "p2", IN_ORDER)
    assert store.coverage(5) == []  # not read to the end yet
    store.save_page(run.run_id, unit, [], None, IN_ORDER)
    assert store.coverage(5) == [Covered(START, END, NOW)]


def test_split_covers_nothing_itself_and_hands_its_whole_range_on(store: Store) -> None:
    run = store.open_run(KEY, START, END, NOW)
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    windows = [("2015-02-01T00:00:00Z", END), (START, "2015-02-01T00:00:00Z")]
    children = store.split(run.run_id, unit, windows)
    assert [(c.start, c.end) for c in children] == windows
    assert [(u.start, u.end) for u in store.pending(run.run_id)] == windows
    assert store.coverage(5) == []
    assert store.pages_read(run.run_id, 5)
    states = dict(store._rows("SELECT unit_id, state FROM units"))
    assert states[unit.unit_id] == SPLIT


def test_problems_name_missing_and_failed_users(store: Store) -> None:
    run = store.open_run(KEY, START, END, NOW)
    a, b, c = (store.add_units(run.run_id, u, [(START, END)], "list")[0] for u in (1, 2, 3))
    store.give_up(a.unit_id, MISSING, "404")
    store.give_up(b.unit_id, FAILED, "500")
    store.save_page(run.run_id, c, [], None, IN_ORDER)
    assert store.problems(run.run_id) == {1: (MISSING, "404"), 2: (FAILED, "500")}
    assert store.retry_failed(run.run_id) == 1
    assert [u.user_id for u in store.pending(run.run_id)] == [2]
    assert dict(store._rows("SELECT unit_id, state FROM units"))[c.unit_id] == DONE


def test_courses_and_rosters_keep_their_order_and_global_ids_apart(store: Store) -> None:
    run = store.open_run(KEY, START, END, NOW)
    far = 20_000_000_000_011  # user 11 of shard 2: not this shard's user 11
    store.set_course(run.run_id, RunCourse("1693", 1693, "Data", LISTED, ""))
    store.set_course(run.run_id, RunCourse("sis_course_id:X", None, "", "not found", "404"))
    store.add_roster(run.run_id, 1693, [(far, "Far"), (11, "Near"), (11, "Near")])
    assert list(store.courses(run.run_id)) == ["1693", "sis_course_id:X"]
    assert store.roster(run.run_id, 1693) == [(11, "Near"), (far, "Far")]


def test_a_store_belongs_to_one_canvas(tmp_path: Path) -> None:
    Store(tmp_path / "s.sqlite", ORIGIN).close()
    with pytest.raises(StateError, match=r"holds data from https://c\.example\.edu"):
        Store(tmp_path / "s.sqlite", "https://other.example.edu")
    Store(tmp_path / "s.sqlite", None).close()  # reading needs no origin
    with pytest.raises(StateError, match="no state store"):
        Store(tmp_path / "absent.sqlite", None)


def test_a_store_of_an_older_version_is_refused_with_the_way_out(tmp_path: Path) -> None:
    # Version 3 kept pages per run and stored next links whose end_time stops a second
    # short: its harvests cannot be resumed or read by this version.
    Store(tmp_path / "s.sqlite", ORIGIN).close()
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        db.execute("UPDATE meta SET value = '3' WHERE name = 'schema_version'")
    with pytest.raises(
        StateError, match=rf"store version 3, this one reads {SCHEMA_VERSION}.*another --state"
    ):
        Store(tmp_path / "s.sqlite", ORIGIN)


def test_a_version_7_store_is_upgraded_in_place_keeping_its_harvest(tmp_path: Path) -> None:
    # Version 7 did not count the views a unit could not keep: the column is added.
    store = Store(tmp_path / "s.sqlite", ORIGIN)
    run = store.open_run(KEY, START, END, NOW)
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    store.save_page(run.run_id, unit, [row("2015-02-01T00:00:00Z", "kept")], "p2", IN_ORDER)
    store.close()
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        db.execute("ALTER TABLE units DROP COLUMN refused")
        db.execute("UPDATE meta SET value = '7' WHERE name = 'schema_version'")
    store = Store(tmp_path / "s.sqlite", ORIGIN)
    assert store.open_run(KEY, START, END, NOW).resumed
    (pending,) = store.pending(run.run_id)
    assert (pending.next_url, pending.refused) == ("p2", 0)
    assert ids(store, 5) == ["kept"]
    assert dict(store._rows("SELECT name, value FROM meta"))["schema_version"] == "8"


def test_an_unusable_path_is_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StateError):
        Store(blocker / "state.sqlite", ORIGIN)


def test_units_keep_their_order_marks(store: Store) -> None:
    run = store.open_run(KEY, START, END, NOW)
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    store.save_page(
        run.run_id, unit, [row("2015-02-02T00:00:00Z", "b")], "p2", ("2015-02-02T00:00:00Z", False)
    )
    (resumed,) = store.pending(run.run_id)
    assert (resumed.oldest, resumed.ordered, resumed.pages) == ("2015-02-02T00:00:00Z", False, 1)


def test_a_user_is_planned_once_a_run_and_afresh_when_it_resumes(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite", ORIGIN)
    run = store.open_run(KEY, START, END, NOW)
    first = [store.plan_once(run.run_id, user) for user in (5, 6, 5, 6, 7)]
    assert first == [True, True, False, False, True]
    assert store.plan_once(run.run_id + 1, 5)  # another run of the same store
    store.close()
    # A resumed run (another process) plans every user again, from its stored units.
    again = Store(tmp_path / "state.sqlite", ORIGIN)
    assert again.plan_once(run.run_id, 5) and not again.plan_once(run.run_id, 5)
    again.close()
