"""The pagination walker against a scripted page source: loops and restarts are caught."""

from __future__ import annotations

from collections import Counter

import pytest

from pageviews.canvas.pagination import last_with_data, walk
from pageviews.canvas.responses import Page
from pageviews.errors import NotFoundError, PaginationLoopError

pytestmark = pytest.mark.anyio


class Script:
    """Serve pages from a table; each URL's n-th request may answer differently."""

    retry_attempts = 4

    def __init__(
        self, table: dict[str, list[tuple[list[str], str | None]]], per_page: int | None = 100
    ) -> None:
        self.table, self.per_page = table, per_page  # the page size its links name
        self.asked: Counter[str] = Counter()

    async def get(self, url: str, *, attempts: int | None = None) -> Page:
        answers = self.table[url]
        ids, next_url = answers[min(self.asked[url], len(answers) - 1)]
        self.asked[url] += 1
        data = [{"id": i} for i in ids]
        return Page(url=url, data=data, next_url=next_url, rate=None, per_page=self.per_page)


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


async def test_two_empty_pages_in_a_row_end_the_list_whatever_their_links() -> None:
    script = Script({"p1": [(["a"], "e1")], "e1": [([], "e2")], "e2": [([], "e3")]})
    assert await ids_walked(script) == ["a"]
    assert "e3" not in script.asked


class Gone(Script):
    """A script whose listed URLs answer 404."""

    def __init__(
        self,
        table: dict[str, list[tuple[list[str], str | None]]],
        gone: str,
        per_page: int | None = 100,
    ) -> None:
        super().__init__(table, per_page)
        self.gone = gone

    async def get(self, url: str, *, attempts: int | None = None) -> Page:
        if url == self.gone:
            raise NotFoundError("gone")
        return await super().get(url, attempts=attempts)


async def test_404_after_a_short_page_ends_the_list() -> None:
    script = Gone({"p1": [(["a", "b"], "p2")]}, gone="p2")
    pages = [page async for page in walk(script, "p1")]
    assert [page.data for page in pages][-1] == [] and pages[-1].next_url is None


@pytest.mark.parametrize("per_page", [2, None])
async def test_404_after_a_page_that_may_be_full_is_raised(per_page: int | None) -> None:
    # Two records on a server paging by 2, or by a size it never names.
    script = Gone({"p1": [(["a", "b"], "p2")]}, gone="p2", per_page=per_page)
    with pytest.raises(NotFoundError):
        await ids_walked(script)


async def test_404_after_a_page_shorter_than_one_before_ends_an_unsized_list() -> None:
    table: dict[str, list[tuple[list[str], str | None]]] = {
        "p1": [(["a", "b", "c"], "p2")],
        "p2": [(["d"], "p3")],
    }
    pages = [page async for page in walk(Gone(table, gone="p3", per_page=None), "p1")]
    assert [page.data for page in pages][-1] == [] and pages[-1].next_url is None


async def test_404_after_a_page_as_full_as_the_one_before_is_raised() -> None:
    script = Gone({"p1": [(["a", "b"], "p2")], "p2": [(["c", "d"], "p3")]}, gone="p3")
    with pytest.raises(NotFoundError):
        await ids_walked(script)


async def test_404_on_the_first_page_is_raised() -> None:
    with pytest.raises(NotFoundError):
        await ids_walked(Gone({}, gone="p1"))


def test_a_page_is_provably_last_only_when_shorter_than_the_size_applied() -> None:
    assert last_with_data(0, None, 0)  # an empty page ends a list
    assert last_with_data(30, 100, 0)
    assert last_with_data(30, 100, 100)
    assert not last_with_data(100, 100, 0)
    assert not last_with_data(10, 10, 0)  # a server paging by 10 (Canvas's default)
    assert not last_with_data(50, 100, 50)  # links naming 100, pages of 50: may be full
    assert not last_with_data(30, None, 0)  # no size named, nothing longer before
    assert last_with_data(30, None, 50)
    assert not last_with_data(50, None, 50)
