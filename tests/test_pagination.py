"""The pagination walker against a scripted page source: loops and restarts are caught."""

from __future__ import annotations

from collections import Counter

import pytest

from pageviews.errors import PaginationLoopError
from pageviews.pagination import walk
from pageviews.responses import Page

pytestmark = pytest.mark.anyio


class Script:
    """Serve pages from a table; each URL's n-th request may answer differently."""

    retry_attempts = 4

    def __init__(self, table: dict[str, list[tuple[list[str], str | None]]]) -> None:
        self.table = table
        self.asked: Counter[str] = Counter()

    async def get(self, url: str, *, attempts: int | None = None) -> Page:
        answers = self.table[url]
        ids, next_url = answers[min(self.asked[url], len(answers) - 1)]
        self.asked[url] += 1
        return Page(url=url, data=[{"id": i} for i in ids], next_url=next_url, rate=None)


async def ids_walked(script: Script, url: str = "p1") -> list[str]:
    return [item["id"] for page in [p async for p in walk(script, url)] for item in page.data]


async def test_follows_next_to_the_end() -> None:
    script = Script({"p1": [(["a", "b"], "p2")], "p2": [(["c"], "p3")], "p3": [([], None)]})
    assert await ids_walked(script) == ["a", "b", "c"]


async def test_link_back_to_a_page_already_read_is_asked_again() -> None:
    # p2 first names itself as next (a repeated link); asked again, it names p3.
    script = Script(
        {"p1": [(["a"], "p2")], "p2": [(["b"], "p2"), (["b"], "p3")], "p3": [(["c"], None)]}
    )
    assert await ids_walked(script) == ["a", "b", "c"]
    assert script.asked["p2"] == 2


async def test_bookmark_that_restarts_at_page_one_is_caught() -> None:
    # p2's link "bad" serves page one again; p2 asked again gives the right link.
    script = Script(
        {
            "p1": [(["a", "b"], "p2")],
            "p2": [(["c"], "bad"), (["c"], "p3")],
            "bad": [(["a", "b"], "p2")],
            "p3": [(["d"], None)],
        }
    )
    assert await ids_walked(script) == ["a", "b", "c", "d"]


async def test_link_to_a_middle_page_already_read_is_caught() -> None:
    script = Script(
        {
            "p1": [(["a"], "p2")],
            "p2": [(["b"], "p3")],
            "p3": [(["c"], "back"), (["c"], "p4")],
            "back": [(["b"], "p3")],
            "p4": [(["d"], None)],
        }
    )
    assert await ids_walked(script) == ["a", "b", "c", "d"]


async def test_a_loop_that_never_clears_gives_up() -> None:
    script = Script({"p1": [(["a"], "p2")], "p2": [(["b"], "p2")]})
    with pytest.raises(PaginationLoopError):
        await ids_walked(script)
    assert script.asked["p2"] <= 1 + Script.retry_attempts
