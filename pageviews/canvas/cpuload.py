"""How busy the harvester's thread has been lately: more requests in flight cannot help a
client whose own CPU is the bottleneck.

Cutting a long chain into windows (:mod:`pageviews.sources.splitting`) buys wall
time when the chain waits on round trips; it costs requests (every window ends on
its own page, and the pages already read are read again). When the event loop's
thread is already saturated, as against a Canvas that answers at once, the extra
requests only queue behind the work in hand: a quarter more requests and CPU for a
run no faster. The load is the share of wall time the thread spent on a CPU, or
waiting for one, over the last completed window of :data:`WINDOW` seconds. The
waiting counts: on a machine shared with other work the thread may get less than a
core, and more requests would not get it more. The readings are handed to
:meth:`CpuLoad.observe`, so the rule is tested alone; :func:`cpu_demand` reads them
where Linux keeps them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

#: Seconds of wall time one reading of the load spans: long enough to smooth a
#: page's burst of parsing and storing, short enough to follow a run's phases.
WINDOW = 0.5
#: Until the first window has passed, the share so far counts once this much has: a
#: run's first pages, where most long chains show, come within half a second.
FIRST = 0.1
#: The thread's clock is read at most this often (a file read on Linux).
SAMPLE = 0.05
#: The load at or above which the thread counts as CPU bound. Against a Canvas that
#: answers at once it stays above nine tenths; where round trips bind (50 ms, 32 in
#: flight) it is about half when windows are cut.
SATURATED = 0.8
_SCHEDSTAT = Path("/proc/thread-self/schedstat")


def _schedstat() -> float:
    ran, waited = _SCHEDSTAT.read_bytes().split()[:2]
    return (int(ran) + int(waited)) / 1e9


def cpu_demand() -> Callable[[], float]:
    """A clock of the seconds the calling thread ran on a CPU or waited for one.

    Linux keeps both in ``/proc/thread-self/schedstat`` (nanoseconds run, and waiting
    on a run queue); elsewhere the process's CPU time stands in, which cannot see a
    core taken by other work.
    """
    try:
        _schedstat()
    except (OSError, ValueError):
        return time.process_time
    return _schedstat


class CpuLoad:
    """The thread's CPU demand as a share of wall time, over the last completed window."""

    def __init__(
        self,
        wall: Callable[[], float] = time.monotonic,
        demand: Callable[[], float] | None = None,
    ) -> None:
        self._wall, self._demand = wall, demand or cpu_demand()
        now = wall()
        self._since = (now, self._demand())
        self._read_at = now
        self._first = True
        self.share: float | None = None  # None until FIRST seconds have passed

    def observe(self, wall: float, demand: float) -> None:
        """Take a reading; a window that has passed gives the new share."""
        began_wall, began_demand = self._since
        elapsed = wall - began_wall
        if elapsed >= WINDOW:
            self.share = (demand - began_demand) / elapsed
            self._since, self._first = (wall, demand), False
        elif self._first and elapsed >= FIRST:
            self.share = (demand - began_demand) / elapsed

    def saturated(self) -> bool:
        """Whether the thread has lately been CPU bound (reads the clocks now and then)."""
        wall = self._wall()
        if wall - self._read_at >= SAMPLE:
            self._read_at = wall
            self.observe(wall, self._demand())
        return self.share is not None and self.share >= SATURATED
