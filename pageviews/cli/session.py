"""Running a harvest from the command line: a client on a fresh session, progress, signals."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

import aiohttp
import anyio

from ..canvas.client import CanvasClient
from ..engine import Progress
from ..errors import CanvasUnreachableError, PageviewsError
from ..gctune import fewer_collections
from ..interrupts import SigtermWatch, Terminated
from ..progress import log_progress, show_progress
from .invocation import Invocation
from .shell import json_lines, logging_for

T = TypeVar("T")
Job = Callable[[CanvasClient, Progress], Awaitable[T]]


def run_job(inv: Invocation, job: Job[T]) -> tuple[T, bool]:
    """Run ``job`` to its end; return its result and whether a SIGTERM came after its last await.

    A SIGTERM before then cancels the job and raises :class:`Terminated`; Canvas out of
    reach says where what was harvested is kept.
    """
    sigterm = SigtermWatch()

    async def run() -> T:
        with sigterm.cancelling_this_task():
            return await with_client(inv, job)

    try:
        with fewer_collections(), logging_for(inv):
            return anyio.run(run), sigterm.seen
    except asyncio.CancelledError:
        if sigterm.seen:
            raise Terminated from None
        raise
    except CanvasUnreachableError as exc:
        store = inv.options.state
        if not store.exists():
            raise
        raise CanvasUnreachableError(
            f"{exc}; what was harvested is kept in {store}: run the same command again to resume"
        ) from None


async def with_client(inv: Invocation, job: Job[T]) -> T:
    """Run ``job`` with a client on a fresh session, showing progress on a terminal.

    With ``--log-format json`` the same counters and estimate go out as a JSON line
    every ``--progress-every`` seconds instead.
    """
    progress = Progress()
    connector = aiohttp.TCPConnector(limit=inv.concurrency + 4)
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        client = CanvasClient(
            session,
            inv.base_url,
            inv.token,
            retry=inv.retry,
            concurrency=inv.concurrency,
            timeout=inv.timeout,
            max_body=inv.max_body,
        )
        done = anyio.Event()
        counters = (progress, client.stats, client.gate, sys.stderr, done)
        if inv.quiet:
            return await job(client, progress)
        if json_lines():
            display = partial(log_progress, *counters, inv.progress_every)
        elif sys.stderr.isatty():
            display = partial(show_progress, *counters)
        else:
            return await job(client, progress)
        failure: PageviewsError | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(display)
            try:
                result = await job(client, progress)
            except PageviewsError as exc:
                # Raised outside the task group, so it is not wrapped in an ExceptionGroup.
                failure = exc
            finally:
                done.set()
    if failure is not None:
        raise failure
    return result
