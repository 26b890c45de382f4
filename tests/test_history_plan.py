"""History planning arithmetic: the seam, the months, the reach, the job decisions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pageviews.errors import UsageError
from pageviews.sources.history_plan import (
    check_reach,
    filtered_users,
    halves,
    months_of,
    next_step,
    plan_sources,
)

NOW = datetime(2015, 5, 20, 12, 0, 0, 250_000, tzinfo=UTC)
WANT = ("2015-01-10T00:00:00Z", "2015-05-19T23:59:59Z")


def test_auto_reads_from_history_all_but_the_last_day_once_history_is_needed() -> None:
    # Four months back: history costs a fraction of the list endpoint's pages, so it reads
    # everything it holds for sure; the last day comes from the list endpoint.
    plan = plan_sources(WANT, NOW, "auto", 30)
    assert plan.history == ("2015-01-10T00:00:00Z", "2015-05-19T12:00:00Z")
    assert plan.listed == ("2015-05-19T12:00:01Z", "2015-05-19T23:59:59Z")
    assert plan.unread is None


def test_auto_reads_a_range_ended_days_ago_from_history_alone() -> None:
    term = ("2015-01-10T00:00:00Z", "2015-05-10T23:59:59Z")
    plan = plan_sources(term, NOW, "auto", 30)
    assert (plan.history, plan.listed, plan.unread) == (term, None, None)


def test_never_names_the_part_it_cannot_read() -> None:
    plan = plan_sources(WANT, NOW, "never", 30)
    assert plan.listed == WANT and plan.history is None
    assert plan.unread == ("2015-01-10T00:00:00Z", "2015-04-20T12:00:00Z")


def test_only_and_recent_ranges() -> None:
    assert plan_sources(WANT, NOW, "only", 30).history == WANT
    recent = ("2015-05-01T00:00:00Z", "2015-05-02T00:00:00Z")
    assert plan_sources(recent, NOW, "auto", 30).listed == recent


def test_months_are_whole_and_end_exclusive() -> None:
    assert months_of(("2015-01-10T00:00:00Z", "2015-04-20T13:00:00Z")) == (
        date(2015, 1, 1),
        date(2015, 5, 1),
    )
    assert months_of(("2014-12-31T00:00:00Z", "2014-12-31T23:59:59Z")) == (
        date(2014, 12, 1),
        date(2015, 1, 1),
    )


def test_reach_is_a_usage_error_naming_the_limit() -> None:
    check_reach(datetime(2014, 5, 1, tzinfo=UTC), NOW, "auto")
    with pytest.raises(UsageError, match="12 months"):
        check_reach(datetime(2014, 4, 30, tzinfo=UTC), NOW, "only")
    check_reach(datetime(2010, 1, 1, tzinfo=UTC), NOW, "never")


def test_job_decisions() -> None:
    assert next_step("running", None, 0) == "wait"
    assert next_step("processing", None, 0) == "wait"
    assert next_step("finished", None, 0) == "download"
    assert next_step("failed", "RESULT_SIZE_LIMIT_EXCEEDED", 0) == "split"
    assert next_step("failed", "INTERNAL_ERROR", 0) == "restart"
    assert next_step("failed", "INTERNAL_ERROR", 3) == "fail"


def test_a_large_job_splits_users_then_months() -> None:
    users = tuple(range(10))
    assert [len(u) for u, _, _ in halves(users, date(2015, 1, 1), date(2015, 5, 1))] == [5, 5]
    assert halves((1,), date(2015, 1, 1), date(2015, 5, 1)) == [
        ((1,), date(2015, 1, 1), date(2015, 3, 1)),
        ((1,), date(2015, 3, 1), date(2015, 5, 1)),
    ]
    assert halves((1,), date(2015, 1, 1), date(2015, 2, 1)) == []


def test_user_filtered_warnings_name_local_users() -> None:
    warnings = [
        {"code": "USER_FILTERED", "message": "Filtered out 1 user from batch query: 10000000000002"}
    ]
    assert filtered_users(warnings) == {2}
    assert filtered_users(None) == set()
