"""What a run harvests and where it puts it: the options every stage reads, checked once.

:class:`RunSettings` holds every setting a run of one course and a batch share, with
the one set of defaults the library and the command line both read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import orjson

from .canvas.client import DEFAULT_CONCURRENCY
from .errors import UsageError
from .formats import DEFAULT_FORMATS, FORMATS, arrow, parse_formats
from .notes import LATE_VIEWS
from .sources.history_calls import DEFAULT_HISTORY_WAIT
from .sources.history_plan import MODES
from .store.location import StateLocation
from .timerange import TimeRange

STATE_FILE = "pageviews-state.sqlite"
#: Where older views come from unless told otherwise, for the library and the CLI alike.
DEFAULT_HISTORY: Final = "auto"
#: Hosted Canvas's list endpoint serves about this many days (docs/canvas.md#retention).
LIST_WINDOW_DAYS: Final = 30
ENROLLMENT_TYPES = (
    "StudentEnrollment",
    "TeacherEnrollment",
    "TaEnrollment",
    "DesignerEnrollment",
    "ObserverEnrollment",
)
ENROLLMENT_STATES = (
    "active",
    "invited",
    "creation_pending",
    "inactive",
    "completed",
    "rejected",
    "deleted",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSettings:
    """How a run harvests and writes, whatever courses it harvests.

    :class:`BatchOptions` and :class:`~pageviews.harvest.HarvestOptions` add the courses
    and the range; the command line's flags take their defaults from these fields.
    """

    enrollment_types: tuple[str, ...] | None = None
    enrollment_states: tuple[str, ...] | None = None
    out_dir: Path = Path()
    #: The state store: a SQLite file, or a ``postgresql://`` URL (default in out_dir).
    state_path: StateLocation | Path | str | None = None
    incremental: bool = False
    #: With ``incremental``: re-read this much before each user's coverage, for late views.
    overlap: timedelta = LATE_VIEWS
    fresh: bool = False
    workers: int = DEFAULT_CONCURRENCY
    split_heavy_users: bool = True
    excel: bool = False  # CSV for spreadsheets: a BOM, and formula-like cells quoted
    #: Report formats, any of csv, json, jsonl, parquet (issue 11).
    formats: tuple[str, ...] = DEFAULT_FORMATS
    #: Also write the record-level ``page-views`` dataset; ``remote_ip`` only with include_ip.
    records_dataset: bool = False
    include_ip: bool = False
    #: Write ``summary_<course>_<range>.html`` (and a batch's ``index.html``).
    summary: bool = True
    #: Where older views come from: ``auto`` (history beyond the list window), ``only``
    #: (history wherever it reaches) or ``never`` (the list endpoint alone).
    history: str = DEFAULT_HISTORY
    list_window_days: int = LIST_WINDOW_DAYS  # the list endpoint's window, back from now
    #: Seconds a history job may stay queued or running, and a start wait for a free
    #: slot while none of this run's jobs ends; then its users are incomplete.
    history_wait: float = DEFAULT_HISTORY_WAIT

    @property
    def state(self) -> StateLocation:
        """Where the state store lives (``--state``, default in the output directory)."""
        return StateLocation.of(self.state_path or self.out_dir / STATE_FILE)

    def settings(self) -> dict[str, Any]:
        """These settings by name, to build another options type with the same ones."""
        return {f.name: getattr(self, f.name) for f in fields(RunSettings)}


@dataclass(frozen=True, slots=True)
class BatchOptions(RunSettings):
    """What to harvest and where to put it; checked when built."""

    courses: tuple[str | int, ...]
    time_range: TimeRange
    #: ``OUT_DIR/<course_id>/`` per course; False writes one course straight into OUT_DIR.
    course_dirs: bool = field(default=True, kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.courses, tuple) or not self.courses:
            raise UsageError("courses must be a non-empty tuple of course ids")
        for name, values, allowed in (
            ("enrollment type", self.enrollment_types, ENROLLMENT_TYPES),
            ("enrollment state", self.enrollment_states, ENROLLMENT_STATES),
        ):
            if values is None:
                continue
            if not isinstance(values, tuple):
                raise UsageError(f"{name}s must be a tuple of names, not {values!r}")
            unknown = [v for v in values if v not in allowed]
            if unknown:
                raise UsageError(f"unknown {name} {unknown[0]!r} (one of: {', '.join(allowed)})")
        if not self.course_dirs and len(self.courses) != 1:
            raise UsageError("several courses need a folder each (course_dirs)")
        if parse_formats(self.formats) != self.formats:
            raise UsageError(f"formats must be named once each, in the order {FORMATS}")
        if "parquet" in self.formats:
            arrow()  # a missing extra is a usage error before any request
        if self.history not in MODES:
            raise UsageError(f"unknown history mode {self.history!r} (one of: {', '.join(MODES)})")
        if self.list_window_days < 1:
            raise UsageError("--list-window-days must be positive")
        if not self.history_wait > 0:
            raise UsageError("--history-wait must be positive")
        if self.workers < 1 or self.overlap < timedelta(0):
            raise UsageError("workers must be positive and the overlap not negative")

    @property
    def refs(self) -> tuple[str, ...]:
        """The courses as text, as Canvas's paths take them."""
        return tuple(str(c).strip() for c in self.courses)

    def run_key(self) -> str:
        """What makes two invocations the same run, so the second resumes the first."""

        def canonical(values: tuple[str, ...] | None) -> list[str] | None:
            return sorted(set(values)) if values else None

        return orjson.dumps(
            [
                list(self.refs),
                self.time_range.start_utc,
                self.time_range.end_utc,
                canonical(self.enrollment_types),
                canonical(self.enrollment_states),
                self.incremental,
            ]
        ).decode()

    def course_dir(self, course_id: int) -> Path:
        """Where one course's reports go."""
        return self.out_dir / str(course_id) if self.course_dirs else self.out_dir
