"""``-v`` logging: every line timestamped (UTC) and tagged with the unit of work.

A log read the morning after a cron run must say when each step happened and
which user's fetch unit it belongs to, among many units running side by side.
The unit lives in a context variable: each task sets it as it starts a unit, and
asyncio gives every task its own copy, so concurrent units never mix.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TextIO

#: The fetch unit the current task works on, e.g. ``user 42 2015-01-26T00:00:00Z..``.
current_unit: ContextVar[str | None] = ContextVar("pageviews_unit", default=None)


def unit_label(user_id: int, start: str, end: str) -> str:
    """How a fetch unit is named in log lines."""
    return f"user {user_id} {start}..{end}"


class _UnitFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        unit = current_unit.get()
        record.unit = f" [{unit}]" if unit else ""
        return True


@contextmanager
def log_verbosely(stream: TextIO) -> Iterator[None]:
    """For the block, send the library's INFO logs to ``stream``, timestamped and unit-tagged."""
    formatter = logging.Formatter(
        "%(asctime)s.%(msecs)03dZ pageviews%(unit)s: %(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(_UnitFilter())
    with logging_to(handler):
        yield


@contextmanager
def logging_to(handler: logging.Handler) -> Iterator[None]:
    """For the block, send the library's INFO logs to ``handler``; then take it away."""
    logger = logging.getLogger("pageviews")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
