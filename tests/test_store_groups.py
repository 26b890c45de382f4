"""The SQLite store commits pages of views a few at a time, each page whole or absent."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pageviews.errors import StateError
from pageviews.store import Row, Run, Store, Unit, open_store
from pageviews.store.schema import GROUP_PAGES

ORIGIN = "https://c.example.edu"
START, END = "2015-01-26T00:00:00Z", "2015-03-12T23:59:59Z"
IN_ORDER = (None, True)


def page(number: int) -> list[Row]:
    """Ten views, a page of its own: ids name the page."""
    return [
        (1693, f"2015-02-{number % 28 + 1:02d}T00:00:{k:02d}Z", f"p{number}-{k}",
         f"https://c/courses/1693/p{number}", 1.0, 0, None, b"[]")
        for k in range(10)
    ]  # fmt: skip


def committed(path: Path) -> tuple[int, str | None]:
    """Views and the unit's next link another connection sees (a run after a kill)."""
    with sqlite3.connect(path) as other:
        ((views,),) = other.execute("SELECT count(*) FROM views").fetchall()
        ((next_url,),) = other.execute("SELECT next_url FROM units WHERE user_id = 5").fetchall()
    return views, next_url


def opened(tmp_path: Path) -> tuple[Path, Store, Run, Unit]:
    """A new store with a run and one unit of user 5."""
    path = tmp_path / "state.sqlite"
    store = open_store(path, ORIGIN)
    run = store.open_run("key", START, END, END)
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")
    return path, store, run, unit


def test_pages_are_committed_in_groups_with_their_units_next_links(tmp_path: Path) -> None:
    path, store, run, unit = opened(tmp_path)
    for number in range(1, GROUP_PAGES):
        store.save_page(run.run_id, unit, page(number), f"next{number}", IN_ORDER)
    # A kill now would lose these pages, and the unit would point at their first again.
    assert committed(path) == (0, None)
    store.save_page(run.run_id, unit, page(GROUP_PAGES), f"next{GROUP_PAGES}", IN_ORDER)
    assert committed(path) == (10 * GROUP_PAGES, f"next{GROUP_PAGES}")
    store.close()


def test_closing_the_store_commits_the_pages_still_grouped(tmp_path: Path) -> None:
    path, store, run, unit = opened(tmp_path)
    store.save_page(run.run_id, unit, page(1), "next1", IN_ORDER)
    store.save_page(run.run_id, unit, page(2), "next2", IN_ORDER)
    store.close()
    assert committed(path) == (20, "next2")


def test_any_other_write_commits_the_pages_grouped_before_it(tmp_path: Path) -> None:
    path, store, run, unit = opened(tmp_path)
    store.save_page(run.run_id, unit, page(1), "next1", IN_ORDER)
    store.add_units(run.run_id, 6, [(START, END)], "list")
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT count(*) FROM views").fetchall() == [(10,)]
    store.close()


@pytest.mark.parametrize("before", [0, 2])
def test_a_page_whose_write_fails_undoes_its_group_and_the_store_takes_no_more(
    tmp_path: Path, before: int
) -> None:
    path, store, run, unit = opened(tmp_path)
    store.save_page(run.run_id, unit, page(1), "next1", IN_ORDER)
    store.add_units(run.run_id, 6, [(START, END)], "list")  # commits page 1
    for number in range(2, before + 2):
        store.save_page(run.run_id, unit, page(number), f"next{number}", IN_ORDER)
    # SQLite cannot bind a list: the page's first statements ran, then it fails.
    broken = [*page(50), (1693, "2015-02-27T00:00:00Z", "bad", ["url"], 1.0, 0, None, b"[]")]
    with pytest.raises(StateError):
        store.save_page(run.run_id, unit, broken, "broken", IN_ORDER)  # type: ignore[arg-type]
    # Every page since the last commit is undone, and the unit points after page 1 again.
    assert committed(path) == (10, "next1")
    with pytest.raises(StateError, match="run the same command again"):
        store.save_page(run.run_id, unit, page(60), "next60", IN_ORDER)
    with pytest.raises(StateError, match="run the same command again"):
        store.add_units(run.run_id, 7, [(START, END)], "list")
    store.close()
    assert committed(path) == (10, "next1")
