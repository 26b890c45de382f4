"""What a course's reports can promise: its warnings, its notes and where each day came from.

One function, :func:`course_notes`, says it for the single-course command, the
batch and the library alike. It reads the course's users' coverage (which
seconds each source read completely, and when) against the range:

- history, and the list endpoint within its window (about 30 days back from the
  moment it was read, docs/canvas.md#late-views), are sources to trust;
- the list endpoint further back may have left views out on hosted Canvas
  (a self-hosted Canvas keeps them all, and a run cannot tell which it read);
- seconds no source covered were not read.

Day by day (in the range's zone) a course is then read from ``history``, the
``list endpoint``, both, the ``list endpoint past its window``, or ``not read``;
only the last two draw warnings. Pure: no I/O, the clock passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from .coverage import Interval, missing, union
from .sources.history_plan import list_start
from .timerange import TimeRange, canvas_timestamp

HISTORY = "history"
LISTED = "list endpoint"
BOTH = "history and list endpoint"
PAST_WINDOW = "list endpoint past its window"
NOT_READ = "not read"
LATER = "after the harvest"  # days after the run's pinned end: nothing to read yet

#: Page views can become visible this long after they happen (docs/canvas.md#late-views).
LATE_VIEWS = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Read:
    """A user's seconds ``[start, end]`` read completely by ``source`` at ``read_at``."""

    start: str
    end: str
    source: str  # "list" or "history"
    read_at: str


@dataclass(frozen=True, slots=True)
class DaySpan:
    """Days in a row read the same way, and their page views (None when not counted)."""

    first: date
    last: date
    source: str
    views: int | None = None

    def to_json(self) -> dict[str, object]:
        """Plain JSON data."""
        return {
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "source": self.source,
            "views": self.views,
        }


@dataclass(frozen=True, slots=True)
class CourseNotes:
    """Warnings (views that may be missing), notes (plain facts) and the days' sources."""

    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    days: tuple[DaySpan, ...] = ()


def list_window_warning(seconds: Interval, window_days: int) -> str:
    """The warning for seconds read only from the list endpoint, past its window."""
    return (
        f"page views from {seconds[0]} through {seconds[1]} may be missing on hosted Canvas, "
        f"whose list endpoint serves only the last {window_days} days and silently leaves "
        "older ones out (a self-hosted Canvas keeps them all); --history auto reads them "
        "from Canvas's page-view history"
    )


def late_views_note(time_range: TimeRange, now: datetime) -> list[str]:
    """Say plainly when the range reaches the last hour, whose views may still arrive."""
    if time_range.end <= now - LATE_VIEWS:
        return []
    pinned = time_range.clamp_end(now).end
    return [
        f"the range reaches into the last hour (up to {canvas_timestamp(pinned)}): Canvas "
        "logs page views with a delay of up to minutes, so views of the last minutes may "
        "still appear; a later run over the same range picks them up"
    ]


def course_notes(
    time_range: TimeRange,
    now: datetime,
    reads: Iterable[Read],
    *,
    window_days: int | None,
    per_day: Sequence[int] | None = None,
    users: int = 1,
) -> CourseNotes:
    """What the reports of a course over ``time_range``, harvested at ``now``, can promise.

    ``reads`` is the coverage of the course's users; ``window_days`` the list
    endpoint's window (None: this Canvas's list keeps every view); ``per_day`` the
    views of each day of the range (in its zone), when counted; ``users`` how many
    were read.
    """
    notes = late_views_note(time_range, now)
    if users == 0:
        return CourseNotes(notes=tuple(notes))
    want = (time_range.start_utc, time_range.clamp_end(now).end_utc)
    history, listed, past = [], [], []
    for read in reads:
        part = (max(read.start, want[0]), min(read.end, want[1]))
        if part[0] > part[1]:
            continue
        if read.source != "list":
            history.append(part)
            continue
        if window_days is None:
            listed.append(part)
            continue
        edge = list_start(datetime.fromisoformat(read.read_at), window_days, timedelta(0))
        if part[1] >= edge:
            listed.append((max(part[0], edge), part[1]))
        if part[0] < edge:
            past.append((part[0], min(part[1], _before(edge))))
    trusted = union(history + listed)
    doubtful = [gap for span in union(past) for gap in missing(trusted, span)]
    unread = missing(trusted + doubtful, want)
    sources = {HISTORY: union(history), LISTED: union(listed)}
    zone = time_range.start.tzinfo or UTC
    labels = [
        _label(day, zone, want, sources, doubtful, unread)
        for day in _days(time_range.start.date(), time_range.end.date())
    ]
    days = _spans(time_range.start.date(), labels, per_day)
    warnings = []
    if doubtful and window_days is not None:
        warnings.append(list_window_warning((doubtful[0][0], doubtful[-1][1]), window_days))
    if unread:
        warnings.append(
            f"page views from {unread[0][0]} through {unread[-1][1]} were not read: no source "
            "covered them for this course's users"
        )
    if any(span.source in (HISTORY, BOTH) for span in days):
        notes.append("sources: " + "; ".join(_describe(span) for span in days))
    return CourseNotes(tuple(warnings), tuple(notes), days)


def _before(stamp: str) -> str:
    return canvas_timestamp(datetime.fromisoformat(stamp) - timedelta(seconds=1))


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _meets(intervals: Sequence[Interval], lo: str, hi: str) -> bool:
    return any(start <= hi and end >= lo for start, end in intervals)


def _label(
    day: date,
    zone: tzinfo,
    want: Interval,
    sources: dict[str, list[Interval]],
    doubtful: Sequence[Interval],
    unread: Sequence[Interval],
) -> str:
    start = datetime.combine(day, time(), zone)
    lo = max(canvas_timestamp(start), want[0])
    hi = min(_before(canvas_timestamp(start + timedelta(days=1))), want[1])
    if lo > hi:
        return LATER
    if _meets(unread, lo, hi):
        return NOT_READ
    if _meets(doubtful, lo, hi):
        return PAST_WINDOW
    found = [name for name, spans in sources.items() if _meets(spans, lo, hi)]
    return BOTH if len(found) == 2 else found[0] if found else NOT_READ


def _spans(
    first: date, labels: Sequence[str], per_day: Sequence[int] | None
) -> tuple[DaySpan, ...]:
    spans: list[DaySpan] = []
    for offset, label in enumerate(labels):
        day = first + timedelta(days=offset)
        views = per_day[offset] if per_day is not None and offset < len(per_day) else None
        if spans and spans[-1].source == label:
            last = spans[-1]
            total = None if last.views is None or views is None else last.views + views
            spans[-1] = DaySpan(last.first, day, label, total)
        else:
            spans.append(DaySpan(day, day, label, views))
    return tuple(spans)


#: How a note says where a span of days came from.
_FROM = {
    HISTORY: "from history",
    LISTED: "from the list endpoint",
    BOTH: "from history and the list endpoint",
    PAST_WINDOW: "from the list endpoint past its window",
    NOT_READ: "not read",
    LATER: "after the harvest",
}


def _describe(span: DaySpan) -> str:
    days = span.first.isoformat()
    if span.last != span.first:
        days += f" to {span.last.isoformat()}"
    views = "" if span.views is None else f" ({span.views:,} page view{'s' * (span.views != 1)})"
    return f"{_FROM[span.source]} for {days}{views}"
