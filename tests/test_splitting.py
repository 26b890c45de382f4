from __future__ import annotations

from itertools import pairwise

from pageviews.sources.splitting import MAX_WINDOWS, plan_windows

START, END = "2015-01-01T00:00:00Z", "2015-03-01T00:00:00Z"


def plan(
    oldest_seen: str, fetched: int = 100, max_windows: int = MAX_WINDOWS, metered: bool = True
) -> list[tuple[str, str]]:
    """Plan after ``fetched`` views read back from the end of the range to ``oldest_seen``."""
    return plan_windows(
        start=START,
        end=END,
        oldest_seen=oldest_seen,
        fetched=fetched,
        per_page=100,
        max_windows=max_windows,
        metered=metered,
    )


def test_nothing_left_is_not_split() -> None:
    assert plan(START) == []
    assert plan("2015-02-28T00:00:00Z", fetched=0) == []


def test_spare_capacity_caps_the_windows() -> None:
    assert len(plan("2015-02-28T00:00:00Z", max_windows=3)) == 3


def test_dense_history_is_split_into_windows_covering_the_whole_range() -> None:
    # 100 views in the newest day of a 59-day range: about 58 more pages expected. The
    # page read is read again by the newest window, whatever order the chain kept later.
    windows = plan("2015-02-28T00:00:00Z")
    assert len(windows) == MAX_WINDOWS
    assert windows[0][1] == END
    assert windows[0][0] < "2015-02-28T00:00:00Z"  # the oldest second seen is read again
    assert windows[-1][0] == START
    for newer, older in pairwise(windows):
        assert older[1] == newer[0]


def test_a_chain_is_split_only_while_reading_its_pages_again_is_cheap() -> None:
    # Three pages read are read again by the newest window; ten would cost more
    # requests than the windows save, so a chain found long that late is not split.
    assert len(plan("2015-02-25T00:00:00Z", fetched=300)) > 1
    assert plan("2015-02-25T00:00:00Z", fetched=301) == []
    assert plan("2015-02-14T00:00:00Z", fetched=1000) == []


def test_without_a_bucket_a_chain_found_long_late_is_still_split() -> None:
    # Pages read again cost only round trips beside the others when no bucket meters
    # them: the latency-bound run lost a fifth of its speed to chains left whole.
    windows = plan("2015-02-14T00:00:00Z", fetched=1000, metered=False)
    assert len(windows) > 1 and windows[0][1] == END and windows[-1][0] == START


def test_sparse_remainder_is_not_worth_splitting() -> None:
    # The first page already reached back most of the range.
    assert plan("2015-01-03T00:00:00Z") == []


def test_window_count_follows_expected_pages() -> None:
    # 100 views over 29.5 days with 29.5 days left: about one page left, so no split;
    # 100 views over 5 days with 54 days left: about 11 pages, so 4 windows of about 3;
    # 300 views read over 15 days with 44 days left: about 9 pages, so 3 windows.
    assert plan("2015-01-30T12:00:00Z") == []
    assert len(plan("2015-02-24T00:00:00Z")) == 4
    assert len(plan("2015-02-14T00:00:00Z", fetched=300)) == 3
