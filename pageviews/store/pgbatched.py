"""PostgreSQL versions of the table families' calls that take or give many rows.

Invariants:
- Each gives what the family's own call gives (the conformance suite runs both),
  in fewer round trips: a roster page's users and enrollments go in one statement
  each, bound as one JSON text, and the reports read views ahead (:mod:`.pgreads`).
- Rosters are written beside a page in flight (:mod:`.pgwriter`): they touch no
  row a page writes.
- One statement may not update a row twice: rows naming the same key are folded
  first, the way one statement a row would leave them (a user's last name; an
  enrollment's newest last activity, the first of equals).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

import orjson

from .fileviews import FileViews, PartsAsTheyCome
from .pgreads import ReadAhead
from .pgwriter import BesidePages
from .rows import Enrollment, ReportRow
from .runs import Runs
from .views import Views

if TYPE_CHECKING:
    import psycopg

_USERS: Final = (
    "INSERT INTO users SELECT (v ->> 0)::BIGINT, v ->> 1 FROM jsonb_array_elements(?::jsonb) AS v"
    " ON CONFLICT (user_id) DO UPDATE SET name = excluded.name"
)
_ROSTER: Final = (
    "INSERT INTO rosters SELECT ?, ?, (v ->> 0)::BIGINT FROM jsonb_array_elements(?::jsonb) AS v"
    " ON CONFLICT DO NOTHING"
)
_ENROLLMENTS: Final = (
    "INSERT INTO enrollments SELECT ?, ?, (v ->> 0)::BIGINT, v ->> 1, v ->> 2"
    " FROM jsonb_array_elements(?::jsonb) AS v"
    " ON CONFLICT (run_id, course_id, user_id, type) DO UPDATE SET last_activity ="
    " CASE WHEN COALESCE(excluded.last_activity, '')"
    " > COALESCE(enrollments.last_activity, '') THEN excluded.last_activity"
    " ELSE enrollments.last_activity END"
)


class Batched(Runs, Views, BesidePages):
    """Rosters written and views read for the reports in few round trips."""

    _ahead: ReadAhead
    _pg: Any  # the store's psycopg connection holder

    def add_roster(self, run_id: int, course_id: int, users: Iterable[tuple[int, str]]) -> None:
        """Record users of a course's roster (each once) and their names."""
        names = dict(users)  # a user named twice keeps the last name, as upserted in turn
        if not names:
            return
        ids = orjson.dumps(list(names)).decode()
        with self.beside_pages(), self._tx():
            self._db.execute(_USERS, (orjson.dumps(list(names.items())).decode(),))
            self._db.execute(_ROSTER, (run_id, course_id, ids))

    def add_enrollments(self, run_id: int, course_id: int, rows: Iterable[Enrollment]) -> None:
        """Record roster users' enrollment types and last activity (when Canvas gives it)."""
        newest: dict[tuple[int, str], str | None] = {}
        for user_id, kind, last in rows:
            key = (user_id, kind)
            if key not in newest or (last or "") > (newest[key] or ""):
                newest[key] = last
        if not newest:
            return
        folded = [(user_id, kind, last) for (user_id, kind), last in newest.items()]
        with self.beside_pages(), self._tx():
            self._db.execute(_ENROLLMENTS, (run_id, course_id, orjson.dumps(folded).decode()))

    @contextmanager
    def file_views(self) -> Iterator[FileViews]:
        """Where one export file's views go: each part stored as it comes, in one statement."""
        yield PartsAsTheyCome(self)

    def roster(self, run_id: int, course_id: int) -> list[tuple[int, str]]:
        """A course's roster users and their names, by user id; the reports read them next."""
        users = super().roster(run_id, course_id)
        self._ahead.roster(course_id, [user_id for user_id, _ in users])
        return users

    def user_rows(self, user_id: int, course_id: int, start: str, end: str) -> Iterator[ReportRow]:
        """One user's views of a course in ``[start, end]``, by (time, id), each id once."""
        connection: psycopg.Connection[Any] = self._pg.connection
        with self._failing("read"):
            rows = self._ahead.take(connection, user_id, course_id, start, end)
        if rows is None:
            yield from super().user_rows(user_id, course_id, start, end)
        else:
            yield from rows
