"""Fetch units: a run's users' intervals, read page by page, each ending in one state.

Invariants:
- A page's views and its fetch unit's next link are written in one transaction,
  so after any crash the store says exactly which pages are held: resuming
  re-requests at most the pages that were in flight.
- A unit ends once, in a :class:`~pageviews.outcomes.UnitState`: ``done`` (read
  to its end, and its interval covered in the same transaction), ``split`` (its
  whole range handed to new units), ``missing`` or ``failed`` with why. Units
  still ``todo`` are what a resumed run reads, from their stored next link on;
  ``failed`` ones are put back in the queue when an unfinished run resumes.
- A unit that refused views (no id or no time) ends ``failed``, uncovered: its
  user is named and read again later, its other views kept but never reported alone.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from ..coverage import Interval
from ..outcomes import Outcome, UnitState
from .coverage import Coverage
from .rows import Row, Unit
from .views import Views

_INSERT_UNIT = (
    'INSERT INTO units (run_id, user_id, start, "end", source) VALUES (?, ?, ?, ?, ?)'
    " RETURNING unit_id"
)


class Units(Coverage, Views):
    """A run's fetch units: planned, read page by page, ended."""

    def add_units(
        self, run_id: int, user_id: int, intervals: Iterable[Interval], source: str
    ) -> list[Unit]:
        """New units over ``intervals`` of one user's history."""
        with self._tx():
            return self._new_units(run_id, user_id, intervals, source)

    def _new_units(
        self, run_id: int, user_id: int, intervals: Iterable[Interval], source: str
    ) -> list[Unit]:
        """Insert units in the open transaction."""
        units = []
        for start, end in intervals:
            ((unit_id,),) = self._db.execute(
                _INSERT_UNIT, (run_id, user_id, start, end, source)
            ).fetchall()
            units.append(Unit(unit_id, user_id, start, end, source))
        return units

    def pending(self, run_id: int, user_id: int | None = None) -> list[Unit]:
        """Units still to do, in user order; only ``user_id``'s when given."""
        user_filter = "" if user_id is None else " AND user_id = ?"
        rows = self._rows(
            'SELECT unit_id, user_id, start, "end", source, next_url, pages, oldest, ordered,'
            f" query_key, refused FROM units WHERE run_id = ? AND state = ?{user_filter}"
            " ORDER BY user_id, unit_id",
            (run_id, UnitState.TODO) if user_id is None else (run_id, UnitState.TODO, user_id),
        )
        return [
            Unit(uid, user, start, end, src, url, pages, oldest, bool(ordered), query, refused)
            for uid, user, start, end, src, url, pages, oldest, ordered, query, refused in rows
        ]

    def plan_once(self, run_id: int, user_id: int) -> bool:
        """True the first time this store is asked about the user in the run, then False.

        A user in five courses is planned once. The answer holds for this connection
        (this process): a resumed run plans its users again, from their stored units.
        """
        with self._failing("write"):
            cursor = self._db.execute(
                "INSERT INTO planned VALUES (?, ?) ON CONFLICT DO NOTHING", (run_id, user_id)
            )
        return cursor.rowcount == 1

    def has_units(self, run_id: int, user_id: int) -> bool:
        """Whether the run already planned this user."""
        return bool(
            self._rows(
                "SELECT 1 FROM units WHERE run_id = ? AND user_id = ? LIMIT 1", (run_id, user_id)
            )
        )

    def pages_read(self, run_id: int, user_id: int) -> bool:
        """Whether the run stored any page of the user (then a 404 cannot mean "gone")."""
        return bool(
            self._rows(
                "SELECT 1 FROM units WHERE run_id = ? AND user_id = ? AND pages > 0 LIMIT 1",
                (run_id, user_id),
            )
        )

    def save_page(
        self,
        run_id: int,
        unit: Unit,
        rows: list[Row],
        next_url: str | None,
        order: tuple[str | None, bool],
        refused: int = 0,
    ) -> None:
        """Store a page of a unit with its next link (``None``: the unit is done, and covered).

        ``refused`` counts the page's views that could not be kept (no id or no time). A
        unit that refused any ends ``failed`` instead, uncovered, so its user is named and
        a later run reads it again: its other views are kept, never reported alone.
        """
        oldest, ordered = order[0], int(order[1])  # an integer column in every database
        with self._page_tx():
            self._insert(unit.user_id, rows)
            if next_url is not None:
                self._db.execute(
                    "UPDATE units SET next_url = ?, pages = pages + 1, oldest = ?, ordered = ?,"
                    " refused = refused + ? WHERE unit_id = ?",
                    (next_url, oldest, ordered, refused, unit.unit_id),
                )
                return
            ((total,),) = self._db.execute(
                "SELECT refused + ? FROM units WHERE unit_id = ?", (refused, unit.unit_id)
            ).fetchall()
            detail = None
            if total:
                detail = (
                    f"Canvas sent {total:,} page views without an id or a readable time: they "
                    "cannot be told apart from repeats or placed in time, so none are reported"
                )
            self._db.execute(
                "UPDATE units SET next_url = NULL, pages = pages + 1, state = ?, oldest = ?,"
                " ordered = ?, refused = ?, detail = ? WHERE unit_id = ?",
                (
                    UnitState.FAILED if total else UnitState.DONE,
                    oldest,
                    ordered,
                    total,
                    detail,
                    unit.unit_id,
                ),
            )
            if not total:
                self._cover(unit.user_id, (unit.start, unit.end), run_id, unit.source)

    def split(self, run_id: int, unit: Unit, windows: list[Interval]) -> list[Unit]:
        """Give a unit's whole range to ``windows``: new units that read it (again)."""
        with self._tx():
            # The page that led to the split counts as read: a later 404 cannot mean "gone".
            self._db.execute(
                "UPDATE units SET state = ?, pages = pages + 1, detail = ? WHERE unit_id = ?",
                (UnitState.SPLIT, orjson.dumps(windows).decode(), unit.unit_id),
            )
            return self._new_units(run_id, unit.user_id, windows, unit.source)

    def end_unit(self, unit_id: int, state: UnitState, detail: str = "") -> None:
        """End a unit: ``done``, or ``split``, ``missing`` or ``failed`` with why."""
        with self._tx():
            self._db.execute(
                "UPDATE units SET state = ?, detail = ? WHERE unit_id = ?",
                (state, detail or None, unit_id),
            )

    def retry_failed(self, run_id: int) -> int:
        """Put failed units of an unfinished run back in the queue; return how many.

        A unit that had read its chain to the end (it refused views) starts it again.
        """
        with self._tx():
            cursor = self._db.execute(
                "UPDATE units SET state = ?,"
                " refused = CASE WHEN next_url IS NULL THEN 0 ELSE refused END,"
                " oldest = CASE WHEN next_url IS NULL THEN NULL ELSE oldest END,"
                " ordered = CASE WHEN next_url IS NULL THEN 1 ELSE ordered END"
                " WHERE run_id = ? AND state = ?",
                (UnitState.TODO, run_id, UnitState.FAILED),
            )
        return cursor.rowcount

    def problems(self, run_id: int) -> dict[int, Outcome]:
        """Users with a ``missing`` or ``failed`` unit: user id to (state, detail)."""
        rows = self._rows(
            "SELECT user_id, state, COALESCE(detail, '') FROM units"
            " WHERE run_id = ? AND state IN (?, ?) ORDER BY user_id, state",
            (run_id, UnitState.MISSING, UnitState.FAILED),
        )
        found: dict[int, Outcome] = {}
        for user_id, state, detail in rows:
            found.setdefault(user_id, (UnitState(state), detail))
        return found

    def problems_of(self, run_id: int, user_id: int) -> str:
        """Why the user is missing or incomplete in the run, or "" when read whole."""
        rows = self._rows(
            "SELECT state || ': ' || COALESCE(detail, '') FROM units"
            " WHERE run_id = ? AND user_id = ? AND state IN (?, ?) ORDER BY state LIMIT 1",
            (run_id, user_id, UnitState.MISSING, UnitState.FAILED),
        )
        return str(rows[0][0]) if rows else ""
