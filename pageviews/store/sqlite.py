"""The SQLite store: every table family over one connection (WAL), and how to open it."""

from __future__ import annotations

from pathlib import Path

from .queries import Queries
from .runs import Runs
from .upkeep import Upkeep


class SqliteStore(Queries, Runs, Upkeep):
    """The SQLite store (WAL) behind harvests, resume and offline reports.

    Each family (runs, units, coverage, views, history queries, upkeep) is a class
    of its own module; they share the one connection of :class:`~.schema.Connection`.
    """


def open_store(path: Path, origin: str | None) -> SqliteStore:
    """Open (or, given the Canvas ``origin``, create) the store at ``path``.

    ``origin`` None opens an existing store for reading whatever Canvas wrote it;
    a store of another Canvas, or of a version this one cannot read, is a StateError.
    """
    return SqliteStore(path, origin)
