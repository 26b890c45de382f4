"""One vocabulary for how units and courses end: errors map to it in one place, and back."""

from __future__ import annotations

import pytest

from pageviews.errors import (
    AuthenticationError,
    BodyTooLargeError,
    CanvasUnreachableError,
    NotFoundError,
    OutputDirError,
    PageviewsError,
    PermissionDeniedError,
    ProtocolError,
    StateError,
    ThrottledError,
    TransientError,
)
from pageviews.outcomes import CourseState, UnitState, course_outcome, unit_outcome


@pytest.mark.parametrize(
    ("error", "part_way", "outcome"),
    [
        (NotFoundError("user 5 not found"), False, (UnitState.MISSING, "user 5 not found")),
        (
            NotFoundError("user 5 not found"),
            True,
            (UnitState.FAILED, "Canvas answered 404 part-way: user 5 not found"),
        ),
        (
            PermissionDeniedError("HTTP 403"),
            False,
            (UnitState.FAILED, "permission denied: HTTP 403"),
        ),
        (BodyTooLargeError("over 64 MiB"), False, (UnitState.FAILED, "over 64 MiB")),
        (ThrottledError("HTTP 429"), False, (UnitState.FAILED, "gave up after retries: HTTP 429")),
        (TransientError("HTTP 502"), True, (UnitState.FAILED, "gave up after retries: HTTP 502")),
    ],
)
def test_a_units_error_is_its_outcome(
    error: PageviewsError, part_way: bool, outcome: tuple[UnitState, str]
) -> None:
    assert unit_outcome(error, part_way=part_way) == outcome


@pytest.mark.parametrize(
    "error",
    [
        CanvasUnreachableError("refused"),
        AuthenticationError("revoked"),
        ProtocolError("not Canvas"),
        StateError("disk full"),
        ValueError("a bug"),
    ],
)
def test_an_error_no_other_unit_would_escape_stops_the_run(error: BaseException) -> None:
    assert unit_outcome(error) is None


def test_a_courses_error_is_its_state_and_a_single_course_raises_it_again() -> None:
    cases: list[tuple[NotFoundError | PermissionDeniedError | TransientError, CourseState, str]] = [
        (NotFoundError("course 9 not found"), CourseState.NOT_FOUND, "course 9 not found"),
        (PermissionDeniedError("HTTP 403"), CourseState.NOT_PERMITTED, "HTTP 403"),
        (TransientError("HTTP 502"), CourseState.FAILED, "gave up after retries: HTTP 502"),
    ]
    for error, state, detail in cases:
        assert course_outcome(error) == (state, detail)
        back = state.error(detail)
        assert type(back) is type(error) and str(back) == detail
    conflict = CourseState.CONFLICT.error("reports of another selection")
    assert isinstance(conflict, OutputDirError)
    assert CourseState.LISTED.error("") is None and CourseState.LISTING.error("") is None
