"""``--log-format json``: one JSON object per line on stderr, for log collectors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from .logsetup import current_unit, logging_to


class JsonFormatter(logging.Formatter):
    """Format a record as ``{"time", "level", "message", ...extra fields}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        unit = current_unit.get()
        if unit:
            entry["unit"] = unit
        event = getattr(record, "event", None)
        if isinstance(event, dict):
            entry.update(event)
        return orjson.dumps(entry).decode()


def emit(stream: TextIO, message: str, level: str = "info", **fields: Any) -> None:
    """Write one event as a JSON line (the summary, an error) outside of logging."""
    entry = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "message": message,
        **fields,
    }
    stream.write(orjson.dumps(entry, default=str).decode() + "\n")
    stream.flush()


@contextmanager
def log_json(stream: TextIO | None = None) -> Iterator[None]:
    """For the block, send the library's INFO logs to ``stream`` as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    with logging_to(handler):
        yield
