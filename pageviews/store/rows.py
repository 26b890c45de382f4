"""The rows the store keeps and gives back: runs, units, history queries, courses and views.

Plain values with no tie to a database, so every implementation of
:class:`~.protocol.Store` takes and returns the same types.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..outcomes import CourseState, QueryState

#: A stored page view: (course_id, created_at, id, url, interaction_seconds, shape,
#: remote_ip, shape_fields); the user is known from the fetch unit. The researcher's other
#: fields repeat from view to view (controller, action, user agent, asset...): each distinct
#: combination, a *shape*, is kept once, named by ``shape`` (a digest of its content) and
#: spelled by ``shape_fields`` (JSON of ``SHAPE_FIELDS``, then the context and asset
#: ids). The reports read only the first five.
Row = tuple[int, str, str, str, float | None, int, str | None, bytes]
#: One enrollment of a roster user: (user_id, type, last_activity_at or None).
Enrollment = tuple[int, str, str | None]
#: A view as the reports read it: (course_id, created, id, url, interaction seconds).
ReportRow = tuple[int, str, str, str, float | None]
#: A view with the researcher's fields: (created, id, url, seconds, shape fields, remote_ip).
RecordRow = tuple[str, str, str, float | None, bytes | None, str | None]
#: A user's coverage as a report tells it: (start, end, source, read_at).
CourseRead = tuple[str, str, str, str]


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
    state: QueryState
    restarts: int


@dataclass(frozen=True, slots=True)
class RunCourse:
    """A course of a run, as the user named it: how far its roster was listed, or why not."""

    ref: str
    course_id: int | None
    name: str
    state: CourseState
    detail: str
