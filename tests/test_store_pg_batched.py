"""The PostgreSQL store's calls over many rows at once give what one row at a time gives."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from pageviews.errors import StateError
from pageviews.store import open_store
from pageviews.store.pgreads import ReadAhead
from pageviews.store.rows import Row, Unit

ORIGIN = "https://c.example.edu"
START, END = "2015-01-26T00:00:00Z", "2015-03-12T23:59:59Z"
COURSE = 1693


#: Views per roster user in the course (user ids 1 to 6).
COUNTS = {1: 3, 2: 0, 3: 5, 4: 1, 5: 3, 6: 2}


def _view(course: int, n: int, when: str = "2015-02-01T10:00:00Z") -> Row:
    return (course, when.replace("10:00:00", f"10:{n:02d}:00"), f"v{n}", f"/u{n}", 1.5, 1, None,
            b"[]")  # fmt: skip


def _own_query(dsn: str, user_id: int) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT course_id, created, id, url, interaction FROM views WHERE user_id = %s"
            " AND course_id = %s AND created BETWEEN %s AND %s ORDER BY created, id",
            (user_id, COURSE, START, END),
        ).fetchall()


def _stored(dsn: str) -> None:
    store = open_store(dsn, ORIGIN)
    rows = [(user, _view(COURSE, n)) for user, count in COUNTS.items() for n in range(count)]
    rows += [(1, _view(COURSE + 1, 7)), (3, _view(COURSE, 8, "2016-01-01T10:00:00Z"))]
    store.add_views(rows)  # another course's view and one out of range are not read
    store.close()


def test_each_user_gets_its_own_views_whatever_the_bounds(postgres_dsn: str) -> None:
    _stored(postgres_dsn)
    ahead = ReadAhead(users=3, rows=4)
    ahead.roster(COURSE, sorted(COUNTS))
    with psycopg.connect(postgres_dsn) as conn:
        got = {user: ahead.take(conn, user, COURSE, START, END) for user in sorted(COUNTS)}
        assert ahead.take(conn, 99, COURSE, START, END) is None  # not on the roster
        assert ahead.take(conn, 1, COURSE + 1, START, END) is None  # another course
    # User 3 has more views than the bound: it is read alone, as without reading ahead.
    assert [user for user, rows in got.items() if rows is None] == [3]
    for user, rows in got.items():
        if rows is not None:
            assert rows == _own_query(postgres_dsn, user), user


def test_a_write_between_two_users_is_read(postgres_dsn: str) -> None:
    _stored(postgres_dsn)
    store = open_store(postgres_dsn, ORIGIN)
    run = store.open_run("k", START, END, START)
    store.add_roster(run.run_id, COURSE, [(user, f"U{user}") for user in COUNTS])
    assert [user for user, _ in store.roster(run.run_id, COURSE)] == sorted(COUNTS)
    assert len(list(store.user_rows(1, COURSE, START, END))) == COUNTS[1]
    store.add_views([(2, _view(COURSE, 30))])
    assert [row[2] for row in store.user_rows(2, COURSE, START, END)] == ["v30"]
    store.close()


def test_a_roster_page_naming_a_user_twice_is_written_in_one_statement(postgres_dsn: str) -> None:
    store = open_store(postgres_dsn, ORIGIN)
    run = store.open_run("k", START, END, START)
    store.add_roster(run.run_id, COURSE, [(5, "Ann"), (6, "Bo"), (5, "Ann B.")])
    late, early = "2015-02-01T00:00:00Z", "2015-01-01T00:00:00Z"
    store.add_enrollments(run.run_id, COURSE, [(5, "StudentEnrollment", early),
        (5, "StudentEnrollment", late), (5, "StudentEnrollment", None), (6, "TaEnrollment", None),
        (6, "TaEnrollment", "")])  # fmt: skip
    assert store.roster(run.run_id, COURSE) == [(5, "Ann B."), (6, "Bo")]
    assert store.enrollments(run.run_id, COURSE) == {
        5: (["StudentEnrollment"], late),
        6: (["TaEnrollment"], None),
    }
    store.close()


def test_planning_reads_units_added_after_the_user_was_first_asked_about(
    postgres_dsn: str,
) -> None:
    store = open_store(postgres_dsn, ORIGIN)
    run = store.open_run("k", START, END, START)
    assert store.plan_once(run.run_id, 5)
    store.plan_user(run.run_id, 5, [(START, END)], None, 10)  # units the first answer lacks
    assert store.has_units(run.run_id, 5)
    assert store.plan_once(run.run_id, 6)
    (unit,) = store.add_units(run.run_id, 6, [(START, END)], "list")
    assert store.has_units(run.run_id, 6)
    assert not store.plan_once(run.run_id, 6)
    assert store.has_units(run.run_id, 6)
    assert [u.unit_id for u in store.pending(run.run_id, 6)] == [unit.unit_id]
    store.close()


def test_a_page_failing_in_flight_fails_a_later_call_never_silently(postgres_dsn: str) -> None:
    store = open_store(postgres_dsn, ORIGIN)
    run = store.open_run("k", START, END, START)
    units = store.add_units(run.run_id, 5, [(START, END)], "list")
    units += store.add_units(run.run_id, 6, [(START, END)], "list")
    bad: list[Row] = [(COURSE, "2015-02-01T10:00:00Z", "v1", "/u\x00", None, 1, None, b"[]")]
    for unit, then in zip(units, (lambda: store.pending(run.run_id), store.close), strict=True):

        def save_then(unit: Unit = unit, then: Callable[[], object] = then) -> None:
            store.save_page(run.run_id, unit, bad, None, (None, True))
            then()  # stored while the harvest goes on: a later call says it failed

        with pytest.raises(StateError, match="cannot write the state store"):
            save_then()
