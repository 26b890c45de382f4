"""Date parsing and time-window arithmetic. Pure: no clock is read here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import UsageError

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DAYS_AGO = re.compile(r"^-(\d{1,5})d$")
_ONE_SECOND = timedelta(seconds=1)


def parse_timezone(name: str) -> tzinfo:
    """Return the zone for an IANA name (``UTC``, ``America/Denver``)."""
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone {name!r} (use an IANA name such as UTC)") from None


def parse_bound(
    value: str, tz: tzinfo, *, end: bool, flag: str, now: datetime | None = None
) -> datetime:
    """Parse ``YYYY-MM-DD``, ISO 8601, ``today``, ``yesterday`` or ``-Nd`` into an aware datetime.

    A bare date is read in ``tz``; as an end bound it means the end of that day
    (inclusive, whole seconds, like Canvas's timestamps). A timestamp without an
    offset is read in ``tz`` too, since Canvas would read it in its own zone. The
    relative forms, for cron, name a day counted back from ``now``'s date in ``tz``
    (``-7d`` is seven days ago) and need ``now``.
    """
    text = value.strip()
    try:
        day = _relative_day(text.lower(), tz, now)
        if day is None and _DATE_ONLY.match(text):
            day = date.fromisoformat(text)
        if day is not None:
            moment = datetime.combine(day, time.max if end else time.min, tz)
            return moment.replace(microsecond=0)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{flag}: {value!r} is not a date (use YYYY-MM-DD, ISO 8601, today, yesterday or -Nd)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def _relative_day(text: str, tz: tzinfo, now: datetime | None) -> date | None:
    back = {"today": 0, "yesterday": 1}.get(text)
    if back is None:
        match = _DAYS_AGO.match(text)
        back = int(match.group(1)) if match else None
    if back is None or now is None:
        return None
    return now.astimezone(tz).date() - timedelta(days=back)


@dataclass(frozen=True, slots=True)
class TimeRange:
    """An inclusive range ``[start, end]`` of aware datetimes, in whole seconds.

    A page view is in the range when the second Canvas shows for it lies from the
    start's second through the end's second: at full precision, from the start's
    second up to, not including, the second after the end's.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("TimeRange needs aware datetimes")

    @property
    def start_utc(self) -> str:
        """The start as Canvas's ``YYYY-MM-DDTHH:MM:SSZ``."""
        return canvas_timestamp(self.start)

    @property
    def end_utc(self) -> str:
        """The end as Canvas's ``YYYY-MM-DDTHH:MM:SSZ``."""
        return canvas_timestamp(self.end)

    @property
    def label(self) -> str:
        """``<start>-<end>`` dates in the range's own zone, as report names use."""
        return f"{self.start.date().isoformat()}-{self.end.date().isoformat()}"

    def clamp_end(self, now: datetime) -> TimeRange:
        """Pin an end in the future to the last whole second before ``now``.

        Paging stays stable while views arrive, and the pinned second is over: a
        range includes its end's whole second, which must not still be running.
        """
        last = now.astimezone(self.end.tzinfo).replace(microsecond=0) - _ONE_SECOND
        if self.end <= last:
            return self
        return TimeRange(self.start, max(last, self.start))

    def split(self, parts: int) -> list[TimeRange]:
        """Cut into ``parts`` windows, newest first, that overlap by one second.

        Canvas's bounds are inclusive on the database backend and unverified on
        pv4 (docs/canvas.md#time-bounds), so neighbours share their edge second; the store
        de-duplicates by id, and no record can fall between two windows.
        """
        if parts <= 1 or self.end - self.start < parts * _ONE_SECOND:
            return [self]
        step = (self.end - self.start) / parts
        edges = [self.start + step * i for i in range(parts)] + [self.end]
        edges = [e.replace(microsecond=0) for e in edges]
        windows = [TimeRange(edges[i], edges[i + 1]) for i in range(parts)]
        return windows[::-1]


def request_bounds(start: str, end: str) -> tuple[str, str]:
    """The ``start_time`` and ``end_time`` to send for the whole seconds ``[start, end]``.

    Canvas keeps page-view times finer than the whole seconds its JSON shows, and
    compares them at full precision (docs/canvas.md#subsecond-times): ``end_time=...:33Z`` leaves
    out a
    view at ``:33.4`` that shows as ``:33Z``. So the end sent is the next whole
    second; what that returns from the next second (a view at exactly ``:34.000``)
    is dropped locally, since it shows as ``:34Z``.
    """
    return start, canvas_timestamp(datetime.fromisoformat(end) + _ONE_SECOND)


def canvas_timestamp(moment: datetime) -> str:
    """Format as UTC ``YYYY-MM-DDTHH:MM:SSZ`` (explicit offset: docs/canvas.md#time-bounds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize_timestamp(value: str) -> str:
    """Return Canvas's ``created_at`` as UTC ``YYYY-MM-DDTHH:MM:SSZ``.

    Canvas already sends that form (the fast path); any other offset is converted
    so that stored timestamps sort as strings.
    """
    if len(value) == 20 and value[-1] == "Z":
        return value
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return canvas_timestamp(moment)
