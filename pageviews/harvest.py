"""Harvest one course into the three reports: a batch of one, written straight into OUT_DIR.

This is the seed-compatible face (``pageviews 1693 --start_time ...``) over the
batch engine (:mod:`pageviews.batch`): the same planner, engine, store and
rendering, with one course whose failures are the run's failures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .batch import harvest_courses
from .canvas.client import CanvasClient, ClientStats
from .engine import Progress
from .errors import TransientError
from .notes import LATE_VIEWS, late_views_note, list_window_warning
from .options import LIST_WINDOW_DAYS, STATE_FILE, BatchOptions, RunSettings
from .outcomes import CourseState
from .outputs.render import check_writable
from .sources.history_plan import plan_sources
from .store.location import StateLocation
from .timerange import TimeRange

__all__ = [
    "LATE_VIEWS",
    "LIST_WINDOW_DAYS",
    "STATE_FILE",
    "HarvestOptions",
    "HarvestResult",
    "Progress",
    "check_writable",
    "harvest_course",
    "range_notes",
    "range_warnings",
]


@dataclass(frozen=True, slots=True)
class HarvestOptions(RunSettings):
    """One course to harvest, its reports written straight into ``out_dir``.

    The settings and their defaults are :class:`~pageviews.options.RunSettings`'s,
    shared with :class:`~pageviews.options.BatchOptions`; this adds the one course.
    """

    course: str | int
    time_range: TimeRange

    def as_batch(self) -> BatchOptions:
        """The same harvest as a batch of one course, written straight into ``out_dir``."""
        return BatchOptions(
            courses=(self.course,),
            time_range=self.time_range,
            course_dirs=False,
            **self.settings(),
        )


@dataclass(slots=True)
class HarvestResult:
    """What a harvest did and where it put it."""

    course_id: int
    course_name: str
    users: int
    records: int
    reports: dict[str, Path]
    state_path: StateLocation
    resumed: bool
    missing_users: list[tuple[int, str]]
    failed_users: list[tuple[int, str]]
    warnings: list[str]
    notes: list[str]
    stats: ClientStats
    peak_in_flight: int
    seconds: float

    @property
    def complete(self) -> bool:
        """True when every user's page views were read (404 users excepted)."""
        return not self.failed_users


def range_warnings(
    time_range: TimeRange, now: datetime, mode: str = "never", window_days: int = LIST_WINDOW_DAYS
) -> list[str]:
    """Say which seconds the list endpoint alone may have missed (``never``), if any.

    Only hosted Canvas cuts the list endpoint back (docs/canvas.md#retention); a self-hosted one
    serves every view, and this run cannot tell which it read from. So the seconds
    past the window are said to be possibly missing, never to be missing. A harvest
    says it from what it read (:func:`~pageviews.notes.course_notes`), in these words.
    """
    if mode != "never":
        return []
    want = (time_range.start_utc, time_range.clamp_end(now).end_utc)
    unread = plan_sources(want, now, "never", window_days).unread
    return [] if unread is None else [list_window_warning(unread, window_days)]


def range_notes(time_range: TimeRange, now: datetime) -> list[str]:
    """Say plainly when the range reaches the last hour, whose views may still arrive."""
    return late_views_note(time_range, now)


async def harvest_course(
    client: CanvasClient,
    options: HarvestOptions,
    *,
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> HarvestResult:
    """Harvest a course's page views into the three reports; resume an unfinished run.

    The state store is locked for the whole run: a second run on it fails at once.
    """
    progress = progress or Progress()
    moment = now()
    batch = await harvest_courses(client, options.as_batch(), progress=progress, now=lambda: moment)
    (course,) = batch.courses
    unread = course.status not in ("complete", "incomplete")  # then it is the course's state
    stop = CourseState(course.status).error(course.detail) if unread else None
    if stop is not None:
        raise stop
    if unread or course.course_id is None:
        raise TransientError(course.detail or f"course {course.ref} could not be read")
    return HarvestResult(
        course_id=course.course_id,
        course_name=course.name,
        users=course.users,
        records=course.records,
        reports=course.reports,
        state_path=options.state,
        resumed=batch.resumed,
        missing_users=course.missing_users,
        failed_users=course.failed_users,
        warnings=course.warnings,
        notes=course.notes + batch.notes,
        stats=batch.stats,
        peak_in_flight=batch.peak_in_flight,
        seconds=batch.seconds,
    )
