"""Route each unit to the source that reads it: the list endpoint or history."""

from __future__ import annotations

from collections.abc import Mapping

from ..engine import Source, UnitContext
from ..errors import PermissionDeniedError
from ..store.histories import Unit


class MixedSource:
    """Read each unit with the source it names; the first source answers for capacity."""

    name = "mixed"

    def __init__(self, sources: Mapping[str, Source]) -> None:
        self.sources = dict(sources)
        self.first = next(iter(self.sources.values()))

    async def read(self, unit: Unit, context: UnitContext) -> None:
        await self.sources[unit.source].read(unit, context)

    def spare_capacity(self) -> int:
        return self.first.spare_capacity()

    def permission_hint(self, error: PermissionDeniedError) -> PermissionDeniedError:
        return self.first.permission_hint(error)
