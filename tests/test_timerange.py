from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from pageviews.errors import UsageError
from pageviews.timerange import (
    TimeRange,
    canvas_timestamp,
    normalize_timestamp,
    parse_bound,
    parse_timezone,
    request_bounds,
)


def test_bare_dates_cover_whole_days_in_the_given_zone() -> None:
    start = parse_bound("2015-01-26", UTC, end=False, flag="--start_time")
    end = parse_bound("2015-03-12", UTC, end=True, flag="--end_time")
    assert canvas_timestamp(start) == "2015-01-26T00:00:00Z"
    assert canvas_timestamp(end) == "2015-03-12T23:59:59Z"


def test_bare_dates_in_another_zone_are_sent_in_utc() -> None:
    denver = parse_timezone("America/Denver")
    start = parse_bound("2015-01-26", denver, end=False, flag="--start_time")
    assert canvas_timestamp(start) == "2015-01-26T07:00:00Z"
    assert start.tzinfo == ZoneInfo("America/Denver")


def test_iso_timestamps_keep_their_offset_and_naive_ones_take_the_zone() -> None:
    assert (
        canvas_timestamp(parse_bound("2015-01-26T10:00:00+02:00", UTC, end=False, flag="x"))
        == "2015-01-26T08:00:00Z"
    )
    assert (
        canvas_timestamp(
            parse_bound("2015-01-26T10:00:00", parse_timezone("Europe/Berlin"), end=False, flag="x")
        )
        == "2015-01-26T09:00:00Z"
    )


@pytest.mark.parametrize("text", ["2015-13-01", "yesterday", "2015/01/26", ""])
def test_bad_dates_are_usage_errors_naming_the_flag(text: str) -> None:
    with pytest.raises(UsageError, match="--start_time"):
        parse_bound(text, UTC, end=False, flag="--start_time")


def test_unknown_zone_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="time zone"):
        parse_timezone("Mars/Olympus")


def test_label_uses_dates_as_the_original_named_reports() -> None:
    tr = TimeRange(
        parse_bound("2015-01-26", UTC, end=False, flag="s"),
        parse_bound("2015-03-12", UTC, end=True, flag="e"),
    )
    assert tr.label == "2015-01-26-2015-03-12"


def test_end_in_the_future_is_pinned_to_the_last_whole_second_before_now() -> None:
    # The range takes its end's whole second: pinning to now's own second would take
    # views still being logged during that second.
    now = datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC)
    tr = TimeRange(now - timedelta(days=3), now + timedelta(days=3))
    assert tr.clamp_end(now).end == datetime(2026, 1, 2, 3, 4, 4, tzinfo=UTC)
    past = TimeRange(now - timedelta(days=3), now - timedelta(days=1))
    assert past.clamp_end(now) is past


def test_request_bounds_reach_through_the_end_second() -> None:
    # Canvas compares to the millisecond: a view at 23:59:59.4 shows as 23:59:59Z and is
    # left out by end_time=23:59:59Z; the next whole second takes it.
    assert request_bounds("2015-01-26T00:00:00Z", "2015-03-12T23:59:59Z") == (
        "2015-01-26T00:00:00Z",
        "2015-03-13T00:00:00Z",
    )
    assert request_bounds("2015-01-26T00:00:00Z", "2016-12-31T23:59:59Z")[1] == (
        "2017-01-01T00:00:00Z"
    )


def test_split_windows_cover_the_range_newest_first_sharing_edges() -> None:
    start = datetime(2015, 1, 1, tzinfo=UTC)
    tr = TimeRange(start, start + timedelta(days=10, seconds=7))
    windows = tr.split(4)
    assert len(windows) == 4
    assert windows[0].end == tr.end and windows[-1].start == tr.start
    for newer, older in pairwise(windows):
        assert older.end == newer.start  # shared edge second: nothing falls between
        assert older.start < older.end
    assert all(w.start.microsecond == 0 and w.end.microsecond == 0 for w in windows)


def test_split_of_a_tiny_range_is_the_range_itself() -> None:
    start = datetime(2015, 1, 1, tzinfo=UTC)
    tr = TimeRange(start, start + timedelta(seconds=2))
    assert tr.split(5) == [tr]


def test_timestamps_normalize_to_utc_z() -> None:
    assert normalize_timestamp("2015-02-01T12:00:00Z") == "2015-02-01T12:00:00Z"
    assert normalize_timestamp("2015-02-01T05:00:00-07:00") == "2015-02-01T12:00:00Z"
    assert normalize_timestamp("2015-02-01T12:00:00.250Z") == "2015-02-01T12:00:00Z"
    assert normalize_timestamp("2015-02-01T12:00:00") == "2015-02-01T12:00:00Z"


def test_relative_days_for_cron_name_whole_days_in_the_zone() -> None:
    # 01:30 UTC on 3 March is still 2 March in Denver.
    now = datetime(2015, 3, 3, 1, 30, tzinfo=UTC)
    denver = parse_timezone("America/Denver")

    def bound(text: str, end: bool) -> str:
        return canvas_timestamp(parse_bound(text, denver, end=end, flag="x", now=now))

    assert bound("today", False) == "2015-03-02T07:00:00Z"
    assert bound("TODAY", True) == "2015-03-03T06:59:59Z"
    assert bound("yesterday", False) == "2015-03-01T07:00:00Z"
    assert bound("-7d", False) == "2015-02-23T07:00:00Z"
    assert bound("-0d", True) == bound("today", True)
    with pytest.raises(UsageError, match="today, yesterday or -Nd"):
        parse_bound("-7w", denver, end=False, flag="x", now=now)
    with pytest.raises(UsageError):
        parse_bound("today", denver, end=False, flag="x")  # no clock given
