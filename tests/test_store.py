"""The SQLite store beyond the shared contract (:mod:`tests.test_store_conformance`):
its file, its Canvas, its schema version and upgrades, and the values it keeps."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pageviews.errors import StateError
from pageviews.outcomes import CourseState, UnitState
from pageviews.store import SCHEMA_VERSION, RunCourse, SqliteStore, Store, open_store

from .test_store_conformance import END, IN_ORDER, KEY, NOW, ORIGIN, START, ids, row


def test_the_sqlite_store_is_a_store(tmp_path: Path) -> None:
    store: Store = open_store(tmp_path / "s.sqlite", ORIGIN)  # typed: mypy checks the protocol
    assert isinstance(store, SqliteStore)
    store.close()


def test_a_store_belongs_to_one_canvas(tmp_path: Path) -> None:
    open_store(tmp_path / "s.sqlite", ORIGIN).close()
    with pytest.raises(StateError, match=r"holds data from https://c\.example\.edu"):
        open_store(tmp_path / "s.sqlite", "https://other.example.edu")
    store = open_store(tmp_path / "s.sqlite", None)  # reading needs no origin
    assert store.origin == ORIGIN
    store.close()
    with pytest.raises(StateError, match="no state store"):
        open_store(tmp_path / "absent.sqlite", None)


def test_a_store_of_an_older_version_is_refused_with_the_way_out(tmp_path: Path) -> None:
    # Version 3 kept pages per run and stored next links whose end_time stops a second
    # short: its harvests cannot be resumed or read by this version.
    open_store(tmp_path / "s.sqlite", ORIGIN).close()
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        db.execute("UPDATE meta SET value = '3' WHERE name = 'schema_version'")
    with pytest.raises(
        StateError, match=rf"store version 3, this one reads {SCHEMA_VERSION}.*another --state"
    ):
        open_store(tmp_path / "s.sqlite", ORIGIN)


def test_a_version_7_store_is_upgraded_in_place_keeping_its_harvest(tmp_path: Path) -> None:
    # Version 7 did not count the views a unit could not keep: the column is added.
    store = open_store(tmp_path / "s.sqlite", ORIGIN)
    run = store.open_run(KEY, START, END, NOW)
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    store.save_page(run.run_id, unit, [row("2015-02-01T00:00:00Z", "kept")], "p2", IN_ORDER)
    store.close()
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        db.execute("ALTER TABLE units DROP COLUMN refused")
        db.execute("UPDATE meta SET value = '7' WHERE name = 'schema_version'")
    store = open_store(tmp_path / "s.sqlite", ORIGIN)
    assert store.open_run(KEY, START, END, NOW).resumed
    (pending,) = store.pending(run.run_id)
    assert (pending.next_url, pending.refused) == ("p2", 0)
    assert ids(store, 5) == ["kept"]
    store.close()
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        assert db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchall() == [
            ("8",)
        ]


def test_an_unusable_path_is_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StateError):
        open_store(blocker / "state.sqlite", ORIGIN)


def test_states_are_stored_in_the_words_older_versions_wrote(tmp_path: Path) -> None:
    # A store written before the states were an enum reads the same, and the other way round.
    store = open_store(tmp_path / "s.sqlite", ORIGIN)
    run = store.open_run(KEY, START, END, NOW)
    a, b, c, d = (store.add_units(run.run_id, u, [(START, END)], "list")[0] for u in (1, 2, 3, 4))
    store.end_unit(a.unit_id, UnitState.MISSING, "404")
    store.end_unit(b.unit_id, UnitState.FAILED, "500")
    store.split(run.run_id, c, [(START, END)])
    store.save_page(run.run_id, d, [], None, IN_ORDER)
    for state in CourseState:
        store.set_course(run.run_id, RunCourse(state.value, None, "", state, ""))
    store.close()
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        units = db.execute("SELECT user_id, state FROM units ORDER BY unit_id").fetchall()
        courses = db.execute("SELECT state FROM run_courses ORDER BY position").fetchall()
        db.execute(
            "INSERT INTO run_courses (run_id, ref, name, state) VALUES (1, 'x', '', 'failed')"
        )
    assert units == [(1, "missing"), (2, "failed"), (3, "split"), (4, "done"), (3, "todo")]
    assert [s for (s,) in courses] == [
        "listing", "listed", "not found", "not permitted", "failed", "conflict"
    ]  # fmt: skip
    store = open_store(tmp_path / "s.sqlite", None)
    assert store.courses(run.run_id)["x"].state is CourseState.FAILED
    assert store.problems(run.run_id)[2][0] is UnitState.FAILED
    store.close()
