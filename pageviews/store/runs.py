"""Runs, their courses and rosters: the plan a run reads, over the store's views.

Invariants:
- A run is a plan over the store: its courses, their rosters and its fetch
  units (:mod:`.units`). Reports are rendered per course from ``views`` by course,
  range and roster; they never depend on which run read a view.
- A run is found again by its key while unfinished, with the range it pinned when
  it started: a resumed run reads the same seconds, and a finished one is never reopened.
- A course is recorded as the user named it, in the order first recorded, with
  how far its roster was listed or why it could not be read; a roster holds each
  user once, under the id Canvas gave (a shard-global id is another person than
  the local id it reduces to).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..outcomes import CourseState
from .rows import Enrollment, Run, RunCourse
from .schema import Connection

_UPSERT_USER = (
    "INSERT INTO users VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET name = excluded.name"
)


class Runs(Connection):
    """Runs, their courses, rosters and enrollments."""

    def open_run(self, key: str, start: str, end: str, now: str) -> Run:
        """Find the unfinished run with this key, or start a new one."""
        found = self._rows(
            'SELECT run_id, start, "end", started_at FROM runs'
            " WHERE key = ? AND finished_at IS NULL ORDER BY run_id DESC LIMIT 1",
            (key,),
        )
        if found:
            run_id, start, end, started_at = found[0]
            return Run(run_id, key, start, end, started_at, resumed=True)
        with self._tx():
            ((run_id,),) = self._db.execute(
                'INSERT INTO runs (key, start, "end", started_at) VALUES (?, ?, ?, ?)'
                " RETURNING run_id",
                (key, start, end, now),
            ).fetchall()
        return Run(run_id, key, start, end, now, resumed=False)

    def latest_run(self, key: str) -> tuple[Run, bool] | None:
        """The newest run with this key, finished or not, and whether it finished."""
        found = self._rows(
            'SELECT run_id, start, "end", started_at, finished_at IS NOT NULL FROM runs'
            " WHERE key = ? ORDER BY run_id DESC LIMIT 1",
            (key,),
        )
        if not found:
            return None
        run_id, start, end, started_at, finished = found[0]
        return Run(run_id, key, start, end, started_at, resumed=True), bool(finished)

    def runs(self) -> list[tuple[Run, bool]]:
        """Every run, newest first, and whether it finished."""
        return [
            (Run(run_id, key, start, end, started_at, resumed=True), bool(finished))
            for run_id, key, start, end, started_at, finished in self._rows(
                'SELECT run_id, key, start, "end", started_at, finished_at IS NOT NULL'
                " FROM runs ORDER BY run_id DESC"
            )
        ]

    def finish_run(self, run_id: int, now: str) -> None:
        """Close a run, so the same command later starts a new one."""
        with self._tx():
            self._db.execute("UPDATE runs SET finished_at = ? WHERE run_id = ?", (now, run_id))

    # Courses and rosters ----------------------------------------------------

    def set_course(self, run_id: int, course: RunCourse) -> None:
        """Record a course of the run and how far it got."""
        with self._tx():
            self._db.execute(
                "INSERT INTO run_courses (run_id, ref, course_id, name, state, detail)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, ref) DO UPDATE SET course_id ="
                " excluded.course_id, name = excluded.name, state = excluded.state,"
                " detail = excluded.detail",
                (run_id, course.ref, course.course_id, course.name, course.state, course.detail),
            )

    def courses(self, run_id: int) -> dict[str, RunCourse]:
        """The run's courses by the reference the user gave, in the order first recorded."""
        rows = self._rows(
            "SELECT ref, course_id, name, state, detail FROM run_courses WHERE run_id = ?"
            " ORDER BY position",
            (run_id,),
        )
        return {
            ref: RunCourse(ref, course_id, name, CourseState(state), detail)
            for ref, course_id, name, state, detail in rows
        }

    def add_roster(self, run_id: int, course_id: int, users: Iterable[tuple[int, str]]) -> None:
        """Record users of a course's roster (each once) and their names."""
        with self._tx():
            for user_id, name in users:
                self._db.execute(_UPSERT_USER, (user_id, name))
                self._db.execute(
                    "INSERT INTO rosters VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (run_id, course_id, user_id),
                )

    def roster(self, run_id: int, course_id: int) -> list[tuple[int, str]]:
        """A course's roster users and their names, by user id."""
        return self._rows(
            "SELECT r.user_id, u.name FROM rosters AS r JOIN users AS u USING (user_id)"
            " WHERE r.run_id = ? AND r.course_id = ? ORDER BY r.user_id",
            (run_id, course_id),
        )

    def add_enrollments(self, run_id: int, course_id: int, rows: Iterable[Enrollment]) -> None:
        """Record roster users' enrollment types and last activity (when Canvas gives it)."""
        with self._tx():
            self._db.executemany(
                "INSERT INTO enrollments VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (run_id, course_id, user_id, type) DO UPDATE SET last_activity ="
                " CASE WHEN COALESCE(excluded.last_activity, '')"
                " > COALESCE(enrollments.last_activity, '') THEN excluded.last_activity"
                " ELSE enrollments.last_activity END",
                [(run_id, course_id, *row) for row in rows],
            )

    def enrollments(self, run_id: int, course_id: int) -> dict[int, tuple[list[str], str | None]]:
        """Roster users' enrollment types (sorted) and newest last activity, by user id."""
        found: dict[int, tuple[list[str], str | None]] = {}
        for user_id, kind, last in self._rows(
            "SELECT user_id, type, NULLIF(last_activity, '') FROM enrollments"
            " WHERE run_id = ? AND course_id = ? ORDER BY user_id, type",
            (run_id, course_id),
        ):
            kinds, newest = found.get(user_id, ([], None))
            kinds.append(kind)
            found[user_id] = (kinds, max(filter(None, (newest, last)), default=None))
        return found
