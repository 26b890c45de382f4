"""The PostgreSQL store's calls over many rows at once give what one row at a time gives."""

from __future__ import annotations

from pageviews.store import open_store

ORIGIN = "https://c.example.edu"
START, END = "2015-01-26T00:00:00Z", "2015-03-12T23:59:59Z"
COURSE = 1693


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
