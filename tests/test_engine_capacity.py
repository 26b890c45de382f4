"""The capacity the engine offers a source for cutting a chain into windows."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from pageviews.engine import Dispatch, Engine, Progress, UnitContext
from pageviews.errors import PermissionDeniedError
from pageviews.store import Unit, open_store

START, END = "2015-01-26T00:00:00Z", "2015-03-12T23:59:59Z"
SPARE = 7


class _Source:
    """Reports the spare capacity each unit's read was offered; the first reads wait."""

    name = "list"

    def __init__(self, released: anyio.Event) -> None:
        self.released = released
        self.offered: list[int] = []

    async def read(self, unit: Unit, context: UnitContext) -> None:
        await self.released.wait()
        self.offered.append(context.spare_capacity())

    def spare_capacity(self) -> int:
        return SPARE

    async def permission_hint(self, error: PermissionDeniedError) -> PermissionDeniedError | None:
        return None


@pytest.mark.anyio
async def test_no_capacity_is_spare_while_units_wait_for_a_worker(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.sqlite", "https://c.example.edu")
    run = store.open_run("key", START, END, END)
    released = anyio.Event()
    source = _Source(released)
    engine = Engine(store, run, source, workers=2, progress=Progress())

    async def produce(dispatch: Dispatch) -> None:
        # Two units reach the two workers; three wait in the queue until they are released.
        await dispatch([Unit(n, n, START, END, "list") for n in range(1, 6)])
        released.set()

    await engine.run_all(produce)
    store.close()
    # Every read but the last began with units still queued: a worker takes those next.
    assert source.offered == [0, 0, 0, 0, SPARE]
