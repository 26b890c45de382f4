"""Follow ``rel="next"`` links exactly as Canvas gives them, guarding against loops.

Canvas restarts a collection at its first page when a bookmark is malformed,
and a faulty proxy can hand back a link already followed (docs/canvas.md#bookmarks). Either
would silently repeat or skip records, so both are detected: a link already
followed, or a page that starts like one already read, makes the walker ask
again for the page that gave the bad link, within the retry budget.

Where a list ends (docs/canvas.md#end-of-list: pv4 puts a next link on every non-empty page and
ends with an empty one): a second empty page in a row ends it whatever its link
says, and a 404 in place of the empty page ends it when the page before was
provably the last with data (:func:`last_with_data`): shorter than the page size
this server applies. Any other 404 is raised. The size is learned, never assumed:
Canvas names the ``per_page`` it applied in its links (an older Canvas clamps to
50; a server ignoring ``per_page`` serves 10), and a longer page earlier in the
chain shows it too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from operator import itemgetter
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..errors import NotFoundError, PaginationLoopError, ProtocolError
from .responses import Page

#: Canvas clamps per_page to 100 (lib/api.rb MAX_PER_PAGE); asking for more is pointless.
PER_PAGE = 100


class PageSource(Protocol):
    """Anything that can GET a page with retries (the client)."""

    async def get(self, url: str, *, attempts: int | None = None) -> Page: ...

    @property
    def retry_attempts(self) -> int: ...


_ID = itemgetter("id")


def _records(page: Page) -> list[dict[str, Any]]:
    """The page's records; every paginated Canvas endpoint answers a list of objects."""
    data = page.data
    # One set of the items' types, built in C: {dict} for every page of records.
    if type(data) is not list or (data and set(map(type, data)) != {dict}):
        raise ProtocolError(
            f"expected a JSON list {'of objects ' if type(data) is list else ''}from "
            f"{urlsplit(page.url).path}: that is not Canvas's API (a proxy?)"
        )
    return data


def _ids(data: list[dict[str, Any]]) -> list[Any]:
    """The records' ids; C-level for the usual list of objects that all have one."""
    try:
        ids = list(map(_ID, data))
    except KeyError:
        ids = [item.get("id") for item in data]
    # A record without an id says nothing about which page this is.
    return [i for i in ids if i is not None] if None in ids else ids


def last_with_data(size: int, applied: int | None, longest_before: int) -> bool:
    """Say whether a page of ``size`` records was provably its list's last with data.

    ``applied`` is the page size the server's links named (None when they did not);
    ``longest_before`` the most records an earlier page of the chain held. An empty
    page always was. Otherwise the page must be short: fewer than the size applied
    and than any page before it, or, when no size was named, than a page before it.
    A page that may be full may have more behind it.
    """
    if size == 0:
        return True
    if applied is None:
        return size < longest_before
    return size < applied and (longest_before == 0 or size < longest_before)


async def walk(source: PageSource, url: str) -> AsyncIterator[Page]:
    """Yield each page from ``url`` on; every yielded ``next_url`` is one not yet followed."""
    followed: set[str] = set()
    # Memory stays O(pages), not O(records): the first page's ids (a restart serves it
    # again) and the first id of every page (a link back to any page read before).
    first_page: set[Any] | None = None
    page_heads: set[Any] = set()
    came_from: str | None = None
    strikes = 0
    empty_in_a_row = 0
    last_size: int | None = None  # records on the page before, None before the first
    longest = longest_before = 0
    applied: int | None = None  # the page size the server's links last named

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
        try:
            page = await source.get(current)
        except NotFoundError:
            if last_size is None or not last_with_data(last_size, applied, longest_before):
                raise
            # The list ended (see the module notes): an empty last page in the 404's place.
            yield Page(url=current, data=[], next_url=None, rate=None)
            return
        records = _records(page)
        ids = _ids(records)
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
        empty_in_a_row = 0 if records else empty_in_a_row + 1
        if empty_in_a_row >= 2:
            next_url = None  # an empty page ends a list; two in a row end it for sure
        if next_url is not None and next_url in followed:
            next_url = await relink(current)
        applied = page.per_page or applied
        yield replace(page, next_url=next_url, per_page=applied)
        longest_before, last_size = longest, len(records)
        longest = max(longest, last_size)
        # Let the page go before waiting for the next one: many chains wait at once.
        del page, ids, records
        came_from, current = current, next_url
