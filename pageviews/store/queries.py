"""History API export jobs: query groups, their queries, and the files they stream in.

Invariants:
- A History API export job (``history_queries``) is stored with its query id as
  soon as Canvas gives one, so a run killed while jobs run polls them again
  rather than starting new ones.
- Its file's views are stored as they stream in, a bounded batch per transaction
  (a file can be hundreds of MB); the coverage of its users' months and its
  ``done`` state only once the file was read to its end, in one transaction, as
  a list unit's coverage waits for its last page.
- Units of the ``history`` source name the query group (``query_key``, the root
  query) that reads them; a query too large for Canvas becomes children under
  the same root. A group stays ``open`` while the planner adds users to it, and
  is closed (``todo``: ready to be read) once full or once the rosters are listed.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from ..coverage import Interval
from ..outcomes import QueryState, UnitState
from .rows import HistoryQuery, Unit
from .units import Units

OPEN, STARTED = QueryState.OPEN, QueryState.STARTED


class Queries(Units):
    """Query groups of the ``history`` source and the jobs that read them."""

    def plan_user(
        self,
        run_id: int,
        user_id: int,
        listed: Iterable[Interval],
        history: tuple[Interval, tuple[str, str]] | None,
        group_size: int,
    ) -> tuple[list[Unit], int | None]:
        """Add a user's list units and its history unit, in one transaction.

        The history unit joins the run's open query group over the same seconds and
        months, or opens one; return the list units and the group's key if this
        user filled it (it is then closed: ready to be read).
        """
        full = None
        with self._tx():
            units = self._new_units(run_id, user_id, listed, "list")
            if history is not None:
                full = self._join_group(run_id, user_id, *history, group_size)
        return units, full

    def _join_group(
        self, run_id: int, user_id: int, interval: Interval, months: tuple[str, str], size: int
    ) -> int | None:
        span = f"{interval[0]}/{interval[1]}"
        found = self._db.execute(
            "SELECT query_key, users FROM history_queries WHERE run_id = ? AND state = ?"
            " AND span = ? AND start_month = ? AND end_month = ? LIMIT 1",
            (run_id, OPEN, span, *months),
        ).fetchall()
        if found:
            key, users = found[0][0], [*orjson.loads(found[0][1]), user_id]
        else:
            ((key,),) = self._db.execute(
                "INSERT INTO history_queries (run_id, users, start_month, end_month, state, span)"
                " VALUES (?, '[]', ?, ?, ?, ?) RETURNING query_key",
                (run_id, *months, OPEN, span),
            ).fetchall()
            users = [user_id]
        state = QueryState.TODO if len(users) >= size else OPEN
        self._db.execute(
            "UPDATE history_queries SET users = ?, root = ?, state = ? WHERE query_key = ?",
            (orjson.dumps(users).decode(), key, state, key),
        )
        self._db.execute(
            'INSERT INTO units (run_id, user_id, start, "end", source, query_key)'
            " VALUES (?, ?, ?, ?, 'history', ?)",
            (run_id, user_id, *interval, key),
        )
        return key if state == QueryState.TODO else None

    def close_groups(self, run_id: int) -> list[int]:
        """Close the run's open query groups (the rosters are listed, or a run resumes)."""
        with self._tx():
            keys = [
                key
                for (key,) in self._db.execute(
                    "SELECT query_key FROM history_queries WHERE run_id = ? AND state = ?",
                    (run_id, OPEN),
                ).fetchall()
            ]
            self._db.execute(
                "UPDATE history_queries SET state = ? WHERE run_id = ? AND state = ?",
                (QueryState.TODO, run_id, OPEN),
            )
        return keys

    def started_queries(self, run_id: int) -> list[tuple[int, str]]:
        """Jobs Canvas accepted that the run has not read, as (group, query id), oldest first.

        A resumed run polls them before it starts any new job.
        """
        rows = self._rows(
            "SELECT root, query_id FROM history_queries WHERE run_id = ? AND state = ?"
            " AND query_id IS NOT NULL ORDER BY query_key",
            (run_id, STARTED),
        )
        return [(root, query_id) for root, query_id in rows]

    def history_queries(self, root: int) -> list[HistoryQuery]:
        """The queries of a group, oldest first."""
        return [
            HistoryQuery(
                key, root_key, tuple(orjson.loads(users)), start, end, qid, QueryState(state), n
            )
            for key, root_key, users, start, end, qid, state, n in self._rows(
                "SELECT query_key, root, users, start_month, end_month, query_id, state, restarts"
                " FROM history_queries WHERE root = ? ORDER BY query_key",
                (root,),
            )
        ]

    def group_units(self, run_id: int, root: int) -> list[Unit]:
        """The units a query group still has to read."""
        rows = self._rows(
            'SELECT unit_id, user_id, start, "end", source, state FROM units'
            " WHERE run_id = ? AND query_key = ? AND state = ? ORDER BY unit_id",
            (run_id, root, UnitState.TODO),
        )
        return [Unit(u, user, s, e, src, query_key=root) for u, user, s, e, src, _ in rows]

    def set_query(
        self, key: int, state: QueryState, query_id: str | None, detail: str = ""
    ) -> None:
        """Record a query's id (``None`` to start it again) and state."""
        restart = 1 if query_id is None and state == QueryState.TODO else 0
        with self._tx():
            self._db.execute(
                "UPDATE history_queries SET state = ?, query_id = ?, detail = ?,"
                " restarts = restarts + ? WHERE query_key = ?",
                (state, query_id, detail, restart, key),
            )

    def split_query(
        self, query: HistoryQuery, parts: list[tuple[tuple[int, ...], str, str]]
    ) -> list[HistoryQuery]:
        """Replace a query Canvas found too large by smaller ones under the same root."""
        children = []
        with self._tx():
            self._db.execute(
                "UPDATE history_queries SET state = ? WHERE query_key = ?",
                (QueryState.SPLIT, query.query_key),
            )
            for users, start, end in parts:
                ((key,),) = self._db.execute(
                    "INSERT INTO history_queries (run_id, root, users, start_month, end_month)"
                    " SELECT run_id, root, ?, ?, ? FROM history_queries WHERE query_key = ?"
                    " RETURNING query_key",
                    (orjson.dumps(list(users)).decode(), start, end, query.query_key),
                ).fetchall()
                children.append(
                    HistoryQuery(key, query.root, users, start, end, None, QueryState.TODO, 0)
                )
        return children

    def finish_history(
        self, run_id: int, query: HistoryQuery, covered: list[tuple[int, Interval]], source: str
    ) -> None:
        """Mark a query's file read to its end: its users' coverage and its ``done`` state."""
        with self._tx():
            for user_id, interval in covered:
                if interval[0] <= interval[1]:
                    self._cover(user_id, interval, run_id, source)
            self._db.execute(
                "UPDATE history_queries SET state = ? WHERE query_key = ?",
                (QueryState.DONE, query.query_key),
            )
