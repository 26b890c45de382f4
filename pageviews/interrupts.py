"""SIGTERM handled as Ctrl-C is: the store stays consistent, no temporary report is left.

Outside the event loop SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) at
once, so ``with`` blocks unwind: a store transaction rolls back, the report writer
removes its temporary files. Inside the event loop an exception raised at a random
point would tear asyncio's own bookkeeping, so there SIGTERM cancels the run's main
task instead, exactly as asyncio treats Ctrl-C, and :class:`Terminated` is raised
once the loop has unwound. A cancellation takes effect at the next ``await``: a
signal that lands while a harvest writes its reports lets them finish first.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class Terminated(KeyboardInterrupt):
    """The run was stopped by SIGTERM."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Raise :class:`Terminated` on SIGTERM for the block (main thread only)."""
    try:
        before = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: SIGTERM stays the host program's business
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


@dataclass(slots=True)
class SigtermWatch:
    """Whether SIGTERM arrived while the loop ran (it then cancelled the main task)."""

    seen: bool = False

    @contextmanager
    def cancelling_this_task(self) -> Iterator[None]:
        """For the block, SIGTERM cancels the current task (call inside the loop).

        As asyncio's own Ctrl-C handler does: the handler runs between two bytecodes,
        so it only notes the signal and asks the loop, thread-safely, to cancel.
        """
        loop, task = asyncio.get_running_loop(), asyncio.current_task()

        def cancel(signum: int, frame: object) -> None:
            self.seen = True
            if task is not None:
                loop.call_soon_threadsafe(task.cancel)

        try:
            before = signal.signal(signal.SIGTERM, cancel)
        except ValueError:  # not the main thread
            yield
            return
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, before)
