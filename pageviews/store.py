"""The embedded SQLite store: harvested page views and the progress of every run.

Invariants:
- A page's rows and the fetch unit's next link are written in one transaction,
  so after any crash the store says exactly which pages are held: resuming
  re-requests at most the pages that were in flight.
- ``pages`` keeps each stored page's course rows as one packed blob, so storing
  costs one insert a page, not one a record. Rows carry their course, so one
  user's history can serve every course it touches. The same view may sit in two
  pages (window edges, a page re-read after a crash): readers de-duplicate by id.
- A run owns its roster and fetch units; its reports read only its own pages.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, Final

import orjson

from .errors import StateError
from .records import Row, encode_rows

SCHEMA_VERSION: Final = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    course_id INTEGER NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    started_at TEXT NOT NULL,
    roster_complete INTEGER NOT NULL DEFAULT 0,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_key ON runs (key, finished_at);
CREATE TABLE IF NOT EXISTS run_users (
    run_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (run_id, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fetches (
    fetch_id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    next_url TEXT,
    state TEXT NOT NULL DEFAULT 'todo',
    pages INTEGER NOT NULL DEFAULT 0,
    oldest TEXT,
    ordered INTEGER NOT NULL DEFAULT 1,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS fetches_by_run ON fetches (run_id, state, user_id);
CREATE INDEX IF NOT EXISTS fetches_by_user ON fetches (run_id, user_id);
CREATE TABLE IF NOT EXISTS course_refs (ref TEXT PRIMARY KEY, course_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    fetch_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    rows BLOB NOT NULL,
    PRIMARY KEY (fetch_id, seq)
);
"""

#: States of a fetch unit. ``split`` units handed their remaining range to children.
TODO, DONE, SPLIT, MISSING, FAILED = "todo", "done", "split", "missing", "failed"


@dataclass(frozen=True, slots=True)
class RunKey:
    """What makes two invocations the same harvest, so the second resumes the first."""

    course_id: int
    start: str
    end: str
    enrollment_types: tuple[str, ...] | None
    enrollment_states: tuple[str, ...] | None

    def encode(self) -> str:
        """A stable text form for the ``runs.key`` column."""
        return orjson.dumps(
            [self.course_id, self.start, self.end, self.enrollment_types, self.enrollment_states]
        ).decode()


@dataclass(frozen=True, slots=True)
class Run:
    """A harvest in the store; ``resumed`` when an unfinished one was found."""

    run_id: int
    key: RunKey
    end: str
    resumed: bool
    roster_complete: bool


@dataclass(frozen=True, slots=True)
class Fetch:
    """One unit of work: a user's page views in ``[start, end]``, from ``next_url`` on."""

    fetch_id: int
    user_id: int
    start: str
    end: str
    next_url: str | None
    pages: int
    oldest: str | None = None  # the oldest stored row's time: later pages must be older
    ordered: bool = True  # False once a page came back newer than the ones before it


#: How far a unit's pages reached back and whether they kept newest-first order.
Order = tuple[str | None, bool]


@dataclass(frozen=True, slots=True)
class StoredUnit:
    """A fetch unit with stored pages, and whether they came newest first."""

    fetch_id: int
    ordered: bool


_NOT_ROWS = "not a list of page-view rows"


def _is_row(row: Any) -> bool:
    """Whether a decoded stored row has the shape of :data:`pageviews.records.Row`."""
    return (
        isinstance(row, list)
        and len(row) == 5
        and isinstance(row[0], int)
        and all(isinstance(text, str) for text in row[1:4])
        and (row[4] is None or isinstance(row[4], int | float))
    )


def _fetch(row: tuple[Any, ...]) -> Fetch:
    fetch_id, user_id, start, end, next_url, pages, oldest, ordered = row
    return Fetch(fetch_id, user_id, start, end, next_url, pages, oldest, bool(ordered))


class Store:
    """A SQLite file holding page views and run progress for one Canvas origin."""

    def __init__(self, path: Path, origin: str | None) -> None:
        """Open or create the store; ``origin=None`` opens an existing one for reading."""
        self.path = path
        if origin is None and not path.is_file():
            raise StateError(f"no state store at {path}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.executescript(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-4000;"
            )
            self._db.executescript(_SCHEMA)
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
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise StateError(f"{self.path} was written by another version; use --fresh")
        if origin is not None and meta.get("origin") != origin:
            raise StateError(
                f"{self.path} holds data from {meta.get('origin')}, not {origin}; "
                "use another --state file"
            )

    def close(self) -> None:
        """Close the database (committed data is already on disk)."""
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction; SQLite failing (disk full, read-only file) is a StateError."""
        with self._failing("write"):
            # ``with connection`` commits or rolls back; BEGIN makes the block one transaction.
            self._db.execute("BEGIN")
            with self._db:
                yield self._db

    @contextmanager
    def _failing(self, doing: str) -> Iterator[None]:
        # A full disk, a read-only file or a damaged page surfaces here, deep inside a
        # worker: name the store and SQLite's reason, never a bare sqlite3 error.
        try:
            yield
        except sqlite3.Error as exc:
            raise StateError(f"cannot {doing} the state store {self.path}: {exc}") from None

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._failing("read"):
            return self._db.execute(sql, params).fetchall()

    def _one(self, sql: str, params: tuple[Any, ...]) -> Any:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    # Runs -------------------------------------------------------------------

    def open_run(self, key: RunKey, pinned_end: str, now: str) -> Run:
        """Find the unfinished run with this key, or start a new one."""
        found = self._one(
            "SELECT run_id, end, roster_complete FROM runs"
            " WHERE key = ? AND finished_at IS NULL ORDER BY run_id DESC LIMIT 1",
            (key.encode(),),
        )
        if found:
            return Run(found[0], key, found[1], resumed=True, roster_complete=bool(found[2]))
        with self._tx():
            cursor = self._db.execute(
                "INSERT INTO runs (key, course_id, start, end, started_at) VALUES (?, ?, ?, ?, ?)",
                (key.encode(), key.course_id, key.start, pinned_end, now),
            )
        run_id = cursor.lastrowid
        assert run_id is not None
        return Run(run_id, key, pinned_end, resumed=False, roster_complete=False)

    def latest_run(self, key: RunKey) -> tuple[Run, bool] | None:
        """The newest run with this key, finished or not, and whether it finished."""
        found = self._one(
            "SELECT run_id, end, roster_complete, finished_at IS NOT NULL FROM runs"
            " WHERE key = ? ORDER BY run_id DESC LIMIT 1",
            (key.encode(),),
        )
        if found is None:
            return None
        run = Run(found[0], key, found[1], resumed=True, roster_complete=bool(found[2]))
        return run, bool(found[3])

    def finish_run(self, run_id: int, now: str) -> None:
        """Close a run, so the same command later starts a new harvest."""
        with self._tx():
            self._db.execute("UPDATE runs SET finished_at = ? WHERE run_id = ?", (now, run_id))

    def remember_course(self, ref: str, course_id: int) -> None:
        """Note which course a ``sis_course_id:`` reference named, for ``pageviews report``."""
        with self._tx():
            self._db.execute("INSERT OR REPLACE INTO course_refs VALUES (?, ?)", (ref, course_id))

    def course_id(self, ref: str) -> int | None:
        """The course a numeric id or a remembered ``sis_course_id:`` reference names."""
        if ref.isdigit():
            return int(ref)
        found = self._one("SELECT course_id FROM course_refs WHERE ref = ?", (ref,))
        return None if found is None else int(found[0])

    # Roster -----------------------------------------------------------------

    def add_users(
        self, run_id: int, users: Iterable[tuple[int, str]], start: str, end: str
    ) -> None:
        """Record roster users and give each new one a fetch unit over the run's range."""
        with self._tx():
            for user_id, name in users:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO run_users VALUES (?, ?, ?)", (run_id, user_id, name)
                )
                if cursor.rowcount:
                    self._db.execute(
                        "INSERT INTO fetches (run_id, user_id, start, end) VALUES (?, ?, ?, ?)",
                        (run_id, user_id, start, end),
                    )

    def set_roster_complete(self, run_id: int) -> None:
        """Note that the roster was listed to the end."""
        with self._tx():
            self._db.execute("UPDATE runs SET roster_complete = 1 WHERE run_id = ?", (run_id,))

    def roster(self, run_id: int) -> dict[int, str]:
        """The run's users and their names."""
        return dict(
            self._rows(
                "SELECT user_id, name FROM run_users WHERE run_id = ? ORDER BY user_id", (run_id,)
            )
        )

    # Fetch units ------------------------------------------------------------

    def pending(self, run_id: int, user_id: int | None = None) -> list[Fetch]:
        """Fetch units still to do, in user order; only ``user_id``'s when given."""
        user_filter = "" if user_id is None else " AND user_id = ?"
        rows = self._rows(
            "SELECT fetch_id, user_id, start, end, next_url, pages, oldest, ordered FROM fetches"
            f" WHERE run_id = ? AND state = ?{user_filter} ORDER BY user_id, fetch_id",
            (run_id, TODO) if user_id is None else (run_id, TODO, user_id),
        )
        return [_fetch(row) for row in rows]

    def save_page(
        self, fetch: Fetch, seq: int, rows: list[Row], next_url: str | None, order: Order
    ) -> None:
        """Store page ``seq`` of a unit with its next link (``None``: the unit is done)."""
        with self._tx():
            self._insert(fetch.fetch_id, seq, rows)
            if next_url is None:
                self._db.execute(
                    "UPDATE fetches SET next_url = NULL, pages = ?, state = ?, oldest = ?,"
                    " ordered = ? WHERE fetch_id = ?",
                    (seq + 1, DONE, *order, fetch.fetch_id),
                )
            else:
                # state stays 'todo': leaving the indexed column out spares the index a write.
                self._db.execute(
                    "UPDATE fetches SET next_url = ?, pages = ?, oldest = ?, ordered = ?"
                    " WHERE fetch_id = ?",
                    (next_url, seq + 1, *order, fetch.fetch_id),
                )

    def split(
        self,
        fetch: Fetch,
        seq: int,
        rows: list[Row],
        order: Order,
        run_id: int,
        windows: list[tuple[str, str]],
    ) -> list[Fetch]:
        """Store page ``seq`` of a unit and hand the rest of its range to units over ``windows``."""
        with self._tx():
            self._insert(fetch.fetch_id, seq, rows)
            self._db.execute(
                "UPDATE fetches SET state = ?, pages = ?, oldest = ?, ordered = ?, detail = ?"
                " WHERE fetch_id = ?",
                (SPLIT, seq + 1, *order, orjson.dumps(windows).decode(), fetch.fetch_id),
            )
            children = []
            for start, end in windows:
                cursor = self._db.execute(
                    "INSERT INTO fetches (run_id, user_id, start, end) VALUES (?, ?, ?, ?)",
                    (run_id, fetch.user_id, start, end),
                )
                assert cursor.lastrowid is not None
                children.append(Fetch(cursor.lastrowid, fetch.user_id, start, end, None, 0))
        return children

    def give_up(self, fetch_id: int, state: str, detail: str) -> None:
        """Mark a unit ``missing`` (Canvas says 404) or ``failed`` (retries ran out)."""
        with self._tx():
            self._db.execute(
                "UPDATE fetches SET state = ?, detail = ? WHERE fetch_id = ?",
                (state, detail, fetch_id),
            )

    def retry_failed(self, run_id: int) -> int:
        """Put failed units of an unfinished run back in the queue; return how many."""
        with self._tx():
            cursor = self._db.execute(
                "UPDATE fetches SET state = ? WHERE run_id = ? AND state = ?",
                (TODO, run_id, FAILED),
            )
        return cursor.rowcount

    def problems(self, run_id: int) -> list[tuple[int, str, str]]:
        """Users with a ``missing`` or ``failed`` unit: (user_id, state, detail)."""
        return self._rows(
            "SELECT user_id, state, COALESCE(detail, '') FROM fetches"
            " WHERE run_id = ? AND state IN (?, ?) GROUP BY user_id ORDER BY user_id",
            (run_id, MISSING, FAILED),
        )

    def _insert(self, fetch_id: int, seq: int, rows: list[Row]) -> None:
        if rows:
            self._db.execute(
                "INSERT OR REPLACE INTO pages VALUES (?, ?, ?)",
                (fetch_id, seq, encode_rows(rows)),
            )

    # Reports ----------------------------------------------------------------

    def user_units(self, run_id: int) -> Iterator[tuple[int, str, list[StoredUnit]]]:
        """Each roster user of the run, in id order, with their fetch units that stored pages."""
        users = self._rows(
            "SELECT u.user_id, u.name, f.fetch_id, f.ordered FROM run_users AS u"
            " LEFT JOIN fetches AS f ON f.run_id = u.run_id AND f.user_id = u.user_id"
            " AND EXISTS (SELECT 1 FROM pages AS p WHERE p.fetch_id = f.fetch_id)"
            " WHERE u.run_id = ? ORDER BY u.user_id, f.fetch_id",
            (run_id,),
        )
        for (user_id, name), rows in groupby(users, key=itemgetter(0, 1)):
            units = [StoredUnit(f, bool(o)) for _, _, f, o in rows if f is not None]
            yield user_id, name, units

    def unit_pages(self, fetch_id: int) -> Iterator[bytes]:
        """A unit's page blobs, oldest page first, read one at a time."""
        with self._failing("read"):
            cursor = self._db.execute(
                "SELECT seq, rows FROM pages WHERE fetch_id = ? ORDER BY seq DESC", (fetch_id,)
            )
            for seq, blob in cursor:
                # Only non-empty pages are stored: anything else would read as no rows.
                if not blob.startswith(b"[["):
                    raise self.unreadable(fetch_id, seq, _NOT_ROWS)
                yield blob

    def unreadable(self, fetch_id: int, seq: int, why: str) -> StateError:
        """The error for a stored page that does not decode (SQLite's checks cannot see it)."""
        return StateError(
            f"the state store {self.path} holds a page that cannot be read "
            f"(unit {fetch_id}, page {seq}: {why}); start over with --fresh"
        )

    def first_unreadable(self) -> StateError | None:
        """Check every stored page's rows; the error for the first that is wrong, if any."""
        with self._failing("read"):
            for fetch_id, seq, blob in self._db.execute("SELECT fetch_id, seq, rows FROM pages"):
                try:
                    rows = orjson.loads(blob)
                except orjson.JSONDecodeError as exc:
                    return self.unreadable(fetch_id, seq, str(exc))
                if not (isinstance(rows, list) and all(map(_is_row, rows))):
                    return self.unreadable(fetch_id, seq, _NOT_ROWS)
        return None
