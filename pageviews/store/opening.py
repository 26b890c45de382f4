"""Opening a state store: a SQLite file, or a PostgreSQL database named by its URL."""

from __future__ import annotations

from pathlib import Path

from .postgres import PostgresStore, is_postgres
from .protocol import Store
from .sqlite import SqliteStore


def open_store(state: Path | str, origin: str | None) -> Store:
    """Open (or, given the Canvas ``origin``, create) the store ``state`` names.

    A ``postgresql://`` URL opens a PostgreSQL database, anything else a SQLite file.
    ``origin`` None opens an existing store for reading whatever Canvas wrote it; a
    store of another Canvas, or of a version this one cannot read, is a StateError.
    """
    if is_postgres(state):
        return PostgresStore(str(state), origin)
    return SqliteStore(Path(state), origin)
