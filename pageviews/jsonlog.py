"""``--log-format json``: one JSON object per line on stderr, for log collectors."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson


class JsonFormatter(logging.Formatter):
    """Format a record as ``{"time", "level", "message", ...extra fields}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
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


def json_handler(stream: TextIO | None = None) -> logging.Handler:
    """A handler writing JSON lines to ``stream`` (stderr by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    return handler
