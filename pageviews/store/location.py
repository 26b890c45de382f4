"""Where a state store lives: a SQLite file, or a PostgreSQL database named by its URL.

Invariants:
- A :class:`StateLocation` shows itself (``str``, ``repr``, :meth:`display`) without
  the URL's password: messages, logs, summaries and results may print it freely.
- Who may use a store at once is the location's to say. A SQLite file is held whole
  by one run (a lock file beside it); a PostgreSQL database is shared by runs of
  different selections, each selection held by one run (:mod:`.advisory`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NoStoredHarvestError
from .lock import holder, store_lock
from .pgconnect import display, is_postgres
from .postgres import PostgresStore
from .protocol import Store
from .sqlite import SqliteStore

#: The environment variable naming the store when ``--state`` does not.
STATE_VARIABLE = "PAGEVIEWS_STATE"


@dataclass(frozen=True, slots=True)
class StateLocation:
    """A SQLite file (``path``) or a PostgreSQL database (``dsn``, kept unshown)."""

    path: Path | None = None
    dsn: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, where: StateLocation | Path | str) -> StateLocation:
        """The location ``--state`` (or the library's ``state_path``) names."""
        if isinstance(where, StateLocation):
            return where
        if is_postgres(where):
            return cls(dsn=str(where))
        return cls(path=Path(where))

    @property
    def is_postgres(self) -> bool:
        return self.dsn is not None

    @property
    def folders(self) -> tuple[Path, ...]:
        """The directory a SQLite file goes in (made for it); none for a database."""
        return () if self.path is None else (self.path.parent,)

    def display(self) -> str:
        """The location as it may be shown: a database's URL without its password."""
        return display(self.dsn) if self.dsn is not None else str(self.path)

    def __str__(self) -> str:
        return self.display()

    def __repr__(self) -> str:
        return f"StateLocation({self.display()!r})"

    def exists(self) -> bool:
        """Whether there may be a store to read (a database is asked when opened)."""
        return self.path is None or self.path.is_file()

    def require(self) -> None:
        """Fail (exit 3) when there is plainly no store to read: a missing file."""
        if not self.exists():
            raise NoStoredHarvestError(f"no stored harvest: there is no state store at {self}")

    def open(self, origin: str | None) -> Store:
        """Open (or, given the Canvas ``origin``, create) the store."""
        if self.dsn is not None:
            return PostgresStore(self.dsn, origin)
        assert self.path is not None
        return SqliteStore(self.path, origin)

    def run_lock(self, selection: str) -> AbstractContextManager[None]:
        """Held by a harvest: one run per ``selection`` (per file, for SQLite)."""
        return self._lock(selection, shared=True)

    def reader_lock(self) -> AbstractContextManager[None]:
        """Held while reports are rebuilt: no pruning meanwhile."""
        return self._lock(None, shared=True)

    def upkeep_lock(self) -> AbstractContextManager[None]:
        """Held while the store is pruned: no run at all meanwhile."""
        return self._lock(None, shared=False)

    def running(self) -> list[str]:
        """Who is using the store now, a line each, for ``store info``."""
        if self.dsn is not None:
            from .advisory import holders

            return holders(self.dsn)
        assert self.path is not None
        found = holder(self.path)
        return [] if found is None else [f"pid {found[0]}, started {found[1]}"]

    @contextmanager
    def _lock(self, selection: str | None, *, shared: bool) -> Iterator[None]:
        if self.dsn is None:
            assert self.path is not None
            with store_lock(self.path):
                yield
            return
        from .advisory import advisory_locks

        with advisory_locks(self.dsn, selection, shared=shared):
            yield


def open_store(state: StateLocation | Path | str, origin: str | None) -> Store:
    """Open (or, given the Canvas ``origin``, create) the store ``state`` names.

    A ``postgresql://`` URL opens a PostgreSQL database, anything else a SQLite file.
    ``origin`` None opens an existing store for reading whatever Canvas wrote it; a
    store of another Canvas, or of a version this one cannot read, is a StateError.
    """
    return StateLocation.of(state).open(origin)
