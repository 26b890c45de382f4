"""Route each unit to the source that reads it: the list endpoint or history.

Each list read also tells the run's :class:`~.refusals.Refusals` what Canvas
said of its user (served, refused, gone), so a history group never asks for a
user the list endpoint already found refused or gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ..engine import UnitContext
from ..errors import NotFoundError, PermissionDeniedError
from ..store import Run, Store, Unit
from .refusals import Refusals, TokenRights, gone, refused


class UnitReader(Protocol):
    """A source of one kind of unit."""

    async def read(self, unit: Unit, context: UnitContext) -> None:
        """Read ``unit`` to its end (or split it), storing every page as it comes."""

    def spare_capacity(self) -> int:
        """Requests that could start now with nobody waiting for them."""

    def permission_hint(self, error: PermissionDeniedError) -> PermissionDeniedError:
        """The error to stop the run with when the token may not read page views."""


class MixedSource:
    """Read each unit with the source it names; the first source answers for capacity."""

    name = "mixed"

    def __init__(
        self,
        sources: Mapping[str, UnitReader],
        refusals: Refusals | None = None,
        rights: TokenRights | None = None,
    ) -> None:
        self.sources = dict(sources)
        self.first = next(iter(self.sources.values()))
        self.refusals = refusals or Refusals()
        self.rights = rights

    async def read(self, unit: Unit, context: UnitContext) -> None:
        source = self.sources[unit.source]
        if unit.source != "list":
            await source.read(unit, context)
            return
        user, refusals = unit.user_id, self.refusals
        refusals.reading(user)
        watched = _Watched(context, refusals, user)
        try:
            await source.read(unit, watched)
        except NotFoundError as exc:
            if not watched.pages and unit.pages == 0:
                refusals.decide(user, gone(str(exc)))
            raise
        except PermissionDeniedError as exc:
            refusals.decide(user, refused(exc))
            raise
        finally:
            refusals.done(user)

    def spare_capacity(self) -> int:
        return self.first.spare_capacity()

    async def permission_hint(self, error: PermissionDeniedError) -> PermissionDeniedError | None:
        if self.rights is not None and await self.rights.may_read():
            return None
        return self.first.permission_hint(error)


class _Watched:
    """A unit's context that tells the refusals when a page of its user was served."""

    def __init__(self, context: UnitContext, refusals: Refusals, user_id: int) -> None:
        self.context, self.refusals, self.user_id = context, refusals, user_id
        self.store: Store = context.store
        self.run: Run = context.run
        self.progress = context.progress
        self.pages = 0

    def page_stored(self, records: int, oldest: str | None = None) -> None:
        self.pages += 1
        self.refusals.served(self.user_id)
        self.context.page_stored(records, oldest)

    def spawn(self, units: list[Unit]) -> None:
        self.context.spawn(units)

    def spare_capacity(self) -> int:
        return self.context.spare_capacity()
