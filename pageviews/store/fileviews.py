"""An export file's views, held while the file streams in and stored once it is read.

Invariants:
- A file's rows are shuffled in time, and interleave its users: written as they
  come, each part would touch leaf pages all over ``views``, and each commit write
  them again (most of an export row's cost). Held instead in a temporary table of
  the store's connection (on disk, not in memory, however large the file), they
  are upserted in key order, each leaf page written once, when the file was read
  to its end; a read that breaks off stores none of them (it is read again).
- Of two copies of a view in a file the later wins, as it would written in turn.
- Files read side by side each have a table of their own; a table is emptied and
  kept for the next file, so the statements over it stay prepared.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final, Protocol

from .rows import Row
from .views import Views

_COLUMNS: Final = "user_id, course_id, created, id, url, interaction, shape, remote_ip"


class FileViews(Protocol):
    """Where the views of one export file go as it streams in (:meth:`Store.file_views`)."""

    def add(self, rows: list[tuple[int, Row]]) -> None:
        """Take views of several users (a part of the file), as ``(user, row)``."""


class _Staged:
    """A file's views in one temporary table, until the file is read to its end."""

    def __init__(self, store: StagedViews, table: str) -> None:
        self._store, self._insert = store, f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?, ?, ?)"

    def add(self, rows: list[tuple[int, Row]]) -> None:
        store = self._store
        with store._tx():
            # A row of the table keeps a view's stored values; its rowid, the file's order.
            store._db.executemany(self._insert, [(user, *row[:7]) for user, row in rows])
            store._add_shapes([row for _, row in rows])


class PartsAsTheyCome:
    """A file's views stored a part at a time as they come, for stores that stage none."""

    def __init__(self, store: Views) -> None:
        self._store = store

    def add(self, rows: list[tuple[int, Row]]) -> None:
        self._store.add_views(rows)


class StagedViews(Views):
    """Export files' views staged on disk, then upserted in key order (SQLite)."""

    _staging: list[str] | None = None  # the temporary tables no file is using now
    _tables = 0

    @contextmanager
    def file_views(self) -> Iterator[FileViews]:
        """Views of one file: stored together when the block ends, none if it raises."""
        if self._staging is None:
            self._staging = []
        if self._staging:
            table = self._staging.pop()
        else:
            self._tables += 1
            table = f"temp.file_views_{self._tables}"
            with self._failing("write"):
                self._db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({_COLUMNS})")
        try:
            yield _Staged(self, table)
            with self._tx():
                # Key order, a view's later copy last: the statement's later row wins.
                self._db.execute(
                    f"INSERT INTO views ({_COLUMNS}) SELECT * FROM {table}"
                    " WHERE true ORDER BY user_id, created, id, rowid"
                    " ON CONFLICT (user_id, created, id) DO UPDATE"
                    " SET course_id = excluded.course_id, url = excluded.url,"
                    " interaction = excluded.interaction, shape = excluded.shape,"
                    " remote_ip = excluded.remote_ip"
                )
        finally:
            with self._failing("write"):
                self._db.execute(f"DELETE FROM {table}")
            self._staging.append(table)
