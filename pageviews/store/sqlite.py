"""The SQLite store: every table family over one connection (WAL)."""

from __future__ import annotations

from .fileviews import StagedViews
from .queries import Queries
from .runs import Runs
from .upkeep import Upkeep


class SqliteStore(StagedViews, Queries, Runs, Upkeep):
    """The SQLite store (WAL) behind harvests, resume and offline reports.

    Each family (runs, units, coverage, views, history queries, upkeep) is a class
    of its own module; they share the one connection of :class:`~.schema.Connection`.
    """
