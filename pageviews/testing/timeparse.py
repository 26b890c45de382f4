"""Lenient time parsing in the manner of Canvas's `CanvasTime.try_parse`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)

# A few non-ISO forms `Time.zone.parse` also accepts; ISO-8601 goes through fromisoformat.
_FORMATS: Final = (
    "%Y-%m-%d %H:%M:%S %z",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%d %b %Y",
    "%b %d %Y",
    "%d %B %Y",
    "%B %d %Y",
)


def parse_canvas_time(value: str | None) -> datetime | None:
    """Parse `value` as Canvas does, or return None when it does not parse.

    A value without an offset is read in the fake's time zone, UTC (docs/canvas.md#time-bounds).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        for fmt in _FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
            except ValueError:
                continue
            break
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def epoch_us(moment: datetime) -> int:
    """Return an aware datetime as whole epoch microseconds, exactly (no float)."""
    return (moment - _EPOCH) // _MICROSECOND


def to_iso_millis(millis: int) -> str:
    """Format epoch milliseconds as pv4 bookmarks carry them: `...HH:MM:SS.mmmZ`."""
    stamp = _EPOCH + timedelta(milliseconds=millis)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"
