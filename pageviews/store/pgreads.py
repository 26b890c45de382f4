"""Reading ahead for the reports: the next roster users' views of a course in one query.

Invariants:
- Reports read a course's users one by one in the roster's order (by user id).
  The roster read last names that order; the views of a user on it are read with
  those of the next ones on it, in one query, and each user is handed exactly the
  rows its own query would give, in the same order.
- What is held is bounded: at most :data:`USERS` users and :data:`ROWS` views (by default). A
  query that reaches the row bound keeps only the users it read whole; a user with
  more views than the bound is read alone, as without reading ahead.
- Any write forgets what is held (:meth:`ReadAhead.forget`): it may have changed.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import TYPE_CHECKING, Any, Final

from .rows import ReportRow

if TYPE_CHECKING:
    import psycopg

USERS: Final = 64
ROWS: Final = 10_000
_AHEAD: Final = (
    "SELECT user_id, course_id, created, id, url, interaction FROM views"
    " WHERE user_id = ANY(%s::bigint[]) AND course_id = %s AND created BETWEEN %s AND %s"
    " ORDER BY user_id, created, id LIMIT %s"
)


class ReadAhead:
    """The views of a few roster users of one course and range, read in one query."""

    def __init__(self, users: int = USERS, rows: int = ROWS) -> None:
        self._users, self._rows = users, rows
        self._roster: tuple[int, list[int]] = (0, [])  # a course and its users, by id
        self._key: tuple[int, str, str] | None = None  # what ``_held`` holds: course, range
        self._held: dict[int, list[ReportRow]] = {}

    def roster(self, course_id: int, users: list[int]) -> None:
        """The users whose views the reports are about to read, in that order."""
        self._roster = (course_id, users)
        self.forget()

    def forget(self) -> None:
        """Drop what is held (the store is being written)."""
        self._key, self._held = None, {}

    def take(
        self,
        connection: psycopg.Connection[Any],
        user_id: int,
        course_id: int,
        start: str,
        end: str,
    ) -> list[ReportRow] | None:
        """The user's views of the course in ``[start, end]``; None: not on the roster."""
        key = (course_id, start, end)
        if self._key == key and user_id in self._held:
            return self._held.pop(user_id)
        course, users = self._roster
        at = bisect_left(users, user_id)
        if course != course_id or at == len(users) or users[at] != user_id:
            return None
        chosen = users[at : at + self._users]
        rows = connection.execute(_AHEAD, (chosen, course_id, start, end, self._rows)).fetchall()
        held: dict[int, list[ReportRow]] = {user: [] for user in chosen}
        for row in rows:
            held[row[0]].append(row[1:])
        if len(rows) >= self._rows:  # the last user read may have more views: keep those before it
            last = rows[-1][0]
            held = {user: views for user, views in held.items() if user < last}
        self._key, self._held = key, held
        return held.pop(user_id, None)
