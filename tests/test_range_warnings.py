"""What a run says about the list endpoint's window: only what it can know."""

from __future__ import annotations

from datetime import UTC, datetime

from pageviews import TimeRange
from pageviews.harvest import range_warnings

NOW = datetime(2015, 4, 20, 12, tzinfo=UTC)


def test_a_range_inside_the_window_draws_no_warning() -> None:
    recent = TimeRange(datetime(2015, 4, 1, tzinfo=UTC), datetime(2015, 4, 19, tzinfo=UTC))
    assert range_warnings(recent, NOW, "never") == []


def test_a_range_past_the_window_may_miss_views_on_hosted_canvas_only() -> None:
    term = TimeRange(datetime(2015, 1, 1, tzinfo=UTC), datetime(2015, 4, 19, tzinfo=UTC))
    (warning,) = range_warnings(term, NOW, "never")
    assert warning.startswith(
        "page views from 2015-01-01T00:00:00Z through 2015-03-21T11:59:59Z may be missing on "
        "hosted Canvas"
    )
    assert "not read" not in warning and "self-hosted Canvas keeps them all" in warning
    assert range_warnings(term, NOW, "auto") == range_warnings(term, NOW, "only") == []
