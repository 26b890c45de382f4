"""A page in flight: PostgreSQL stores one page while the harvest goes on to the next.

Invariants:
- A page in flight is one autocommit statement (:mod:`.pgpage`'s function) on a
  connection of its own: stored whole or not at all. The store keeps a few in flight
  (``PAGES_IN_FLIGHT``), never two of one unit; the store's write lock, taken
  first, orders them.
- The store waits for them (:meth:`InFlight.settle`) before it does anything else, so
  every call sees the writes made before it, in their order, as if each had waited;
  but for calls that neither read nor write what a page writes (views, shapes,
  coverage, a unit's row), made :meth:`BesidePages.beside_pages`: planning users,
  recording rosters. Its failure surfaces at the next call that waits, a StateError
  naming the store.
- A SIGKILL may catch pages in flight: each is then stored whole or not at all, and
  a resume reads it again from its unit's stored link, as a page whose request was
  in flight.
"""

from __future__ import annotations

import select
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from .pgconnect import driver
from .pgpage import CALL
from .schema import Connection

if TYPE_CHECKING:
    import psycopg

_NAME: Final = b"pageviews_page"
Page = TypeVar("Page")


class InFlight(Generic[Page]):
    """A connection that takes one page's call at a time, its answer read later."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection
        connection.execute(f"PREPARE {_NAME.decode()} AS {CALL}")
        self._page: Page | None = None  # what the call in flight stores, for its answer

    @property
    def page(self) -> Page | None:
        """The page whose call is in flight, if any."""
        return self._page

    def send(self, arguments: Sequence[object], page: Page) -> None:
        """Send the call of a page (the one before must be settled) and return at once."""
        assert self._page is None, "settle the page in flight first"
        pgconn = self.connection.pgconn
        values = [None if value is None else str(value).encode() for value in arguments]
        pgconn.send_query_prepared(_NAME, values)
        while pgconn.flush():  # the socket's buffer is full: wait until it takes more
            readable, _, _ = select.select([pgconn.socket], [pgconn.socket], [])
            if readable:
                pgconn.consume_input()
        self._page = page

    def settle(self) -> tuple[int, Page] | None:
        """Wait for the page in flight: the function's answer and the page; None if none."""
        page, self._page = self._page, None
        if page is None:
            return None
        pq = driver().pq
        results = []
        while (result := self.connection.pgconn.get_result()) is not None:
            results.append(result)
        for result in results:
            if result.status != pq.ExecStatus.TUPLES_OK:
                message = result.error_message.decode(errors="replace").strip()
                raise driver().DatabaseError(message or "the page was not stored")
        return int(results[0].get_value(0, 0) or b"0"), page


class BesidePages(Connection):
    """Calls that may go on while a page is in flight."""

    _beside = False  # in such a call: the store need not wait for the page in flight

    @contextmanager
    def beside_pages(self) -> Iterator[None]:
        """A call that neither reads nor writes views, shapes, coverage or a unit's row."""
        self._beside = True
        try:
            yield
        finally:
            self._beside = False
