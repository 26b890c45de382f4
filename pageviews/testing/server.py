"""Run the fake Canvas on a local port: `serve(world, config)` yields a `FakeCanvas`."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

import anyio
from aiohttp import web

from .app import build_app
from .config import FakeConfig
from .history_jobs import JobBoard
from .observe import FakeStats, RequestRecord
from .throttle import LeakyBucket
from .world import World

# Stalled handlers are cancelled this long after shutdown begins.
_SHUTDOWN_TIMEOUT = 0.5


class FakeCanvas:
    """Hold a running fake's world, live config, buckets and request log."""

    def __init__(
        self, world: World, config: FakeConfig, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.world = world
        self.config = config
        self.clock = clock
        self.base_url = ""
        self.requests: list[RequestRecord] = []
        self.stats = FakeStats()
        self.buckets: dict[str, LeakyBucket] = {}
        self.fault_counts: dict[str, int] = {}
        self.in_flight = 0
        self.stalled = 0  # responses cut short that send nothing more (HistoryConfig.cut_results)
        # History export jobs (docs/canvas.md#history-api): state, not observations, so kept by
        # resets.
        self.history_jobs = JobBoard(world.spec.seed)
        self.jitter = random.Random(world.spec.seed)
        self._recorded = anyio.Event()
        #: Set while page-view lists are held (:meth:`holding_page_views`).
        self.held: anyio.Event | None = None

    @contextmanager
    def holding_page_views(self) -> Iterator[None]:
        """Answer no page-view list until the block ends: harvests stay mid-run meanwhile."""
        event = self.held = anyio.Event()
        try:
            yield
        finally:
            self.held = None
            event.set()

    def record(self, record: RequestRecord) -> None:
        """Log a finished request and wake whoever waits on the log."""
        self.requests.append(record)
        self.stats.add(record)
        self._wake()

    def stall_began(self) -> None:
        """Count a response that will send nothing more, and wake whoever waits."""
        self.stalled += 1
        self._wake()

    def _wake(self) -> None:
        self._recorded.set()
        self._recorded = anyio.Event()

    async def wait_until(self, condition: Callable[[FakeCanvas], bool]) -> None:
        """Return once ``condition(self)`` holds, checking after every request (and stall)."""
        while not condition(self):
            await self._recorded.wait()

    def reset_observations(self) -> None:
        """Forget the request log, counters, buckets and per-URL fault counts."""
        self.requests.clear()
        self.stats = FakeStats()
        self.buckets.clear()
        self.fault_counts.clear()

    def url(self, path: str) -> str:
        """Return an absolute URL on the fake for `path`."""
        return self.base_url + path


@asynccontextmanager
async def serve(
    world: World,
    config: FakeConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[FakeCanvas]:
    """Serve `world` over HTTP until the block exits; port 0 picks a free port."""
    fake = FakeCanvas(world, FakeConfig() if config is None else config, clock=clock)
    runner = web.AppRunner(
        build_app(fake),
        handle_signals=False,
        access_log=None,
        shutdown_timeout=_SHUTDOWN_TIMEOUT,
        # A client that gives up (read timeout on a STALL) cancels its handler.
        handler_cancellation=True,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        fake.base_url = f"http://{host}:{bound[1]}"
        yield fake
    finally:
        await runner.cleanup()
