"""The list endpoint as a source: follow a unit's pages, storing each; split long chains.

``GET /api/v1/users/:id/page_views`` serves a user's views newest first, a page
at a time (docs/canvas.md#endpoints, #pagination). A unit is whole seconds
``[start, end]``; Canvas is asked through the whole last second
(:func:`request_bounds`) and what it returns from the second after is dropped.
When a user's history is long and requests would otherwise idle, the rest of the
chain is cut into time windows read side by side
(:mod:`pageviews.sources.splitting`). The windows cover the whole unit, the
part already read included, so nothing rests on the order pages came in.

Nothing here assumes 100 rows a page: the page size is the one Canvas says it
applied (its links' ``per_page``), or failing that the longest page seen.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from ..canvas.client import CanvasClient
from ..canvas.pagination import walk
from ..canvas.responses import Page
from ..engine import UnitContext
from ..errors import PermissionDeniedError
from ..store import Unit
from ..timerange import request_bounds
from .records import course_rows, newest_first_so_far
from .splitting import MAX_WINDOWS, plan_windows

log = logging.getLogger(__name__)
SOURCE = "list"


class ListSource:
    """Read units through the list endpoint of one client."""

    name = SOURCE

    def __init__(
        self, client: CanvasClient, courses: Collection[int] | None, *, split: bool = True
    ) -> None:
        self.client, self.courses, self.split = client, courses, split

    def spare_capacity(self) -> int:
        return self.client.spare_capacity()

    def permission_hint(self, error: PermissionDeniedError) -> PermissionDeniedError:
        return PermissionDeniedError(
            f"Canvas refused to show page views ({error}); reading page views needs "
            "an account-admin token with the view_statistics permission"
        )

    async def read(self, unit: Unit, context: UnitContext) -> None:
        """Follow ``unit`` to its end, storing each page with its next link."""
        client, store, run = self.client, context.store, context.run
        url = unit.next_url or client.page_views_url(
            unit.user_id, *request_bounds(unit.start, unit.end)
        )
        fetched = size = 0
        ordered, oldest = unit.ordered, unit.oldest
        async for page in walk(client, url):
            rows, unusable = course_rows(page.data, self.courses, unit.start, unit.end)
            ordered, oldest = newest_first_so_far(page.data, oldest, ordered)
            fetched += len(page.data)
            size = page.per_page or max(size, len(page.data))
            # A resumed chain read pages before this run too (the windows read them again).
            windows = self._windows(unit, context, oldest, page, fetched + unit.pages * size, size)
            if windows and ordered and oldest is not None:
                log.info("user %s: long history, fetching %d windows", unit.user_id, len(windows))
                # The windows read this page again (see splitting.plan_windows): none of
                # its rows is stored or counted here, but Canvas did serve it.
                children = store.split(run.run_id, unit, windows)
                context.page_stored(0)
                context.spawn(children)
                return
            store.save_page(run.run_id, unit, rows, page.next_url, (oldest, ordered), unusable)
            context.page_stored(len(rows), oldest=oldest)
            # Drop the page while waiting for the next: many chains wait at the gate.
            del page, rows

    def _windows(
        self,
        unit: Unit,
        context: UnitContext,
        oldest: str | None,
        page: Page,
        fetched: int,
        size: int,
    ) -> list[tuple[str, str]]:
        """Windows for a long unit, when requests would otherwise idle.

        Splitting costs requests (every window ends with its own short page, and
        the pages read are read again), so a chain is split only early (see
        :func:`plan_windows`) and only while the client has room nobody is waiting
        for: never when Canvas's bucket binds, nor when this process's CPU does
        (:mod:`pageviews.canvas.cpuload`). Only a full page may have a long history
        behind it.
        """
        if not self.split or page.next_url is None or len(page.data) < size or oldest is None:
            return []
        # This chain's own next request takes one free place; only the rest is spare.
        spare = context.spare_capacity() - 1
        if spare <= 0:
            return []
        return plan_windows(
            start=unit.start,
            end=unit.end,
            oldest_seen=oldest,
            fetched=fetched,
            per_page=size,
            max_windows=min(MAX_WINDOWS, spare + 1),
            metered=self.client.gate.metered,
        )
