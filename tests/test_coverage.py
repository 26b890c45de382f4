from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from pageviews.coverage import Covered, Interval, missing, trusted, union
from pageviews.timerange import canvas_timestamp

EPOCH = datetime(2015, 1, 1, tzinfo=UTC)


def at(second: int) -> str:
    return canvas_timestamp(EPOCH + timedelta(seconds=second))


def span(lo: int, hi: int) -> Interval:
    return (at(lo), at(hi))


def test_union_joins_overlapping_and_touching_seconds() -> None:
    assert union([span(10, 20), span(0, 5), span(6, 8), span(19, 30), span(40, 41)]) == [
        span(0, 8),
        span(10, 30),
        span(40, 41),
    ]
    assert union([]) == []


def test_missing_is_what_the_range_has_beyond_the_coverage() -> None:
    assert missing([], span(0, 100)) == [span(0, 100)]
    assert missing([span(0, 100)], span(10, 20)) == []
    assert missing([span(10, 20), span(50, 60)], span(0, 100)) == [
        span(0, 9),
        span(21, 49),
        span(61, 100),
    ]
    assert missing([span(0, 10)], span(10, 12)) == [span(11, 12)]
    assert missing([span(90, 200)], span(0, 100)) == [span(0, 89)]


@pytest.mark.parametrize("seed", range(50))
def test_missing_and_coverage_partition_the_range(seed: int) -> None:
    rng = random.Random(seed)
    covered = [span(a, a + rng.randrange(30)) for a in rng.sample(range(200), rng.randrange(8))]
    want = span(rng.randrange(100), 100 + rng.randrange(100))
    seconds = set(range(_sec(want[0]), _sec(want[1]) + 1))
    in_cover = {s for a, b in covered for s in range(_sec(a), _sec(b) + 1)}
    gaps = missing(covered, want)
    in_gaps = [s for a, b in gaps for s in range(_sec(a), _sec(b) + 1)]
    assert len(in_gaps) == len(set(in_gaps))  # no second twice
    assert set(in_gaps) == seconds - in_cover


def _sec(stamp: str) -> int:
    return int((datetime.fromisoformat(stamp) - EPOCH).total_seconds())


def test_coverage_is_trusted_up_to_the_overlap_before_it_was_read() -> None:
    # Read up to second 5000 at second 5000: the last hour may still gain late views.
    nightly = Covered(at(0), at(5000), read_at=at(5000))
    assert trusted([nightly], timedelta(seconds=3600)) == [span(0, 1399)]
    # A range long past when it was read is trusted whole.
    old = Covered(at(0), at(100), read_at=at(90_000))
    assert trusted([old], timedelta(hours=1)) == [span(0, 100)]
    # Read entirely within the overlap: nothing is trusted.
    assert trusted([Covered(at(4000), at(5000), read_at=at(5000))], timedelta(hours=1)) == []
