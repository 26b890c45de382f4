"""What the rest of the package asks of a state store, whatever database holds it.

The planner, the engine and the sources write through it; the outputs read from
it; ``pageviews store`` looks after it. Only the store's own row types
(:mod:`.rows`) and the outcome vocabulary cross it, never a database's types, so
a second implementation passes the same conformance suite. Each family's
invariants are stated in the SQLite module of the same name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from ..coverage import Covered, Interval
from ..outcomes import Outcome, QueryState, UnitState
from .fileviews import FileViews
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


class RunStore(Protocol):
    """Runs, their courses, rosters and enrollments (:mod:`.runs`)."""

    def open_run(self, key: str, start: str, end: str, now: str) -> Run:
        """Find the unfinished run with this key, or start a new one."""

    def latest_run(self, key: str) -> tuple[Run, bool] | None:
        """The newest run with this key, finished or not, and whether it finished."""

    def runs(self) -> list[tuple[Run, bool]]:
        """Every run, newest first, and whether it finished."""

    def finish_run(self, run_id: int, now: str) -> None:
        """Close a run, so the same command later starts a new one."""

    def set_course(self, run_id: int, course: RunCourse) -> None:
        """Record a course of the run and how far it got."""

    def courses(self, run_id: int) -> dict[str, RunCourse]:
        """The run's courses by the reference the user gave, in the order first recorded."""

    def add_roster(self, run_id: int, course_id: int, users: Iterable[tuple[int, str]]) -> None:
        """Record users of a course's roster (each once) and their names."""

    def roster(self, run_id: int, course_id: int) -> list[tuple[int, str]]:
        """A course's roster users and their names, by user id."""

    def add_enrollments(self, run_id: int, course_id: int, rows: Iterable[Enrollment]) -> None:
        """Record roster users' enrollment types and last activity (when Canvas gives it)."""

    def enrollments(self, run_id: int, course_id: int) -> dict[int, tuple[list[str], str | None]]:
        """Roster users' enrollment types (sorted) and newest last activity, by user id."""


class UnitStore(Protocol):
    """Fetch units and the coverage their ends grow (:mod:`.units`, :mod:`.coverage`)."""

    def add_units(
        self, run_id: int, user_id: int, intervals: Iterable[Interval], source: str
    ) -> list[Unit]:
        """New units over ``intervals`` of one user's history."""

    def pending(self, run_id: int, user_id: int | None = None) -> list[Unit]:
        """Units still to do, in user order; only ``user_id``'s when given."""

    def plan_once(self, run_id: int, user_id: int) -> bool:
        """True the first time this open store is asked about the user in the run."""

    def has_units(self, run_id: int, user_id: int) -> bool:
        """Whether the run already planned this user."""

    def pages_read(self, run_id: int, user_id: int) -> bool:
        """Whether the run stored any page of the user (then a 404 cannot mean "gone")."""

    def save_page(
        self,
        run_id: int,
        unit: Unit,
        rows: list[Row],
        next_url: str | None,
        order: tuple[str | None, bool],
        refused: int = 0,
    ) -> None:
        """Store a page of a unit with its next link (``None``: the unit is done, and covered).

        The page and its link are kept together or not at all. A store may hold a few
        pages back before they are durable (until its next write of another kind, or
        ``close``): a crash then loses them, and their unit points at them again.
        """

    def split(self, run_id: int, unit: Unit, windows: list[Interval]) -> list[Unit]:
        """Give a unit's whole range to ``windows``: new units that read it (again)."""

    def end_unit(self, unit_id: int, state: UnitState, detail: str = "") -> None:
        """End a unit: ``done``, or ``split``, ``missing`` or ``failed`` with why."""

    def retry_failed(self, run_id: int) -> int:
        """Put failed units of an unfinished run back in the queue; return how many."""

    def problems(self, run_id: int) -> dict[int, Outcome]:
        """Users with a ``missing`` or ``failed`` unit, and how it ended."""

    def problems_of(self, run_id: int, user_id: int) -> str:
        """Why the user is missing or incomplete in the run, or "" when read whole."""

    def coverage(self, user_id: int) -> list[Covered]:
        """The intervals of the user's history known complete."""

    def course_reads(
        self, run_id: int, course_id: int, users: Iterable[int], start: str, end: str
    ) -> list[CourseRead]:
        """Coverage of ``users`` of the run's course meeting ``[start, end]``."""


class QueryStore(Protocol):
    """History API query groups and their jobs (:mod:`.queries`)."""

    def plan_user(
        self,
        run_id: int,
        user_id: int,
        listed: Iterable[Interval],
        history: tuple[Interval, tuple[str, str]] | None,
        group_size: int,
    ) -> tuple[list[Unit], int | None]:
        """Add a user's list units and its history unit; the group's key if it filled it."""

    def close_groups(self, run_id: int) -> list[int]:
        """Close the run's open query groups (the rosters are listed, or a run resumes)."""

    def started_queries(self, run_id: int) -> list[tuple[int, str]]:
        """Jobs Canvas accepted that the run has not read, as (group, query id), oldest first."""

    def history_queries(self, root: int) -> list[HistoryQuery]:
        """The queries of a group, oldest first."""

    def group_units(self, run_id: int, root: int) -> list[Unit]:
        """The units a query group still has to read."""

    def set_query(
        self, key: int, state: QueryState, query_id: str | None, detail: str = ""
    ) -> None:
        """Record a query's id (``None`` to start it again) and state."""

    def split_query(
        self, query: HistoryQuery, parts: list[tuple[tuple[int, ...], str, str]]
    ) -> list[HistoryQuery]:
        """Replace a query Canvas found too large by smaller ones under the same root."""

    def finish_history(
        self, run_id: int, query: HistoryQuery, covered: list[tuple[int, Interval]], source: str
    ) -> None:
        """Mark a query's file read to its end: its users' coverage and its ``done`` state."""


class ViewStore(Protocol):
    """Page views, as harvests write them and reports read them (:mod:`.views`)."""

    def add_views(self, rows: list[tuple[int, Row]]) -> None:
        """Store views of several users as they stream in (a part of an export file)."""

    def file_views(self) -> AbstractContextManager[FileViews]:
        """Where one export file's views go as it streams in: all of them are stored once
        the block ends, none of those not yet stored if it raises (the file is read again)."""

    def user_rows(self, user_id: int, course_id: int, start: str, end: str) -> Iterator[ReportRow]:
        """One user's views of a course in ``[start, end]``, by (time, id), each id once."""

    def course_users(self, course_id: int) -> list[tuple[int, str]]:
        """Users with stored views of a course, and their names, by user id."""

    def user_records(
        self, user_id: int, course_id: int, start: str, end: str
    ) -> Iterator[RecordRow]:
        """One user's views of a course with the researcher's fields, by (time, id)."""


class Store(RunStore, UnitStore, QueryStore, ViewStore, Protocol):
    """A state store: every family, its upkeep (:mod:`.upkeep`) and its Canvas."""

    @property
    def origin(self) -> str | None:
        """The Canvas the store's data came from."""

    def info(self) -> dict[str, object]:
        """Counts and spans for ``pageviews store info``."""

    def prune(self, before: str) -> tuple[int, int]:
        """Forget views before ``before`` and the coverage of those seconds; return counts."""

    def compact(self) -> None:
        """Give the space of forgotten rows back to the file system (takes the store alone)."""

    def close(self) -> None:
        """Close the store (committed data is already kept)."""
