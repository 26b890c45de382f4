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
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from types import FrameType


class Terminated(KeyboardInterrupt):
    """The run was stopped by SIGTERM."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextmanager
def _on_sigterm(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """Handle SIGTERM with ``handler`` for the block, then restore what was there.

    Only the main thread may set handlers; elsewhere SIGTERM stays the host
    program's business and the block runs unchanged.
    """
    try:
        before = signal.signal(signal.SIGTERM, handler)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def sigterm_as_interrupt() -> AbstractContextManager[None]:
    """Raise :class:`Terminated` on SIGTERM for the block (main thread only)."""
    return _on_sigterm(_raise_terminated)


@dataclass(slots=True)
class SigtermWatch:
    """Whether SIGTERM arrived while the loop ran (it then cancelled the main task)."""

    seen: bool = False

    def cancelling_this_task(self) -> AbstractContextManager[None]:
        """For the block, SIGTERM cancels the current task (call inside the loop).

        As asyncio's own Ctrl-C handler does: the handler runs between two bytecodes,
        so it only notes the signal and asks the loop, thread-safely, to cancel.
        """
        loop, task = asyncio.get_running_loop(), asyncio.current_task()

        def cancel(signum: int, frame: FrameType | None) -> None:
            self.seen = True
            if task is not None:
                loop.call_soon_threadsafe(task.cancel)

        return _on_sigterm(cancel)
