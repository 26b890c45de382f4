"""The state store: users' page-view histories with coverage, its lock and its upkeep."""

from .histories import (
    DONE,
    FAILED,
    LISTED,
    LISTING,
    MISSING,
    SCHEMA_VERSION,
    SPLIT,
    TODO,
    Run,
    RunCourse,
    Store,
    Unit,
)
from .lock import lock_path, store_lock

__all__ = [
    "DONE",
    "FAILED",
    "LISTED",
    "LISTING",
    "MISSING",
    "SCHEMA_VERSION",
    "SPLIT",
    "TODO",
    "Run",
    "RunCourse",
    "Store",
    "Unit",
    "lock_path",
    "store_lock",
]
