"""What a batch reports back: each course's outcome, and the run's."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .canvas.client import ClientStats
from .notes import DaySpan
from .store.location import StateLocation


@dataclass(slots=True)
class CourseResult:
    """One course of a batch: what its reports hold, or why it has none."""

    ref: str
    course_id: int | None
    name: str
    status: str  # "complete", "incomplete", or why the course could not be read
    users: int = 0
    records: int = 0
    missing_users: list[tuple[int, str]] = field(default_factory=list)
    failed_users: list[tuple[int, str]] = field(default_factory=list)
    reports: dict[str, Path] = field(default_factory=dict)
    detail: str = ""
    inactive: int = 0  # roster users without views in the range
    per_day: list[int] = field(default_factory=list)  # views per day, for the index
    #: Views that may be missing or were not read (the range warnings), as the CLI says.
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # plain facts: sources, late views
    days: list[DaySpan] = field(default_factory=list)  # where each day's views came from


@dataclass(slots=True)
class BatchResult:
    """What a batch did and where it put it."""

    courses: list[CourseResult]
    state_path: StateLocation
    resumed: bool
    stats: ClientStats
    peak_in_flight: int
    seconds: float
    users: int
    from_history: int = 0  # page views stored from history files
    notes: list[str] = field(default_factory=list)  # how the range was read, in a sentence

    @property
    def failed_courses(self) -> list[CourseResult]:
        """Courses whose rosters could not be read."""
        return [c for c in self.courses if c.status not in ("complete", "incomplete")]

    @property
    def complete(self) -> bool:
        """True when every user of every readable course was read (404 users excepted)."""
        return all(c.status != "incomplete" for c in self.courses)
