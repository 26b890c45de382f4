from __future__ import annotations

from itertools import pairwise

from pageviews.splitting import MAX_WINDOWS, plan_windows

START, END = "2015-01-01T00:00:00Z", "2015-03-01T00:00:00Z"


def plan(oldest_seen: str, page_len: int = 100, has_next: bool = True) -> list[tuple[str, str]]:
    """Plan for a first page of ``page_len`` views over the range, reaching ``oldest_seen``."""
    return plan_windows(
        start=START,
        end=END,
        oldest_seen=oldest_seen,
        page_len=page_len,
        per_page=100,
        has_next=has_next,
    )


def test_short_or_last_pages_are_not_split() -> None:
    assert plan("2015-02-28T00:00:00Z", page_len=40) == []
    assert plan("2015-02-28T00:00:00Z", has_next=False) == []


def test_dense_history_is_split_into_windows_covering_the_rest() -> None:
    # 100 views in the newest day of a 59-day range: about 58 more pages expected.
    windows = plan("2015-02-28T00:00:00Z")
    assert len(windows) == MAX_WINDOWS
    assert windows[0][1] == "2015-02-28T00:00:00Z"  # includes the oldest second already seen
    assert windows[-1][0] == START
    for newer, older in pairwise(windows):
        assert older[1] == newer[0]


def test_sparse_remainder_is_not_worth_splitting() -> None:
    # The first page already reached back most of the range.
    assert plan("2015-01-03T00:00:00Z") == []


def test_window_count_follows_expected_pages() -> None:
    # 100 views over 29.5 days with 29.5 days left: about one page left, so no split;
    # 100 views over 5 days with 54 days left: about 11 pages, so 4 windows of about 3.
    assert plan("2015-01-30T12:00:00Z") == []
    assert len(plan("2015-02-24T00:00:00Z")) == 4
