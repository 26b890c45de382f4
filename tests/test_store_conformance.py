"""The contract of :class:`pageviews.store.Store`, run against every implementation.

``store_factory`` opens the same store anew on each call (another connection, as
a resumed run in another process would), so a test can check what outlives a
connection. Each test runs against SQLite and against PostgreSQL (a new database
of a throwaway cluster the tests start).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pageviews.coverage import Covered
from pageviews.outcomes import CourseState, QueryState, UnitState
from pageviews.store import Row, Run, RunCourse, Store, open_store

ORIGIN = "https://c.example.edu"
KEY = '[["1693"],"2015-01-26T00:00:00Z","2015-03-12T23:59:59Z",null,null,false]'
START, END = "2015-01-26T00:00:00Z", "2015-03-12T23:59:59Z"
MID = "2015-02-01T00:00:00Z"
NOW = "2026-01-01T00:00:00Z"
IN_ORDER = (None, True)
StoreFactory = Callable[[], Store]


def row(
    created: str,
    vid: str,
    course: int = 1693,
    url: str = "",
    shape: int = 0,
    fields: bytes = b"[]",
    ip: str | None = None,
) -> Row:
    url = url or f"https://c/courses/{course}/{vid}"
    return (course, created, vid, url, 1.0, shape, ip, fields)


@pytest.fixture(params=["sqlite", "postgres"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    opened: list[Store] = []
    if request.param == "postgres":
        # A new database for each test, of the session's throwaway cluster.
        state: Path | str = request.getfixturevalue("postgres_dsn")
    else:
        state = tmp_path / "state.sqlite"

    def factory() -> Store:
        opened.append(open_store(state, ORIGIN))
        return opened[-1]

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    return store_factory()


@pytest.fixture
def run(store: Store) -> Run:
    return store.open_run(KEY, START, END, NOW)


def ids(
    store: Store, user: int, course: int = 1693, start: str = START, end: str = END
) -> list[str]:
    return [r[2] for r in store.user_rows(user, course, start, end)]


# Runs and courses -----------------------------------------------------------


def test_a_run_resumes_until_finished_even_from_another_connection(
    store_factory: StoreFactory,
) -> None:
    store = store_factory()
    run = store.open_run(KEY, START, END, NOW)
    assert not run.resumed
    again = store_factory().open_run(KEY, START, "ignored", "2026-01-02T00:00:00Z")
    assert again.resumed and again.run_id == run.run_id
    assert (again.end, again.started_at) == (END, NOW)  # the range and start it pinned
    store.finish_run(run.run_id, NOW)
    found = store.latest_run(KEY)
    assert found is not None and found[0].run_id == run.run_id and found[1]
    assert not store.open_run(KEY, START, END, NOW).resumed
    found = store.latest_run(KEY)
    assert found is not None and not found[1]
    assert [finished for _, finished in store.runs()] == [False, True]
    assert store.latest_run("another key") is None


def test_courses_and_rosters_keep_their_order_and_global_ids_apart(store: Store, run: Run) -> None:
    far = 20_000_000_000_011  # user 11 of shard 2: not this shard's user 11
    store.set_course(run.run_id, RunCourse("1693", 1693, "Data", CourseState.LISTING, ""))
    store.set_course(
        run.run_id, RunCourse("sis_course_id:X", None, "", CourseState.NOT_FOUND, "404")
    )
    store.set_course(run.run_id, RunCourse("1693", 1693, "Data", CourseState.LISTED, ""))
    store.add_roster(run.run_id, 1693, [(far, "Far"), (11, "Near"), (11, "Near")])
    courses = store.courses(run.run_id)
    assert list(courses) == ["1693", "sis_course_id:X"]
    assert courses["1693"].state == CourseState.LISTED
    assert courses["sis_course_id:X"] == RunCourse(
        "sis_course_id:X", None, "", CourseState.NOT_FOUND, "404"
    )
    assert store.roster(run.run_id, 1693) == [(11, "Near"), (far, "Far")]
    assert store.roster(run.run_id, 169) == []


def test_enrollments_keep_each_type_and_the_newest_activity(store: Store, run: Run) -> None:
    store.add_enrollments(
        run.run_id,
        1693,
        [(5, "TaEnrollment", None), (5, "StudentEnrollment", "2015-02-01T00:00:00Z")],
    )
    store.add_enrollments(run.run_id, 1693, [(5, "StudentEnrollment", "2015-01-01T00:00:00Z")])
    store.add_enrollments(run.run_id, 1693, [(6, "StudentEnrollment", None)])
    assert store.enrollments(run.run_id, 1693) == {
        5: (["StudentEnrollment", "TaEnrollment"], "2015-02-01T00:00:00Z"),
        6: (["StudentEnrollment"], None),
    }


# Units ----------------------------------------------------------------------


def test_a_unit_resumes_from_its_stored_link_and_order_marks(
    store_factory: StoreFactory,
) -> None:
    store = store_factory()
    run = store.open_run(KEY, START, END, NOW)
    assert not store.has_units(run.run_id, 5) and not store.pages_read(run.run_id, 5)
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    assert store.has_units(run.run_id, 5) and not store.pages_read(run.run_id, 5)
    marks = ("2015-02-02T00:00:00Z", False)
    store.save_page(run.run_id, unit, [row("2015-02-02T00:00:00Z", "b")], "p2", marks, 2)
    assert store.pages_read(run.run_id, 5)
    assert store.pending(run.run_id, 6) == []
    store.close()  # the run stops; the next resumes
    (resumed,) = store_factory().pending(run.run_id)
    assert (resumed.unit_id, resumed.next_url, resumed.pages) == (unit.unit_id, "p2", 1)
    assert (resumed.oldest, resumed.ordered, resumed.refused) == (*marks, 2)


def test_a_user_is_planned_once_a_connection_and_afresh_when_reopened(
    store_factory: StoreFactory,
) -> None:
    store = store_factory()
    run = store.open_run(KEY, START, END, NOW)
    first = [store.plan_once(run.run_id, user) for user in (5, 6, 5, 6, 7)]
    assert first == [True, True, False, False, True]
    assert store.plan_once(run.run_id + 1, 5)  # another run of the same store
    # A resumed run (another process) plans every user again, from its stored units.
    again = store_factory()
    assert again.plan_once(run.run_id, 5) and not again.plan_once(run.run_id, 5)


def test_ended_units_name_their_users_and_failed_ones_are_retried(store: Store, run: Run) -> None:
    a, b, c, d = (store.add_units(run.run_id, u, [(START, END)], "list")[0] for u in (1, 2, 3, 4))
    store.end_unit(a.unit_id, UnitState.MISSING, "404")
    store.end_unit(b.unit_id, UnitState.FAILED, "500")
    store.save_page(run.run_id, c, [], None, IN_ORDER)
    store.end_unit(d.unit_id, UnitState.DONE)
    assert store.problems(run.run_id) == {
        1: (UnitState.MISSING, "404"),
        2: (UnitState.FAILED, "500"),
    }
    assert store.problems_of(run.run_id, 1) == "missing: 404"
    assert store.problems_of(run.run_id, 3) == ""
    assert store.pending(run.run_id) == []
    assert store.retry_failed(run.run_id) == 1
    assert [u.user_id for u in store.pending(run.run_id)] == [2]
    assert store.problems(run.run_id) == {1: (UnitState.MISSING, "404")}


def test_a_unit_that_refused_views_ends_failed_uncovered_and_starts_again(
    store: Store, run: Run
) -> None:
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    store.save_page(run.run_id, unit, [row("2015-02-02T00:00:00Z", "b")], "p2", IN_ORDER, 1)
    store.save_page(run.run_id, unit, [row("2015-02-01T00:00:00Z", "a")], None, IN_ORDER, 2)
    state, detail = store.problems(run.run_id)[5]
    assert state == UnitState.FAILED and "3 page views without an id" in detail
    assert store.coverage(5) == []
    assert ids(store, 5) == ["a", "b"]  # kept, though never reported alone
    assert store.retry_failed(run.run_id) == 1
    (again,) = store.pending(run.run_id)
    assert (again.next_url, again.refused, again.oldest) == (None, 0, None)


# Coverage -------------------------------------------------------------------


def test_coverage_grows_only_when_a_unit_reads_to_its_end(store: Store, run: Run) -> None:
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    store.save_page(run.run_id, unit, [], "p2", IN_ORDER)
    assert store.coverage(5) == []  # not read to the end yet
    store.end_unit(unit.unit_id, UnitState.FAILED, "gave up")
    assert store.coverage(5) == []
    store.retry_failed(run.run_id)
    store.save_page(run.run_id, unit, [], None, IN_ORDER)
    assert store.coverage(5) == [Covered(START, END, NOW)]  # since the run's start


def test_a_split_covers_nothing_itself_and_hands_its_whole_range_on(store: Store, run: Run) -> None:
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    windows = [(MID, END), (START, MID)]
    children = store.split(run.run_id, unit, windows)
    assert [(c.start, c.end, c.source) for c in children] == [(*w, "list") for w in windows]
    assert [(u.start, u.end) for u in store.pending(run.run_id)] == windows
    assert store.coverage(5) == [] and store.pages_read(run.run_id, 5)
    for child in children:
        store.save_page(run.run_id, child, [], None, IN_ORDER)
    assert sorted((c.start, c.end) for c in store.coverage(5)) == sorted(windows)
    assert store.problems(run.run_id) == {}


# Views and shapes -----------------------------------------------------------


def test_each_view_is_held_once_and_a_later_read_wins(store: Store, run: Run) -> None:
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    store.save_page(run.run_id, unit, [row("2015-02-02T00:00:00Z", "b")], "p2", IN_ORDER)
    # The same view again (a window edge, a page re-read after a crash), now corrected.
    page = [row("2015-02-02T00:00:00Z", "b", url="fixed"), row("2015-02-01T00:00:00Z", "a")]
    store.save_page(run.run_id, unit, page, None, IN_ORDER)
    assert list(store.user_rows(5, 1693, START, END)) == [
        (1693, "2015-02-01T00:00:00Z", "a", "https://c/courses/1693/a", 1.0),
        (1693, "2015-02-02T00:00:00Z", "b", "fixed", 1.0),
    ]
    # From an export file too: keyed by user, second and id, whatever wrote it first.
    store.add_views([(5, row("2015-02-01T00:00:00Z", "a", url="again")), (6, row(MID, "a"))])
    assert [r[3] for r in store.user_rows(5, 1693, START, END)] == ["again", "fixed"]
    assert ids(store, 6) == ["a"]


def test_shapes_are_kept_once_and_a_views_later_shape_wins(store: Store, run: Run) -> None:
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    first, second = b'["Course","wiki"]', b'["Course","quiz"]'
    page = [
        row("2015-02-02T00:00:00Z", "b", shape=1, fields=first, ip="10.0.0.1"),
        row("2015-02-01T00:00:00Z", "a", shape=1, fields=first),
    ]
    store.save_page(run.run_id, unit, page, "p2", IN_ORDER)
    store.save_page(
        run.run_id, unit, [row("2015-02-01T00:00:00Z", "a", shape=2, fields=second)], None, IN_ORDER
    )
    assert list(store.user_records(5, 1693, START, END)) == [
        ("2015-02-01T00:00:00Z", "a", "https://c/courses/1693/a", 1.0, second, None),
        ("2015-02-02T00:00:00Z", "b", "https://c/courses/1693/b", 1.0, first, "10.0.0.1"),
    ]


# Report reads ---------------------------------------------------------------


def test_reports_read_views_by_course_range_and_roster(store: Store, run: Run) -> None:
    store.add_roster(run.run_id, 1693, [(5, "Ann"), (6, "Bo")])
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    page = [
        row("2015-02-01T00:00:00Z", "in"),
        row("2015-02-01T00:00:00Z", "other", course=169),
        row("2015-03-13T00:00:00Z", "after"),
        row(START, "first"),
        row(END, "last"),
    ]
    store.save_page(run.run_id, unit, page, None, IN_ORDER)
    assert ids(store, 5) == ["first", "in", "last"]  # both bounds inclusive
    assert ids(store, 5, course=169) == ["other"]
    assert ids(store, 5, start=MID, end=MID) == ["in"]
    assert store.course_users(1693) == [(5, "Ann")]
    assert store.course_users(169) == [(5, "Ann")]
    (other,) = store.add_units(run.run_id, 7, [(START, END)], "list")  # not on the roster
    store.save_page(run.run_id, other, [], None, IN_ORDER)
    reads = store.course_reads(run.run_id, 1693, [5, 6, 7], MID, MID)
    assert reads == [(START, END, "list", NOW)]
    assert store.course_reads(run.run_id, 1693, [6], START, END) == []
    assert (
        store.course_reads(run.run_id, 1693, [5], "2016-01-01T00:00:00Z", "2016-02-01T00:00:00Z")
        == []
    )


# History queries ------------------------------------------------------------


def test_history_groups_fill_and_close(store: Store, run: Run) -> None:
    months = ("2015-01-01", "2015-04-01")
    history = ((START, MID), months)
    units, full = store.plan_user(run.run_id, 5, [(MID, END)], history, 2)
    assert [(u.start, u.end, u.source) for u in units] == [(MID, END, "list")] and full is None
    _, full = store.plan_user(run.run_id, 6, [], history, 2)
    assert full is not None  # the second user filled the group
    (query,) = store.history_queries(full)
    assert (query.users, query.start, query.end, query.state) == ((5, 6), *months, "todo")
    group = store.group_units(run.run_id, full)
    assert [(u.user_id, u.start, u.end, u.source, u.query_key) for u in group] == [
        (5, START, MID, "history", full),
        (6, START, MID, "history", full),
    ]
    _, none = store.plan_user(run.run_id, 7, [], history, 2)
    assert none is None
    (left,) = store.close_groups(run.run_id)
    assert left != full and store.close_groups(run.run_id) == []
    assert [q.users for q in store.history_queries(left)] == [(7,)]


def test_a_history_job_is_found_again_by_its_id_and_its_file_covers_at_its_end(
    store_factory: StoreFactory,
) -> None:
    store = store_factory()
    run = store.open_run(KEY, START, END, NOW)
    _, key = store.plan_user(run.run_id, 5, [], ((START, MID), ("2015-01-01", "2015-02-01")), 1)
    assert key is not None
    (query,) = store.history_queries(key)
    store.set_query(query.query_key, QueryState.STARTED, "q-1")
    # A run killed while the job ran polls it again rather than starting a new one.
    again = store_factory()
    assert again.started_queries(run.run_id) == [(key, "q-1")]
    (query,) = again.history_queries(key)
    assert (query.query_id, query.state, query.restarts) == ("q-1", "started", 0)
    again.add_views([(5, row("2015-01-27T00:00:00Z", "h"))])
    assert again.coverage(5) == []  # views as they stream in; coverage only at the end
    again.finish_history(run.run_id, query, [(5, (START, MID))], "history")
    assert again.coverage(5) == [Covered(START, MID, NOW)]
    assert again.history_queries(key)[0].state == "done"
    assert again.started_queries(run.run_id) == []
    assert ids(again, 5) == ["h"]


def test_a_query_restarts_and_splits_under_its_root(store: Store, run: Run) -> None:
    history = ((START, MID), ("2015-01-01", "2015-03-01"))
    store.plan_user(run.run_id, 5, [], history, 2)
    _, key = store.plan_user(run.run_id, 6, [], history, 2)
    assert key is not None
    (query,) = store.history_queries(key)
    store.set_query(query.query_key, QueryState.STARTED, "q-1")
    store.set_query(query.query_key, QueryState.TODO, None)  # its result expired: start again
    (query,) = store.history_queries(key)
    assert (query.query_id, query.restarts) == (None, 1)
    parts: list[tuple[tuple[int, ...], str, str]] = [
        ((5,), "2015-01-01", "2015-03-01"),
        ((6,), "2015-01-01", "2015-02-01"),
    ]
    children = store.split_query(query, parts)
    assert [(c.root, c.users, c.start, c.end, c.state) for c in children] == [
        (key, (5,), "2015-01-01", "2015-03-01", "todo"),
        (key, (6,), "2015-01-01", "2015-02-01", "todo"),
    ]
    assert [q.state for q in store.history_queries(key)] == ["split", "todo", "todo"]
    store.set_query(children[1].query_key, QueryState.FAILED, None, "refused")
    assert [q.state for q in store.history_queries(key)] == ["split", "todo", "failed"]
    (unit, _) = store.group_units(run.run_id, key)
    store.end_unit(unit.unit_id, UnitState.DONE)
    assert [u.user_id for u in store.group_units(run.run_id, key)] == [6]


# Upkeep ---------------------------------------------------------------------


def test_prune_forgets_old_views_and_their_coverage(store: Store, run: Run) -> None:
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    page = [row("2015-03-01T00:00:00Z", "new"), row("2015-01-27T00:00:00Z", "old")]
    store.save_page(run.run_id, unit, page, None, IN_ORDER)
    (short,) = store.add_units(run.run_id, 6, [(START, "2015-01-30T00:00:00Z")], "list")
    store.save_page(run.run_id, short, [], None, IN_ORDER)
    assert store.prune(MID) == (1, 2)
    assert ids(store, 5) == ["new"]
    assert store.coverage(5) == [Covered(MID, END, NOW)]
    assert store.coverage(6) == []


def test_info_counts_what_the_store_holds(store_factory: StoreFactory) -> None:
    store = store_factory()
    assert store.origin == ORIGIN
    assert store.info() == {
        "users": 0, "views": 0, "courses": 0, "first_view": None, "last_view": None,
        "covered_from": None, "covered_to": None, "runs": 0, "unfinished": 0,
    }  # fmt: skip
    run = store.open_run(KEY, START, END, NOW)
    store.add_roster(run.run_id, 1693, [(5, "Ann")])
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    page = [row("2015-03-01T00:00:00Z", "b"), row("2015-01-27T00:00:00Z", "a", course=169)]
    store.save_page(run.run_id, unit, page, None, IN_ORDER)
    store.open_run("another", START, END, NOW)
    store.finish_run(run.run_id, NOW)
    assert store_factory().info() == {
        "users": 1, "views": 2, "courses": 2, "first_view": "2015-01-27T00:00:00Z",
        "last_view": "2015-03-01T00:00:00Z", "covered_from": START, "covered_to": END,
        "runs": 2, "unfinished": 1,
    }  # fmt: skip
