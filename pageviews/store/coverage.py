"""Coverage: which seconds of each user's history the store knows complete.

Invariants:
- ``coverage`` says, per user, which seconds are known complete, since when
  (``read_at``: the start of the run that read them) and from which source. It
  grows only when a unit has read its interval to the end (a list unit's last
  page, a history file read to its end). A unit that splits covers nothing
  itself: its windows cover its whole interval, the part it had read included.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..coverage import Covered, Interval
from .rows import CourseRead
from .schema import Connection


class Coverage(Connection):
    """The intervals of users' histories known complete."""

    def coverage(self, user_id: int) -> list[Covered]:
        """The intervals of the user's history known complete."""
        return [
            Covered(*row)
            for row in self._rows(
                'SELECT start, "end", read_at FROM coverage WHERE user_id = ?', (user_id,)
            )
        ]

    def course_reads(
        self, run_id: int, course_id: int, users: Iterable[int], start: str, end: str
    ) -> list[CourseRead]:
        """Coverage of ``users`` of the run's course meeting ``[start, end]``.

        Rows are (start, end, source, read_at), from this run or an earlier one.
        """
        chosen = set(users)
        rows = self._rows(
            'SELECT c.user_id, c.start, c."end", c.source, c.read_at FROM coverage AS c'
            " JOIN rosters AS r ON r.user_id = c.user_id"
            ' WHERE r.run_id = ? AND r.course_id = ? AND c."end" >= ? AND c.start <= ?',
            (run_id, course_id, start, end),
        )
        return [(lo, hi, source, at) for user, lo, hi, source, at in rows if user in chosen]

    def _cover(self, user_id: int, interval: Interval, run_id: int, source: str) -> None:
        self._db.execute(
            "INSERT INTO coverage SELECT ?, ?, ?, started_at, ? FROM runs WHERE run_id = ?",
            (user_id, *interval, source, run_id),
        )
