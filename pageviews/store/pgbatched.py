"""PostgreSQL versions of the table families' calls that take or give many rows.

Invariants:
- Each gives what the family's own call gives (the conformance suite runs both),
  in fewer round trips: a roster page's users and enrollments go in one statement
  each, bound as one JSON text.
- One statement may not update a row twice: rows naming the same key are folded
  first, the way one statement a row would leave them (a user's last name; an
  enrollment's newest last activity, the first of equals).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import orjson

from .rows import Enrollment
from .runs import Runs

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


class Batched(Runs):
    """Rosters written in few round trips."""

    def add_roster(self, run_id: int, course_id: int, users: Iterable[tuple[int, str]]) -> None:
        """Record users of a course's roster (each once) and their names."""
        names = dict(users)  # a user named twice keeps the last name, as upserted in turn
        if not names:
            return
        ids = orjson.dumps(list(names)).decode()
        with self._tx():
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
        with self._tx():
            self._db.execute(_ENROLLMENTS, (run_id, course_id, orjson.dumps(folded).decode()))
