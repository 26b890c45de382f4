"""Planning users in PostgreSQL: a round trip fewer per user, one per new unit.

Invariants:
- ``plan_once`` also reads whether the run has units of the user: the planner asks
  that next, and the answer holds until this store writes again (only this process
  adds units to its run).
- Neither waits for a page in flight (:mod:`.pgwriter`): they touch no row a page
  writes.
- A single unit is inserted in a statement of its own (several go in one
  transaction: a user is planned whole or not at all), without the store's write lock:
  the lock keeps runs from deadlocking over rows they both write (views, names,
  shapes), and a new unit is a row no one else writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from ..coverage import Interval
from .pgwriter import BesidePages
from .rows import Unit
from .units import Units

_PLAN_ONCE: Final = (
    "WITH new AS (INSERT INTO planned VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT (SELECT count(*) FROM new),"
    " EXISTS (SELECT 1 FROM units WHERE run_id = ? AND user_id = ?)"
)
_INSERT_UNIT: Final = (
    'INSERT INTO units (run_id, user_id, start, "end", source) VALUES (?, ?, ?, ?, ?)'
    " RETURNING unit_id"
)


class Planning(Units, BesidePages):
    """``plan_once``, ``has_units`` and ``add_units`` in fewer round trips."""

    #: (run, user, whether it has units) as ``plan_once`` last read it, until a write.
    _planned: tuple[int, int, bool] | None = None

    def plan_once(self, run_id: int, user_id: int) -> bool:
        """True the first time this store is asked about the user in the run, then False."""
        with self.beside_pages(), self._failing("write"):
            ((new, has),) = self._db.execute(
                _PLAN_ONCE, (run_id, user_id, run_id, user_id)
            ).fetchall()
        self._planned = (run_id, user_id, bool(has))
        return bool(new)

    def has_units(self, run_id: int, user_id: int) -> bool:
        """Whether the run already planned this user."""
        planned, self._planned = self._planned, None
        if planned is not None and planned[:2] == (run_id, user_id):
            return planned[2]
        return super().has_units(run_id, user_id)

    def add_units(
        self, run_id: int, user_id: int, intervals: Iterable[Interval], source: str
    ) -> list[Unit]:
        """New units over ``intervals`` of one user's history."""
        self._planned = None
        wanted = list(intervals)
        if len(wanted) != 1:  # all or none: in a transaction
            return super().add_units(run_id, user_id, wanted, source)
        ((start, end),) = wanted
        with self.beside_pages(), self._failing("write"):
            ((unit_id,),) = self._db.execute(
                _INSERT_UNIT, (run_id, user_id, start, end, source)
            ).fetchall()
        return [Unit(unit_id, user_id, start, end, source)]
