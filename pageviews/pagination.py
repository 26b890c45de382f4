"""Follow ``rel="next"`` links exactly as Canvas gives them, guarding against loops.

Canvas restarts a collection at its first page when a bookmark is malformed,
and a faulty proxy can hand back a link already followed (contract §4). Either
would silently repeat or skip records, so both are detected: a link already
followed, or a page that starts like one already read, makes the walker ask
again for the page that gave the bad link, within the retry budget.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from operator import itemgetter
from typing import Any, Protocol

from .errors import PaginationLoopError
from .responses import Page


class PageSource(Protocol):
    """Anything that can GET a page with retries (the client)."""

    async def get(self, url: str, *, attempts: int | None = None) -> Page: ...

    @property
    def retry_attempts(self) -> int: ...


_ID = itemgetter("id")


def _ids(data: Any) -> list[Any]:
    """The records' ids; C-level for the usual list of objects that all have one."""
    if not isinstance(data, list):
        return []
    try:
        return list(map(_ID, data))
    except (KeyError, TypeError):
        return [item["id"] for item in data if isinstance(item, dict) and "id" in item]


async def walk(source: PageSource, url: str) -> AsyncIterator[Page]:
    """Yield each page from ``url`` on; every yielded ``next_url`` is one not yet followed."""
    followed: set[str] = set()
    # Memory stays O(pages), not O(records): the first page's ids (a restart serves it
    # again) and the first id of every page (a link back to any page read before).
    first_page: set[Any] | None = None
    page_heads: set[Any] = set()
    came_from: str | None = None
    strikes = 0

    async def relink(page_url: str) -> str | None:
        # Ask again for a page until its next link is one not yet followed.
        nonlocal strikes
        while True:
            strikes += 1
            if strikes > source.retry_attempts:
                raise PaginationLoopError(
                    "Canvas pagination keeps looping back to pages already read"
                )
            page = await source.get(page_url)
            if page.next_url is None or page.next_url not in followed:
                return page.next_url

    current: str | None = url
    while current is not None:
        page = await source.get(current)
        ids = _ids(page.data)
        if (
            came_from is not None
            and ids
            and (ids[0] in page_heads or (first_page is not None and first_page.issuperset(ids)))
        ):
            # Canvas served records already read: the link that led here restarted the list.
            followed.add(current)
            current = await relink(came_from)
            continue
        if first_page is None:
            first_page = set(ids)
        if ids:
            page_heads.add(ids[0])
        followed.add(current)
        next_url = page.next_url
        if next_url is not None and next_url in followed:
            next_url = await relink(current)
        yield replace(page, next_url=next_url)
        # Let the page go before waiting for the next one: many chains wait at once.
        del page, ids
        came_from, current = current, next_url
