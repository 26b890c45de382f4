"""The SQLite store's tables, their version and upgrades, and the one connection over them.

Invariants:
- One connection (WAL) serves every table family; each write is whole or absent
  after a crash (:meth:`Connection._tx`). A page of views and its unit's next link
  are one write; pages are committed a few at a time (:meth:`Connection._page_tx`),
  so a crash or a failed page may undo the last few, whose units then point at
  them again.
- A store belongs to one Canvas (``meta.origin``) and one schema version: an
  older version this one knows how to lift is upgraded in place, any other is
  refused with the way out, never read wrongly.
- SQLite failing (a full disk, a read-only file, a damaged page) is a
  :class:`~pageviews.errors.StateError` naming the store, never a bare sqlite3 error.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Final, Protocol

from ..errors import StateError

SCHEMA_VERSION: Final = 8
#: Older versions this one upgrades in place: version to the statements that lift it by one.
_MIGRATIONS: Final = {
    # Units count the views Canvas sent that could not be kept (no id or no time).
    "7": ("ALTER TABLE units ADD COLUMN refused INTEGER NOT NULL DEFAULT 0",),
}
#: Pages committed together (:meth:`Connection._page_tx`). A commit writes every
#: database page its transaction touched to the WAL; one per page of views was about
#: a tenth of a harvest's CPU. A kill loses at most the last group, read again.
GROUP_PAGES: Final = 16
GROUP_SECONDS: Final = 0.2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (user_id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS views (
    user_id INTEGER NOT NULL,
    created TEXT NOT NULL,
    id TEXT NOT NULL,
    course_id INTEGER NOT NULL,
    url TEXT NOT NULL,
    interaction REAL,
    shape INTEGER NOT NULL,
    remote_ip TEXT,
    PRIMARY KEY (user_id, created, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shapes (shape INTEGER PRIMARY KEY, fields BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS coverage (
    user_id INTEGER NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    read_at TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS coverage_by_user ON coverage (user_id);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_key ON runs (key, finished_at);
CREATE TABLE IF NOT EXISTS run_courses (
    position INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    ref TEXT NOT NULL,
    course_id INTEGER,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    UNIQUE (run_id, ref)
);
CREATE TABLE IF NOT EXISTS rosters (
    run_id INTEGER NOT NULL,
    course_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (run_id, course_id, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS enrollments (
    run_id INTEGER NOT NULL,
    course_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    type TEXT NOT NULL,
    last_activity TEXT,
    PRIMARY KEY (run_id, course_id, user_id, type)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS units (
    unit_id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    source TEXT NOT NULL,
    next_url TEXT,
    state TEXT NOT NULL DEFAULT 'todo',
    pages INTEGER NOT NULL DEFAULT 0,
    oldest TEXT,
    ordered INTEGER NOT NULL DEFAULT 1,
    detail TEXT,
    query_key INTEGER,
    refused INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS units_by_run ON units (run_id, state, user_id);
CREATE TABLE IF NOT EXISTS history_queries (
    query_key INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    root INTEGER,
    users TEXT NOT NULL,
    start_month TEXT NOT NULL,
    end_month TEXT NOT NULL,
    query_id TEXT,
    state TEXT NOT NULL DEFAULT 'todo',
    restarts INTEGER NOT NULL DEFAULT 0,
    detail TEXT,
    span TEXT
);
CREATE INDEX IF NOT EXISTS history_queries_by_root ON history_queries (root);
-- Users this connection planned, on disk rather than in memory however many a run has.
CREATE TEMP TABLE IF NOT EXISTS planned (
    run_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (run_id, user_id)
) WITHOUT ROWID;
"""
#: Shapes the store remembers holding, so a page inserts only shapes new to it; a bound,
#: since distinct shapes grow with the views (they carry the asset ids).
SHAPES_KNOWN = 4_096


class Cursor(Protocol):
    """What the table families read of a statement's result, whatever the database."""

    @property
    def rowcount(self) -> int: ...
    def fetchall(self) -> list[Any]: ...
    def close(self) -> None: ...
    def __iter__(self) -> Iterator[Any]: ...


class Database(Protocol):
    """What the table families ask of a connection: SQL with ``?`` placeholders."""

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Cursor: ...


class Connection:
    """The SQLite connection every table family of the store works through."""

    _db: Database
    #: The database's own errors, which :meth:`_failing` turns into StateErrors.
    _errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def __init__(self, path: Path, origin: str | None) -> None:
        self.path: Path | str = path
        self._shapes: set[int] = set()  # shapes this store is known to hold (some of them)
        self._new_shapes: list[int] = []  # shapes the open transaction adds
        self._grouped, self._group_began = 0, 0.0  # pages the open transaction holds
        self._undone = False  # a page failed and its group was rolled back
        self._closed = False
        if origin is None and not path.exists():
            raise StateError(f"no state store at {path}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._sqlite = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db = self._sqlite
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # A checkpoint (the only fsync in WAL mode with synchronous=NORMAL) every
            # ~40 MB of pages rather than every 4 MB: commits stay cheap; a crash
            # still loses nothing committed.
            self._db.execute("PRAGMA wal_autocheckpoint=10000")
            self._sqlite.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StateError(f"cannot open the state store {path}: {exc}") from None
        self._check_meta(origin)

    def _check_meta(self, origin: str | None) -> None:
        meta = dict(self._rows("SELECT name, value FROM meta"))
        self.origin = meta.get("origin", origin)
        if not meta and origin is not None:
            with self._tx():
                self._db.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("schema_version", str(SCHEMA_VERSION)), ("origin", origin)],
                )
            return
        version = meta.get("schema_version")
        while version in _MIGRATIONS:
            with self._tx():
                for statement in _MIGRATIONS[version]:
                    self._db.execute(statement)
                version = str(int(version) + 1)
                self._db.execute(
                    "UPDATE meta SET value = ? WHERE name = 'schema_version'", (version,)
                )
            meta["schema_version"] = version
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise StateError(
                f"{self.path} was written by another version of pageviews (store version "
                f"{meta.get('schema_version')}, this one reads {SCHEMA_VERSION}): remove it "
                "(it holds only what a harvest read, which a new run reads again) or use "
                "another --state"
            )
        if origin is not None and meta.get("origin") != origin:
            raise StateError(
                f"{self.path} holds data from {meta.get('origin')}, not {origin}; "
                "use another --state file"
            )

    def close(self) -> None:
        """Commit the pages still grouped and close the database."""
        try:
            if not self._closed and self._sqlite.in_transaction:
                self._commit()
        finally:
            self._closed = True
            self._sqlite.close()

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """One write in a transaction of its own, after committing any pages grouped.

        SQLite failing (disk full, read-only file) is a StateError.
        """
        if self._sqlite.in_transaction:
            self._commit()
        self._check_whole()
        with self._failing("write"):
            # ``with connection`` commits or rolls back; BEGIN makes the block one transaction.
            self._db.execute("BEGIN")
            try:
                with self._sqlite:
                    yield
                self._committed()
            finally:
                self._new_shapes.clear()

    @contextmanager
    def _page_tx(self) -> Iterator[None]:
        """A page's write, committed with the pages around it (see GROUP_PAGES).

        A page that fails undoes its whole group, whose units then point at its first
        page again; the store takes no more writes, so the run stops (a StateError does)
        and the next one reads those pages again.
        """
        self._check_whole()
        with self._failing("write"):
            if not self._sqlite.in_transaction:
                self._db.execute("BEGIN")
                self._grouped, self._group_began = 0, time.monotonic()
            try:
                yield
            except BaseException:
                self._undone = True
                self._new_shapes.clear()
                if self._sqlite.in_transaction:  # SQLite itself undoes some failures
                    self._sqlite.rollback()
                raise
        self._grouped += 1
        if self._grouped >= GROUP_PAGES or time.monotonic() - self._group_began >= GROUP_SECONDS:
            self._commit()

    def _check_whole(self) -> None:
        if self._undone:
            raise StateError(
                f"cannot write the state store {self.path}: a write failed and the pages "
                "read since the last commit were undone; run the same command again"
            )

    def _commit(self) -> None:
        with self._failing("write"):
            self._sqlite.commit()
        self._grouped = 0
        self._committed()
        self._new_shapes.clear()

    def _committed(self) -> None:
        """Remember the shapes the transaction just committed."""
        if len(self._shapes) + len(self._new_shapes) > SHAPES_KNOWN:
            self._shapes.clear()  # a shape forgotten is only inserted (ignored) again
        self._shapes.update(self._new_shapes)

    @contextmanager
    def _failing(self, doing: str) -> Iterator[None]:
        # A full disk, a read-only file or a damaged page surfaces here, deep inside a
        # worker: name the store and SQLite's reason, never a bare sqlite3 error.
        try:
            yield
        except self._errors as exc:
            raise StateError(f"cannot {doing} the state store {self.path}: {exc}") from None

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        with self._failing("read"), closing(self._db.execute(sql, tuple(params))) as cursor:
            return cursor.fetchall()
