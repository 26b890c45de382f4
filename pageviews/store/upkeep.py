"""Upkeep of a store: what it holds, forgetting what is older than a date, compacting.

Invariants:
- Pruning forgets views before a date together with the coverage of those
  seconds, in one transaction: the store never claims to know seconds complete
  whose views it no longer holds.
- Compacting runs only under the store's lock (``pageviews store prune``): VACUUM
  rewrites the whole file.
"""

from __future__ import annotations

from .schema import Connection


class Upkeep(Connection):
    """Counts for ``pageviews store info``, ``prune`` and ``compact``."""

    def info(self) -> dict[str, object]:
        """Counts and spans for ``pageviews store info``."""
        (row,) = self._rows(
            "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM views),"
            " (SELECT COUNT(DISTINCT course_id) FROM views),"
            " (SELECT MIN(created) FROM views), (SELECT MAX(created) FROM views),"
            ' (SELECT MIN(start) FROM coverage), (SELECT MAX("end") FROM coverage),'
            " (SELECT COUNT(*) FROM runs), (SELECT COUNT(*) FROM runs WHERE finished_at IS NULL)"
        )
        keys = ("users", "views", "courses", "first_view", "last_view", "covered_from",
                "covered_to", "runs", "unfinished")  # fmt: skip
        return dict(zip(keys, row, strict=True))

    def prune(self, before: str) -> tuple[int, int]:
        """Forget views before ``before`` and the coverage of those seconds; return counts."""
        with self._tx():
            views = self._db.execute("DELETE FROM views WHERE created < ?", (before,)).rowcount
            cut = self._db.execute(
                'UPDATE coverage SET start = ? WHERE start < ? AND "end" >= ?',
                (before, before, before),
            ).rowcount
            gone = self._db.execute('DELETE FROM coverage WHERE "end" < ?', (before,)).rowcount
        return views, cut + gone

    def compact(self) -> None:
        """Give the space of forgotten rows back to the file system.

        VACUUM rewrites the database (in WAL mode, through the log); the TRUNCATE
        checkpoint then moves it into the main file and empties the log.
        """
        self._db.execute("VACUUM")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
