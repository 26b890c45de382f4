"""How units of work and courses end: one vocabulary, and the one mapping from errors to it.

A fetch unit ends in a :class:`UnitState`; a course of a run in a :class:`CourseState`.
The values are what the state store keeps, so they never change: a store written
by an older version reads the same. An error a source raises while reading a
unit becomes that unit's :data:`Outcome` through :func:`unit_outcome` alone; an
error naming a course becomes its state through :func:`course_outcome`, and a
single-course harvest raises it again from the state with :meth:`CourseState.error`.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import (
    BodyTooLargeError,
    CanvasUnreachableError,
    NotFoundError,
    OutputDirError,
    PageviewsError,
    PermissionDeniedError,
    TransientError,
)


class UnitState(StrEnum):
    """Where a fetch unit is: to do, or how it ended."""

    TODO = "todo"
    DONE = "done"  # read to its end (and covered)
    SPLIT = "split"  # handed the rest of its range to children
    MISSING = "missing"  # Canvas does not know the user: skipped, the reports are complete
    FAILED = "failed"  # not read whole: the user is named, the reports are incomplete


class QueryState(StrEnum):
    """Where a History API query is: its group filling, to start, started, or how it ended."""

    OPEN = "open"  # a group still taking users while the planner lists rosters
    TODO = "todo"
    STARTED = "started"  # Canvas accepted it: its id is stored, a rerun polls it
    DONE = "done"  # its file read to its end, its users covered
    SPLIT = "split"  # too large for Canvas: handed to smaller queries
    FAILED = "failed"  # not read: its users are named, a rerun starts it again


#: How a unit ended, and why in words for the analyst: (state, detail).
Outcome = tuple[UnitState, str]


def gone(detail: str) -> Outcome:
    """A user Canvas answered 404 for on its first request: skipped, not incomplete."""
    return (UnitState.MISSING, detail)


def refused(reason: PermissionDeniedError | str) -> Outcome:
    """A user the token may not read: incomplete (exit 9)."""
    return (UnitState.FAILED, f"permission denied: {reason}")


def unit_outcome(error: BaseException, *, part_way: bool = False) -> Outcome | None:
    """The end of a unit whose read raised ``error``; None when the error stops the run.

    ``part_way``: pages of the user were stored before, so a 404 cannot mean the
    user is gone: what it hid is missing, and the user is incomplete.
    """
    if isinstance(error, NotFoundError):
        if part_way:
            return (UnitState.FAILED, f"Canvas answered 404 part-way: {error}")
        return gone(str(error))
    if isinstance(error, PermissionDeniedError):
        return refused(error)
    if isinstance(error, BodyTooLargeError):
        return (UnitState.FAILED, str(error))
    if isinstance(error, CanvasUnreachableError):
        return None  # no other unit would fare better
    if isinstance(error, TransientError):
        return (UnitState.FAILED, f"gave up after retries: {error}")
    return None


class CourseState(StrEnum):
    """How far a course of a run got, or why it could not be read."""

    LISTING = "listing"
    LISTED = "listed"
    NOT_FOUND = "not found"
    NOT_PERMITTED = "not permitted"
    FAILED = "failed"
    CONFLICT = "conflict"  # its reports would replace reports of another selection

    def error(self, detail: str) -> PageviewsError | None:
        """The error a single-course harvest stops with in this state; None once listed."""
        if self in (CourseState.LISTING, CourseState.LISTED):
            return None
        return _COURSE_ERRORS[self](detail)


_COURSE_ERRORS: dict[CourseState, type[PageviewsError]] = {
    CourseState.NOT_FOUND: NotFoundError,
    CourseState.NOT_PERMITTED: PermissionDeniedError,
    CourseState.FAILED: TransientError,
    CourseState.CONFLICT: OutputDirError,
}


def course_outcome(
    error: NotFoundError | PermissionDeniedError | TransientError,
) -> tuple[CourseState, str]:
    """The state of a course whose look-up or roster raised ``error``, and why."""
    if isinstance(error, NotFoundError):
        return CourseState.NOT_FOUND, str(error)
    if isinstance(error, PermissionDeniedError):
        return CourseState.NOT_PERMITTED, str(error)
    return CourseState.FAILED, f"gave up after retries: {error}"
