"""The state store: users' page-view histories with coverage, and the runs that read them.

Invariants:
- Page views belong to users, so the store does too: ``views`` holds each page
  view once, keyed by (user, second, id), with the course it belongs to. A view
  read again (a window edge, a page re-read after a crash, a later run) replaces
  its earlier copy, so corrections Canvas makes later win. Only views that belong
  to some course are kept; no course report could use the others.
- A page's views and its fetch unit's next link are written in one transaction,
  so after any crash the store says exactly which pages are held: resuming
  re-requests at most the pages that were in flight.
- ``coverage`` says, per user, which seconds are known complete, since when
  (``read_at``) and from which source. It grows only when a unit has read its
  interval to the end. A unit that splits covers nothing itself: its windows
  cover its whole interval, the part it had read included.
- A History API export job (``history_queries``) is stored with its query id as
  soon as Canvas gives one, so a run killed while jobs run polls them again
  rather than starting new ones. Its file's views are stored as they stream in,
  a bounded batch per transaction (a file can be hundreds of MB); the coverage
  of its users' months and its ``done`` state only once the file was read to its
  end, in one transaction, as a list unit's coverage waits for its last page. Units of the
  ``history`` source name the query group (``query_key``, the root query) that
  reads them; a query too large for Canvas becomes children under the same root.
- Each view keeps the researcher's fields for the records dataset: its context and
  asset ids and address, and a ``shape`` naming its row in ``shapes``, which holds
  each distinct combination of the fields that repeat (controller, action, user
  agent...) once. A shape's digest is of its content, so a shape is never rewritten.
- A run is a plan over the store: its courses, their rosters and its fetch
  units. Reports are rendered per course from ``views`` by course, range and
  roster; they never depend on which run read a view.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, Final

import orjson

from ..coverage import Covered, Interval
from ..errors import StateError
from ..sources.records import Row

SCHEMA_VERSION: Final = 8
#: Older versions this one upgrades in place: version to the statements that lift it by one.
_MIGRATIONS: Final = {
    # Units count the views Canvas sent that could not be kept (no id or no time).
    "7": ("ALTER TABLE units ADD COLUMN refused INTEGER NOT NULL DEFAULT 0",),
}

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

#: States of a fetch unit. ``split`` units handed the rest of their range to children.
TODO, DONE, SPLIT, MISSING, FAILED = "todo", "done", "split", "missing", "failed"
#: States of a history query beside ``todo``, ``done``, ``split`` and ``failed``: a group
#: still taking users while the planner lists rosters, and a query Canvas accepted.
OPEN, STARTED = "open", "started"
#: States of a run's course.
LISTING, LISTED = "listing", "listed"

_INSERT_UNIT = "INSERT INTO units (run_id, user_id, start, end, source) VALUES (?, ?, ?, ?, ?)"
_UPSERT_USER = "INSERT INTO users VALUES (?, ?) ON CONFLICT DO UPDATE SET name = excluded.name"
#: A page's views go in a few multi-row statements, one per power of two in the row
#: count, so the connection's statement cache holds only these few. Binding each value
#: once beats executemany's round trip per row (and binding the shape's fields, which go
#: to ``shapes``) by about a third of the store's CPU (``make bench``, cpu scenario).
_UPSERT_SIZES: Final = (64, 32, 16, 8, 4, 2, 1)


def _upsert_views(rows: int) -> str:
    """The upsert of ``rows`` views of one user: ?1 is the user, then seven values a view."""
    values = ",".join(
        f"({', '.join(f'?{2 + 7 * row + column}' for column in range(7))}, ?1)"
        for row in range(rows)
    )
    return (
        "INSERT INTO views (course_id, created, id, url, interaction, shape, remote_ip, user_id)"
        f" VALUES {values} ON CONFLICT (user_id, created, id) DO UPDATE"
        " SET course_id = excluded.course_id, url = excluded.url,"
        " interaction = excluded.interaction, shape = excluded.shape,"
        " remote_ip = excluded.remote_ip"
    )


_UPSERT_VIEWS: Final = {rows: _upsert_views(rows) for rows in _UPSERT_SIZES}
_STORED = itemgetter(0, 1, 2, 3, 4, 5, 6)  # a Row's values kept in ``views``
_CREATED_OF = itemgetter(1)
#: Shapes the store remembers holding, so a page inserts only shapes new to it; a bound,
#: since distinct shapes grow with the views (they carry the asset ids).
SHAPES_KNOWN = 4_096
_SHAPE_OF = itemgetter(5)
_FIELDS_OF = itemgetter(7)
#: One enrollment of a roster user: (user_id, type, last_activity_at or None).
Enrollment = tuple[int, str, str | None]


@dataclass(frozen=True, slots=True)
class Run:
    """A run in the store; ``resumed`` when an unfinished one with the same key was found."""

    run_id: int
    key: str
    start: str
    end: str  # pinned: never past the moment the run started
    started_at: str
    resumed: bool


@dataclass(frozen=True, slots=True)
class Unit:
    """One unit of work: a user's page views in ``[start, end]``, from ``next_url`` on."""

    unit_id: int
    user_id: int
    start: str
    end: str
    source: str
    next_url: str | None = None
    pages: int = 0
    oldest: str | None = None  # the oldest second read so far: later pages must be older
    ordered: bool = True  # False once the chain broke newest-first order
    query_key: int | None = None  # a history unit's query group
    refused: int = 0  # views read so far that could not be kept (no id or no time)


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """One History API export job: its users and months (``end`` exclusive), how far it got."""

    query_key: int
    root: int
    users: tuple[int, ...]
    start: str  # YYYY-MM-DD, first of a month
    end: str
    query_id: str | None
    state: str
    restarts: int


@dataclass(frozen=True, slots=True)
class RunCourse:
    """A course of a run, as the user named it: how far its roster was listed, or why not."""

    ref: str
    course_id: int | None
    name: str
    state: str
    detail: str


class Store:
    """The SQLite store (WAL) behind harvests, resume and offline reports."""

    def __init__(self, path: Path, origin: str | None) -> None:
        self.path = path
        self._shapes: set[int] = set()  # shapes this store is known to hold (some of them)
        self._new_shapes: list[int] = []  # shapes the open transaction adds
        if origin is None and not path.exists():
            raise StateError(f"no state store at {path}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # A checkpoint (the only fsync in WAL mode with synchronous=NORMAL) every
            # ~40 MB of pages rather than every 4 MB: commits stay cheap; a crash
            # still loses nothing committed.
            self._db.execute("PRAGMA wal_autocheckpoint=10000")
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
        """Close the database (committed data is already on disk)."""
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction; SQLite failing (disk full, read-only file) is a StateError."""
        with self._failing("write"):
            # ``with connection`` commits or rolls back; BEGIN makes the block one transaction.
            self._db.execute("BEGIN")
            try:
                with self._db:
                    yield self._db
                if len(self._shapes) + len(self._new_shapes) > SHAPES_KNOWN:
                    self._shapes.clear()  # a shape forgotten is only inserted (ignored) again
                self._shapes.update(self._new_shapes)
            finally:
                self._new_shapes.clear()

    @contextmanager
    def _failing(self, doing: str) -> Iterator[None]:
        # A full disk, a read-only file or a damaged page surfaces here, deep inside a
        # worker: name the store and SQLite's reason, never a bare sqlite3 error.
        try:
            yield
        except sqlite3.Error as exc:
            raise StateError(f"cannot {doing} the state store {self.path}: {exc}") from None

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        with self._failing("read"), closing(self._db.execute(sql, tuple(params))) as cursor:
            return cursor.fetchall()

    # Runs -------------------------------------------------------------------

    def open_run(self, key: str, start: str, end: str, now: str) -> Run:
        """Find the unfinished run with this key, or start a new one."""
        found = self._rows(
            "SELECT run_id, start, end, started_at FROM runs"
            " WHERE key = ? AND finished_at IS NULL ORDER BY run_id DESC LIMIT 1",
            (key,),
        )
        if found:
            run_id, start, end, started_at = found[0]
            return Run(run_id, key, start, end, started_at, resumed=True)
        with self._tx():
            cursor = self._db.execute(
                "INSERT INTO runs (key, start, end, started_at) VALUES (?, ?, ?, ?)",
                (key, start, end, now),
            )
        assert cursor.lastrowid is not None
        return Run(cursor.lastrowid, key, start, end, now, resumed=False)

    def latest_run(self, key: str) -> tuple[Run, bool] | None:
        """The newest run with this key, finished or not, and whether it finished."""
        found = self._rows(
            "SELECT run_id, start, end, started_at, finished_at IS NOT NULL FROM runs"
            " WHERE key = ? ORDER BY run_id DESC LIMIT 1",
            (key,),
        )
        if not found:
            return None
        run_id, start, end, started_at, finished = found[0]
        return Run(run_id, key, start, end, started_at, resumed=True), bool(finished)

    def runs(self) -> list[tuple[Run, bool]]:
        """Every run, newest first, and whether it finished."""
        return [
            (Run(run_id, key, start, end, started_at, resumed=True), bool(finished))
            for run_id, key, start, end, started_at, finished in self._rows(
                "SELECT run_id, key, start, end, started_at, finished_at IS NOT NULL FROM runs"
                " ORDER BY run_id DESC"
            )
        ]

    def finish_run(self, run_id: int, now: str) -> None:
        """Close a run, so the same command later starts a new one."""
        with self._tx():
            self._db.execute("UPDATE runs SET finished_at = ? WHERE run_id = ?", (now, run_id))

    # Courses and rosters ----------------------------------------------------

    def set_course(self, run_id: int, course: RunCourse) -> None:
        """Record a course of the run and how far it got."""
        with self._tx():
            self._db.execute(
                "INSERT INTO run_courses (run_id, ref, course_id, name, state, detail)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET course_id ="
                " excluded.course_id, name = excluded.name, state = excluded.state,"
                " detail = excluded.detail",
                (run_id, course.ref, course.course_id, course.name, course.state, course.detail),
            )

    def courses(self, run_id: int) -> dict[str, RunCourse]:
        """The run's courses by the reference the user gave, in the order first recorded."""
        rows = self._rows(
            "SELECT ref, course_id, name, state, detail FROM run_courses WHERE run_id = ?"
            " ORDER BY position",
            (run_id,),
        )
        return {row[0]: RunCourse(*row) for row in rows}

    def add_roster(self, run_id: int, course_id: int, users: Iterable[tuple[int, str]]) -> None:
        """Record users of a course's roster (each once) and their names."""
        with self._tx():
            for user_id, name in users:
                self._db.execute(_UPSERT_USER, (user_id, name))
                self._db.execute(
                    "INSERT OR IGNORE INTO rosters VALUES (?, ?, ?)", (run_id, course_id, user_id)
                )

    def roster(self, run_id: int, course_id: int) -> list[tuple[int, str]]:
        """A course's roster users and their names, by user id."""
        return self._rows(
            "SELECT r.user_id, u.name FROM rosters AS r JOIN users AS u USING (user_id)"
            " WHERE r.run_id = ? AND r.course_id = ? ORDER BY r.user_id",
            (run_id, course_id),
        )

    def add_enrollments(self, run_id: int, course_id: int, rows: Iterable[Enrollment]) -> None:
        """Record roster users' enrollment types and last activity (when Canvas gives it)."""
        with self._tx():
            self._db.executemany(
                "INSERT INTO enrollments VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
                " last_activity = MAX(COALESCE(last_activity, ''), COALESCE(excluded.last_activity,"
                " '')) ",
                [(run_id, course_id, *row) for row in rows],
            )

    def enrollments(self, run_id: int, course_id: int) -> dict[int, tuple[list[str], str | None]]:
        """Roster users' enrollment types (sorted) and newest last activity, by user id."""
        found: dict[int, tuple[list[str], str | None]] = {}
        for user_id, kind, last in self._rows(
            "SELECT user_id, type, NULLIF(last_activity, '') FROM enrollments"
            " WHERE run_id = ? AND course_id = ? ORDER BY user_id, type",
            (run_id, course_id),
        ):
            kinds, newest = found.get(user_id, ([], None))
            kinds.append(kind)
            found[user_id] = (kinds, max(filter(None, (newest, last)), default=None))
        return found

    # Coverage ---------------------------------------------------------------

    def coverage(self, user_id: int) -> list[Covered]:
        """The intervals of the user's history known complete."""
        return [
            Covered(*row)
            for row in self._rows(
                "SELECT start, end, read_at FROM coverage WHERE user_id = ?", (user_id,)
            )
        ]

    def course_reads(
        self, run_id: int, course_id: int, users: Iterable[int], start: str, end: str
    ) -> list[tuple[str, str, str, str]]:
        """Coverage of ``users`` of the run's course meeting ``[start, end]``.

        Rows are (start, end, source, read_at), from this run or an earlier one.
        """
        chosen = set(users)
        rows = self._rows(
            "SELECT c.user_id, c.start, c.end, c.source, c.read_at FROM coverage AS c"
            " JOIN rosters AS r ON r.user_id = c.user_id"
            " WHERE r.run_id = ? AND r.course_id = ? AND c.end >= ? AND c.start <= ?",
            (run_id, course_id, start, end),
        )
        return [(lo, hi, source, at) for user, lo, hi, source, at in rows if user in chosen]

    def _cover(self, user_id: int, interval: Interval, run_id: int, source: str) -> None:
        self._db.execute(
            "INSERT INTO coverage SELECT ?, ?, ?, started_at, ? FROM runs WHERE run_id = ?",
            (user_id, *interval, source, run_id),
        )

    # Fetch units ------------------------------------------------------------

    def add_units(
        self, run_id: int, user_id: int, intervals: Iterable[Interval], source: str
    ) -> list[Unit]:
        """New units over ``intervals`` of one user's history."""
        units = []
        with self._tx():
            for start, end in intervals:
                cursor = self._db.execute(_INSERT_UNIT, (run_id, user_id, start, end, source))
                assert cursor.lastrowid is not None
                units.append(Unit(cursor.lastrowid, user_id, start, end, source))
        return units

    def pending(self, run_id: int, user_id: int | None = None) -> list[Unit]:
        """Units still to do, in user order; only ``user_id``'s when given."""
        user_filter = "" if user_id is None else " AND user_id = ?"
        rows = self._rows(
            "SELECT unit_id, user_id, start, end, source, next_url, pages, oldest, ordered,"
            f" query_key, refused FROM units WHERE run_id = ? AND state = ?{user_filter}"
            " ORDER BY user_id, unit_id",
            (run_id, TODO) if user_id is None else (run_id, TODO, user_id),
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
                "INSERT OR IGNORE INTO temp.planned VALUES (?, ?)", (run_id, user_id)
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
        with self._tx():
            self._insert(unit.user_id, rows)
            if next_url is not None:
                self._db.execute(
                    "UPDATE units SET next_url = ?, pages = pages + 1, oldest = ?, ordered = ?,"
                    " refused = refused + ? WHERE unit_id = ?",
                    (next_url, *order, refused, unit.unit_id),
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
                (FAILED if total else DONE, *order, total, detail, unit.unit_id),
            )
            if not total:
                self._cover(unit.user_id, (unit.start, unit.end), run_id, unit.source)

    def split(self, run_id: int, unit: Unit, windows: list[Interval]) -> list[Unit]:
        """Give a unit's whole range to ``windows``: new units that read it (again)."""
        children = []
        with self._tx():
            # The page that led to the split counts as read: a later 404 cannot mean "gone".
            self._db.execute(
                "UPDATE units SET state = ?, pages = pages + 1, detail = ? WHERE unit_id = ?",
                (SPLIT, orjson.dumps(windows).decode(), unit.unit_id),
            )
            for start, end in windows:
                cursor = self._db.execute(
                    _INSERT_UNIT, (run_id, unit.user_id, start, end, unit.source)
                )
                assert cursor.lastrowid is not None
                children.append(Unit(cursor.lastrowid, unit.user_id, start, end, unit.source))
        return children

    def give_up(self, unit_id: int, state: str, detail: str) -> None:
        """Mark a unit ``missing`` (Canvas says 404) or ``failed`` (retries ran out)."""
        with self._tx():
            self._db.execute(
                "UPDATE units SET state = ?, detail = ? WHERE unit_id = ?",
                (state, detail, unit_id),
            )

    def retry_failed(self, run_id: int) -> int:
        """Put failed units of an unfinished run back in the queue; return how many.

        A unit that had read its chain to the end (it refused views) starts it again.
        """
        with self._tx():
            cursor = self._db.execute(
                "UPDATE units SET state = ?, refused = IIF(next_url IS NULL, 0, refused),"
                " oldest = IIF(next_url IS NULL, NULL, oldest),"
                " ordered = IIF(next_url IS NULL, 1, ordered) WHERE run_id = ? AND state = ?",
                (TODO, run_id, FAILED),
            )
        return cursor.rowcount

    def problems(self, run_id: int) -> dict[int, tuple[str, str]]:
        """Users with a ``missing`` or ``failed`` unit: user id to (state, detail)."""
        rows = self._rows(
            "SELECT user_id, state, COALESCE(detail, '') FROM units"
            " WHERE run_id = ? AND state IN (?, ?) ORDER BY user_id, state",
            (run_id, MISSING, FAILED),
        )
        found: dict[int, tuple[str, str]] = {}
        for user_id, state, detail in rows:
            found.setdefault(user_id, (state, detail))
        return found

    def problems_of(self, run_id: int, user_id: int) -> str:
        """Why the user is missing or incomplete in the run, or "" when read whole."""
        rows = self._rows(
            "SELECT state || ': ' || COALESCE(detail, '') FROM units"
            " WHERE run_id = ? AND user_id = ? AND state IN (?, ?) ORDER BY state LIMIT 1",
            (run_id, user_id, MISSING, FAILED),
        )
        return str(rows[0][0]) if rows else ""

    # History queries --------------------------------------------------------

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
        units, full = [], None
        with self._tx():
            for start, end in listed:
                cursor = self._db.execute(_INSERT_UNIT, (run_id, user_id, start, end, "list"))
                assert cursor.lastrowid is not None
                units.append(Unit(cursor.lastrowid, user_id, start, end, "list"))
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
            cursor = self._db.execute(
                "INSERT INTO history_queries (run_id, users, start_month, end_month, state, span)"
                " VALUES (?, '[]', ?, ?, ?, ?)",
                (run_id, *months, OPEN, span),
            )
            key, users = cursor.lastrowid, [user_id]
        state = TODO if len(users) >= size else OPEN
        self._db.execute(
            "UPDATE history_queries SET users = ?, root = ?, state = ? WHERE query_key = ?",
            (orjson.dumps(users).decode(), key, state, key),
        )
        self._db.execute(
            "INSERT INTO units (run_id, user_id, start, end, source, query_key)"
            " VALUES (?, ?, ?, ?, 'history', ?)",
            (run_id, user_id, *interval, key),
        )
        return key if state == TODO else None

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
                (TODO, run_id, OPEN),
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
            HistoryQuery(key, root_key, tuple(orjson.loads(users)), start, end, qid, state, n)
            for key, root_key, users, start, end, qid, state, n in self._rows(
                "SELECT query_key, root, users, start_month, end_month, query_id, state, restarts"
                " FROM history_queries WHERE root = ? ORDER BY query_key",
                (root,),
            )
        ]

    def group_units(self, run_id: int, root: int) -> list[Unit]:
        """The units a query group still has to read."""
        rows = self._rows(
            "SELECT unit_id, user_id, start, end, source, state FROM units"
            " WHERE run_id = ? AND query_key = ? AND state = ? ORDER BY unit_id",
            (run_id, root, TODO),
        )
        return [Unit(u, user, s, e, src, query_key=root) for u, user, s, e, src, _ in rows]

    def set_query(self, key: int, state: str, query_id: str | None, detail: str = "") -> None:
        """Record a query's id (``None`` to start it again) and state."""
        restart = 1 if query_id is None and state == TODO else 0
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
                "UPDATE history_queries SET state = ? WHERE query_key = ?", (SPLIT, query.query_key)
            )
            for users, start, end in parts:
                cursor = self._db.execute(
                    "INSERT INTO history_queries (run_id, root, users, start_month, end_month)"
                    " SELECT run_id, root, ?, ?, ? FROM history_queries WHERE query_key = ?",
                    (orjson.dumps(list(users)).decode(), start, end, query.query_key),
                )
                assert cursor.lastrowid is not None
                children.append(
                    HistoryQuery(cursor.lastrowid, query.root, users, start, end, None, TODO, 0)
                )
        return children

    def add_views(self, rows: list[tuple[int, Row]]) -> None:
        """Store views of several users as they stream in (a part of an export file)."""
        by_user: dict[int, list[Row]] = {}
        for user_id, row in rows:
            by_user.setdefault(user_id, []).append(row)
        with self._tx():
            for user_id, user_rows in by_user.items():
                self._insert(user_id, user_rows)

    def finish_history(
        self, run_id: int, query: HistoryQuery, covered: list[tuple[int, Interval]], source: str
    ) -> None:
        """Mark a query's file read to its end: its users' coverage and its ``done`` state."""
        with self._tx():
            for user_id, interval in covered:
                if interval[0] <= interval[1]:
                    self._cover(user_id, interval, run_id, source)
            self._db.execute(
                "UPDATE history_queries SET state = ? WHERE query_key = ?", (DONE, query.query_key)
            )

    def end_unit(self, unit_id: int, state: str, detail: str = "") -> None:
        """Mark a unit done, or ``missing``/``failed`` with why."""
        with self._tx():
            self._db.execute(
                "UPDATE units SET state = ?, detail = ? WHERE unit_id = ?",
                (state, detail or None, unit_id),
            )

    def _insert(self, user_id: int, rows: list[Row]) -> None:
        # Oldest first: inserted newest first, as Canvas sends them, B-tree pages split in
        # half and the file grows by ~40 %. sorted() is stable: of two copies of a view in
        # ``rows`` the later still wins, as a statement's later row updates its earlier.
        ordered = sorted(rows, key=_CREATED_OF)
        at, count = 0, len(ordered)
        for size in _UPSERT_SIZES:
            while count - at >= size:
                values = chain.from_iterable(map(_STORED, ordered[at : at + size]))
                self._db.execute(_UPSERT_VIEWS[size], [user_id, *values])
                at += size
        new = set(map(_SHAPE_OF, rows)).difference(self._shapes)
        if new:
            fields = dict(zip(map(_SHAPE_OF, rows), map(_FIELDS_OF, rows), strict=True))
            self._db.executemany(
                "INSERT OR IGNORE INTO shapes VALUES (?, ?)",
                [(shape, fields[shape]) for shape in new],
            )
            # Known only once committed: a rolled-back page stores its shapes again.
            self._new_shapes.extend(new)

    # Upkeep -----------------------------------------------------------------

    def info(self) -> dict[str, object]:
        """Counts and spans for ``pageviews store info``."""
        (row,) = self._rows(
            "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM views),"
            " (SELECT COUNT(DISTINCT course_id) FROM views),"
            " (SELECT MIN(created) FROM views), (SELECT MAX(created) FROM views),"
            " (SELECT MIN(start) FROM coverage), (SELECT MAX(end) FROM coverage),"
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
                "UPDATE coverage SET start = ? WHERE start < ? AND end >= ?",
                (before, before, before),
            ).rowcount
            gone = self._db.execute("DELETE FROM coverage WHERE end < ?", (before,)).rowcount
        return views, cut + gone

    # Reports ----------------------------------------------------------------

    def user_rows(
        self, user_id: int, course_id: int, start: str, end: str
    ) -> Iterator[tuple[int, str, str, str, float | None]]:
        """One user's views of a course in ``[start, end]``, by (time, id), each id once."""
        with (
            self._failing("read"),
            closing(
                self._db.execute(
                    "SELECT course_id, created, id, url, interaction FROM views"
                    " WHERE user_id = ? AND created BETWEEN ? AND ? AND course_id = ?"
                    " ORDER BY created, id",
                    (user_id, start, end, course_id),
                )
            ) as cursor,
        ):
            yield from cursor

    def course_users(self, course_id: int) -> list[tuple[int, str]]:
        """Users with stored views of a course, and their names, by user id."""
        return self._rows(
            "SELECT DISTINCT v.user_id, COALESCE(u.name, '') FROM views AS v"
            " LEFT JOIN users AS u USING (user_id) WHERE v.course_id = ? ORDER BY v.user_id",
            (course_id,),
        )

    def user_records(
        self, user_id: int, course_id: int, start: str, end: str
    ) -> Iterator[tuple[str, str, str, float | None, bytes | None, str | None]]:
        """One user's views of a course with the researcher's fields, by (time, id):
        (created, id, url, seconds, shape fields, remote_ip)."""
        with (
            self._failing("read"),
            closing(
                self._db.execute(
                    "SELECT created, id, url, interaction, fields, remote_ip"
                    " FROM views LEFT JOIN shapes USING (shape)"
                    " WHERE user_id = ? AND created BETWEEN ? AND ? AND course_id = ?"
                    " ORDER BY created, id",
                    (user_id, start, end, course_id),
                )
            ) as cursor,
        ):
            yield from cursor
