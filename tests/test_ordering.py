"""The streaming merge of one user's stored pages against the plain in-memory merge."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from pageviews.errors import ProtocolError
from pageviews.harvest import HarvestOptions, render_reports, run_key
from pageviews.ordering import ordered_rows
from pageviews.records import Row, encode_rows, merge_user_rows, page_order
from pageviews.store import Store
from pageviews.timerange import TimeRange

START, END = "2015-01-01T00:00:00Z", "2015-03-31T23:59:59Z"
EPOCH = datetime(2015, 1, 1, tzinfo=UTC)


def stamp(second: int) -> str:
    return (EPOCH + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_unit(rows: list[Row], per_page: int) -> list[bytes]:
    """Pages as Canvas serves them (newest first, ``per_page`` a page), listed oldest first."""
    newest_first = sorted(rows, key=lambda r: (r[1], r[2]), reverse=True)
    pages = [encode_rows(newest_first[i : i + per_page]) for i in range(0, len(rows), per_page)]
    return pages[::-1]


def history(rng: random.Random, n: int, span: int) -> list[Row]:
    """``n`` views over ``span`` seconds with many shared seconds, some in another course."""
    return [
        (rng.choice((1693, 1693, 1693, 169)), stamp(rng.randrange(span)), f"id{i:05d}", "u", 1.0)
        for i in range(n)
    ]


@pytest.mark.parametrize("seed", range(40))
def test_windows_with_shared_edges_and_repeats_match_the_plain_merge(seed: int) -> None:
    rng = random.Random(seed)
    span = rng.choice((50, 500, 86_400))
    rows = history(rng, rng.randrange(1, 600), span)
    # Cut the span into windows that share their edge second, as the harvester does.
    edges = sorted({0, span, *(rng.randrange(span) for _ in range(rng.randrange(4)))})
    units = []
    for lo, hi in pairwise(edges):
        part = [r for r in rows if stamp(lo) <= r[1] <= stamp(hi)]
        if part:
            units.append(as_unit(part, rng.choice((1, 3, 100))))
    rng.shuffle(units)
    blobs = [b for unit in units for b in unit]
    assert list(ordered_rows(units, 1693, START, END)) == merge_user_rows(blobs, 1693, START, END)


def test_only_the_course_and_range_are_kept() -> None:
    rows: list[Row] = [
        (1693, "2014-12-31T23:59:59Z", "before", "u", None),
        (1693, "2015-02-01T00:00:00Z", "in", "u", None),
        (169, "2015-02-01T00:00:00Z", "other", "u", None),
        (1693, "2015-04-01T00:00:00Z", "after", "u", None),
    ]
    assert [r[2] for r in ordered_rows([as_unit(rows, 2)], 1693, START, END)] == ["in"]


def test_pages_out_of_order_are_refused() -> None:
    # The harvest marks such units and merges them in memory; the stream never guesses.
    older = encode_rows([(1693, stamp(11), "c", "u", None), (1693, stamp(10), "a", "u", None)])
    newer = encode_rows([(1693, stamp(21), "d", "u", None), (1693, stamp(20), "b", "u", None)])
    with pytest.raises(ProtocolError):
        list(ordered_rows([[newer, older]], 1693, START, END))  # newest page read first


def test_page_order_marks_a_page_newer_than_the_ones_before() -> None:
    assert page_order([(1693, stamp(30), "a", "u", None)], None, True) == (stamp(30), True)
    rows: list[Row] = [(1693, stamp(30), "a", "u", None), (1693, stamp(20), "b", "u", None)]
    assert page_order(rows, stamp(30), True) == (stamp(20), True)  # a shared edge second
    assert page_order(rows, stamp(25), True) == (stamp(20), False)
    assert page_order([], stamp(25), False) == (stamp(25), False)


def test_a_unit_marked_out_of_order_is_merged_in_memory(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite", "https://c.example.edu")
    options = HarvestOptions(
        course=1693,
        time_range=TimeRange(EPOCH, EPOCH + timedelta(days=80)),
        out_dir=tmp_path,
    )
    key = run_key(1693, options)
    run = store.open_run(key, key.end, key.start)
    store.add_users(run.run_id, [(5, "Ada")], key.start, key.end)
    (unit,) = store.pending(run.run_id)
    older: list[Row] = [(1693, stamp(11), "c", "u", None), (1693, stamp(10), "a", "u", None)]
    newer: list[Row] = [(1693, stamp(21), "d", "u", None), (1693, stamp(20), "b", "u", None)]
    store.save_page(unit, 0, older, "p2", page_order(older, None, True))
    (unit,) = store.pending(run.run_id)
    store.save_page(unit, 1, newer, None, page_order(newer, unit.oldest, unit.ordered))
    totals = render_reports(store, run, options)
    store.close()
    assert totals.records == 4
    lines = (tmp_path / f"user-pageviews_1693_{options.time_range.label}.csv").read_text()
    assert [line.split(",")[7] for line in lines.splitlines()[1:]] == ["a", "c", "b", "d"]
