"""A course's notes: where each day came from, and warnings only for days that may be missing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from pageviews import TimeRange
from pageviews.harvest import range_warnings
from pageviews.notes import (
    BOTH,
    HISTORY,
    LATER,
    LISTED,
    NOT_READ,
    PAST_WINDOW,
    DaySpan,
    Read,
    course_notes,
)

NOW = datetime(2015, 4, 20, 12, tzinfo=UTC)
READ_AT = "2015-04-20T12:00:00Z"
TERM = TimeRange(datetime(2015, 1, 1, tzinfo=UTC), datetime(2015, 4, 19, 23, 59, 59, tzinfo=UTC))
EDGE = "2015-03-21T12:00:00Z"  # NOW minus the list's 30 days


def test_history_over_the_whole_older_part_draws_no_warning() -> None:
    reads = [
        Read("2015-01-01T00:00:00Z", "2015-03-21T12:59:59Z", "history", READ_AT),
        Read("2015-03-21T13:00:00Z", "2015-04-19T23:59:59Z", "list", READ_AT),
    ]
    notes = course_notes(TERM, NOW, reads, window_days=30, per_day=[1] * 109)
    assert notes.warnings == ()
    assert notes.days == (
        DaySpan(date(2015, 1, 1), date(2015, 3, 20), HISTORY, 79),
        DaySpan(date(2015, 3, 21), date(2015, 3, 21), BOTH, 1),
        DaySpan(date(2015, 3, 22), date(2015, 4, 19), LISTED, 29),
    )
    assert notes.notes == (
        "sources: from history for 2015-01-01 to 2015-03-20 (79 page views); from history "
        "and the list endpoint for 2015-03-21 (1 page view); from the list endpoint for "
        "2015-03-22 to 2015-04-19 (29 page views)",
    )


def test_the_list_alone_past_its_window_warns_with_the_range_warning() -> None:
    reads = [Read("2015-01-01T00:00:00Z", "2015-04-19T23:59:59Z", "list", READ_AT)]
    notes = course_notes(TERM, NOW, reads, window_days=30)
    # The same words, seconds and all, as the warning the range alone draws with `never`.
    assert list(notes.warnings) == range_warnings(TERM, NOW, "never")
    assert [(s.first, s.last, s.source) for s in notes.days] == [
        (date(2015, 1, 1), date(2015, 3, 21), PAST_WINDOW),
        (date(2015, 3, 22), date(2015, 4, 19), LISTED),
    ]
    assert notes.notes == ()  # the list alone is the usual source: nothing to add


def test_an_earlier_history_read_settles_the_days_past_the_window() -> None:
    reads = [
        Read("2015-01-01T00:00:00Z", "2015-04-19T23:59:59Z", "list", READ_AT),
        Read("2015-01-01T00:00:00Z", "2015-02-28T23:59:59Z", "history", "2015-04-01T00:00:00Z"),
    ]
    notes = course_notes(TERM, NOW, reads, window_days=30)
    (warning,) = notes.warnings
    assert warning.startswith("page views from 2015-03-01T00:00:00Z through 2015-03-21T11:59:59Z")
    assert notes.days[0] == DaySpan(date(2015, 1, 1), date(2015, 2, 28), HISTORY)


def test_seconds_no_source_covered_were_not_read() -> None:
    reads = [
        Read("2015-01-01T00:00:00Z", "2015-01-31T23:59:59Z", "history", READ_AT),
        Read("2015-03-21T13:00:00Z", "2015-04-19T23:59:59Z", "list", READ_AT),
    ]
    notes = course_notes(TERM, NOW, reads, window_days=30)
    assert notes.warnings == (
        "page views from 2015-02-01T00:00:00Z through 2015-03-21T12:59:59Z were not read: no "
        "source covered them for this course's users",
    )
    assert [s.source for s in notes.days] == [HISTORY, NOT_READ, LISTED]


def test_days_follow_the_range_zone_and_stop_at_the_harvest() -> None:
    denver = ZoneInfo("America/Denver")
    moment = datetime(2015, 4, 20, 3, tzinfo=UTC)  # still the 19th in Denver
    wanted = TimeRange(
        datetime(2015, 4, 18, tzinfo=denver), datetime(2015, 4, 20, 23, 59, 59, tzinfo=denver)
    )
    reads = [Read("2015-04-18T06:00:00Z", "2015-04-20T02:59:59Z", "list", READ_AT)]
    notes = course_notes(wanted, moment, reads, window_days=30)
    assert [(s.first, s.last, s.source) for s in notes.days] == [
        (date(2015, 4, 18), date(2015, 4, 19), LISTED),
        (date(2015, 4, 20), date(2015, 4, 20), LATER),
    ]
    assert notes.warnings == ()
    assert notes.notes[0].startswith("the range reaches into the last hour")


def test_a_course_without_users_to_read_says_nothing_of_days() -> None:
    assert course_notes(TERM, NOW, [], window_days=30, users=0).days == ()
