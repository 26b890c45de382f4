"""What a run has learned of refusals: users Canvas refused or no longer knows, and the token.

Invariants: a user's verdict is set once, from the first answer that decides it
(a list read's first reply, or a history query of that user alone), and never
changes within the run; a user counts as served once any list page of it came
back. :meth:`Refusals.settle` waits only for list reads already running, each
held by a worker or task that makes progress on its own, so it cannot deadlock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import anyio

from ..canvas.client import CanvasClient
from ..errors import (
    AuthenticationError,
    CanvasUnreachableError,
    PageviewsError,
    PermissionDeniedError,
)
from ..outcomes import Outcome, gone, refused

log = logging.getLogger(__name__)

__all__ = ["Refusals", "TokenRights", "Verdict", "gone", "refused"]

#: A user's end when Canvas refused it: (unit state, detail), as the store keeps it.
Verdict = Outcome


class Refusals:
    """Verdicts on users, the list reads still answering, and users the list served."""

    def __init__(self) -> None:
        self._verdicts: dict[int, Verdict] = {}
        self._answering: dict[int, anyio.Event] = {}
        self._served: set[int] = set()

    def reading(self, user_id: int) -> None:
        """A list read of ``user_id`` started."""
        if user_id not in self._answering and user_id not in self._served:
            self._answering[user_id] = anyio.Event()

    def served(self, user_id: int) -> None:
        """The list endpoint answered with a page of ``user_id``'s views."""
        self._served.add(user_id)
        self._answered(user_id)

    def decide(self, user_id: int, verdict: Verdict) -> None:
        """Record that Canvas refused ``user_id``, or does not know it (first verdict wins)."""
        self._verdicts.setdefault(user_id, verdict)
        self._answered(user_id)

    def done(self, user_id: int) -> None:
        """A list read of ``user_id`` ended, however."""
        self._answered(user_id)

    def _answered(self, user_id: int) -> None:
        event = self._answering.pop(user_id, None)
        if event is not None:
            event.set()

    async def settle(self, users: Iterable[int]) -> None:
        """Wait until the list reads of ``users`` already running have first answered."""
        for user_id in users:
            event = self._answering.get(user_id)
            if event is not None:
                await event.wait()

    def verdict(self, user_id: int) -> Verdict | None:
        """How Canvas refused ``user_id``, if it did."""
        return self._verdicts.get(user_id)

    @property
    def any_served(self) -> bool:
        """Whether the list endpoint served any user in this run."""
        return bool(self._served)

    def was_served(self, user_id: int) -> bool:
        """Whether the list endpoint served ``user_id`` in this run."""
        return user_id in self._served


class TokenRights:
    """Whether the token may read page views at all: asked once, when a read is first refused.

    A token without ``view_statistics`` is refused for every user; an admin's token
    is refused only for users outside its accounts (docs/canvas.md#permissions). An admin holds
    ``view_statistics`` on its own user, so one page of ``self`` tells them apart.
    """

    def __init__(self, client: CanvasClient) -> None:
        self.client = client
        self._answer: bool | None = None
        self._lock = anyio.Lock()

    async def may_read(self) -> bool:
        """True when the token may read page views (some users may still be refused)."""
        async with self._lock:
            if self._answer is None:
                self._answer = await self._ask()
            return self._answer

    async def _ask(self) -> bool:
        url = self.client.url("/api/v1/users/self/page_views", [("per_page", 1)])
        try:
            await self.client.get(url)
        except (AuthenticationError, CanvasUnreachableError):
            raise
        except PermissionDeniedError:
            return False
        except PageviewsError as exc:
            log.info("could not tell whether the token may read page views: %s", exc)
            return False
        log.info("the token may read page views: only some users are refused")
        return True
