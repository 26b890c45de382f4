"""The list endpoint as a source: follow a unit's pages, storing each; split long chains.

``GET /api/v1/users/:id/page_views`` serves a user's views newest first, a page
at a time (contract §1, §4). A unit is whole seconds ``[start, end]``; Canvas is
asked through the whole last second (:func:`request_bounds`) and what it returns
from the second after is dropped. When a user's history is long and requests
would otherwise idle, the rest of the chain is cut into time windows read side
by side (:mod:`pageviews.sources.splitting`), but only while every record so far came
newest first: a window edge drawn at a record is safe only then.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from ..canvas.client import CanvasClient
from ..canvas.pagination import PER_PAGE, walk
from ..engine import UnitContext
from ..errors import PermissionDeniedError
from ..store.histories import Unit
from ..timerange import canvas_timestamp, request_bounds
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
        fetched = 0
        ordered, oldest = unit.ordered, unit.oldest
        async for page in walk(client, url):
            rows, unusable = course_rows(page.data, self.courses, unit.start, unit.end)
            ordered, oldest = newest_first_so_far(page.data, oldest, ordered)
            fetched += len(page.data)
            windows = self._windows(unit, context, oldest, page.data, page.next_url, fetched)
            if windows and ordered and oldest is not None:
                log.info("user %s: long history, fetching %d windows", unit.user_id, len(windows))
                read = (_next_second(oldest), unit.end)
                children = store.split(run.run_id, unit, rows, read, windows)
                context.page_stored(len(rows), unusable)
                context.spawn(children)
                return
            store.save_page(run.run_id, unit, rows, page.next_url, (oldest, ordered))
            context.page_stored(len(rows), unusable)
            # Drop the page while waiting for the next: many chains wait at the gate.
            del page, rows

    def _windows(
        self,
        unit: Unit,
        context: UnitContext,
        oldest: str | None,
        data: list[Any],
        next_url: str | None,
        fetched: int,
    ) -> list[tuple[str, str]]:
        """Windows for the rest of a long unit, when requests would otherwise idle.

        Splitting costs requests (every window ends with its own short page), so a
        chain is split only while the client has room nobody is waiting for: never
        when Canvas's bucket binds, always for the long chains left at the end.
        """
        # This chain's own next request takes one free place; only the rest is spare.
        spare = context.spare_capacity() - 1
        if not self.split or next_url is None or spare <= 0:
            return []
        if len(data) < PER_PAGE or oldest is None:
            return []
        return plan_windows(
            start=unit.start,
            end=unit.end,
            oldest_seen=oldest,
            fetched=fetched,
            per_page=PER_PAGE,
            max_windows=min(MAX_WINDOWS, spare + 1),
        )


def _next_second(stamp: str) -> str:
    return canvas_timestamp(datetime.fromisoformat(stamp) + timedelta(seconds=1))
