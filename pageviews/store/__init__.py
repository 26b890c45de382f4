"""The state store: users' page-view histories with coverage, the runs that read them, upkeep.

:class:`Store` is what the rest of the package asks of a store; :func:`open_store`
opens the SQLite one (:class:`SqliteStore`) or, given a ``postgresql://`` URL, the
PostgreSQL one (:class:`PostgresStore`, :mod:`.postgres`), both built of one module per table family
(:mod:`.runs`, :mod:`.units`, :mod:`.coverage`, :mod:`.views`, :mod:`.queries`,
:mod:`.upkeep`) over one connection (:mod:`.schema`), each stating its invariants.
"""

from ..outcomes import CourseState, Outcome, UnitState
from .location import STATE_VARIABLE, StateLocation, open_store
from .lock import lock_path, store_lock
from .postgres import PostgresStore
from .protocol import Store
from .queries import OPEN, STARTED
from .rows import (
    CourseRead,
    Enrollment,
    HistoryQuery,
    RecordRow,
    ReportRow,
    Row,
    Run,
    RunCourse,
    Unit,
)
from .schema import SCHEMA_VERSION
from .sqlite import SqliteStore

#: Short names of the unit states (a history query's states are spelled the same).
TODO, DONE, SPLIT = UnitState.TODO, UnitState.DONE, UnitState.SPLIT
MISSING, FAILED = UnitState.MISSING, UnitState.FAILED
#: How far a course's roster was listed.
LISTING, LISTED = CourseState.LISTING, CourseState.LISTED

__all__ = [
    "DONE",
    "FAILED",
    "LISTED",
    "LISTING",
    "MISSING",
    "OPEN",
    "SCHEMA_VERSION",
    "SPLIT",
    "STARTED",
    "STATE_VARIABLE",
    "TODO",
    "CourseRead",
    "CourseState",
    "Enrollment",
    "HistoryQuery",
    "Outcome",
    "PostgresStore",
    "RecordRow",
    "ReportRow",
    "Row",
    "Run",
    "RunCourse",
    "SqliteStore",
    "StateLocation",
    "Store",
    "Unit",
    "UnitState",
    "lock_path",
    "open_store",
    "store_lock",
]
