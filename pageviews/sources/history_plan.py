"""Which source reads which seconds, and the History API's month arithmetic. Pure.

Hosted Canvas's list endpoint serves about the last 30 days; older months come
from the PageView History API in whole months, up to about 12 months back
(docs/canvas.md#retention, docs/canvas.md#history-api). Intervals are whole
seconds, both ends included, as UTC ``YYYY-MM-DDTHH:MM:SSZ`` strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal

from ..coverage import Interval
from ..errors import UsageError
from ..timerange import canvas_timestamp

Mode = Literal["auto", "never", "only"]
MODES: Final = ("auto", "never", "only")
#: How far back the History API reaches, in whole months (docs/canvas.md#history-api).
HISTORY_MONTHS: Final = 12
#: Users one batch query may name (docs/canvas.md#history-api).
BATCH_USERS: Final = 10
#: The list window is taken this much shorter than configured: Canvas's clock and ours
#: differ, and a second the list no longer serves must come from history.
SEAM_MARGIN: Final = timedelta(hours=1)
#: How recent a view ``auto`` reads from the list endpoint even when history reads the
#: rest: how soon a view reaches an export is not documented, the list shows it at once.
HISTORY_LAG: Final = timedelta(days=1)
_SECOND: Final = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class SourcePlan:
    """A range cut by source: what the list reads, what history reads, what neither can."""

    listed: Interval | None
    history: Interval | None
    unread: Interval | None


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def list_start(now: datetime, window_days: int, margin: timedelta = SEAM_MARGIN) -> str:
    """The oldest whole second the list endpoint is trusted to serve at ``now``."""
    edge = now.astimezone(UTC) - timedelta(days=window_days) + margin
    # Round up: the part-second before it may already be gone from the list.
    whole = edge.replace(microsecond=0)
    return canvas_timestamp(whole if whole == edge else whole + _SECOND)


def history_reach(now: datetime, months: int = HISTORY_MONTHS) -> date:
    """The first day of the oldest month the History API still serves."""
    total = now.year * 12 + now.month - 1 - months
    return date(total // 12, total % 12 + 1, 1)


def check_reach(start: datetime, now: datetime, mode: Mode) -> None:
    """Refuse, before any request, a range history cannot reach (auto and only)."""
    if mode == "never":
        return
    reach = history_reach(now)
    if start.astimezone(UTC).date() < reach:
        raise UsageError(
            f"the range starts before {reach.isoformat()}: Canvas's page-view history "
            f"reaches only {HISTORY_MONTHS} months back (whole months); use a later "
            "--start_time, or --history never to read only what the list endpoint serves"
        )


def plan_sources(want: Interval, now: datetime, mode: Mode, window_days: int) -> SourcePlan:
    """Cut ``want`` between the list endpoint and history, as ``mode`` says.

    ``auto`` reads a range the list endpoint still serves from it alone. A range
    reaching past the list's window needs history, which then reads all it surely
    holds (everything but the last day, :data:`HISTORY_LAG`): one job serves ten
    users' months, where the list endpoint charges every user a page or more.
    """
    start, end = want
    if mode == "only":
        return SourcePlan(None, want, None)
    # Reading with the list alone, say exactly where its window ends; planning a seam,
    # leave the list a margin so no second falls between the sources.
    edge = list_start(now, window_days, timedelta(0) if mode == "never" else SEAM_MARGIN)
    if start >= edge:
        return SourcePlan(want, None, None)
    if mode == "never":
        return SourcePlan(want, None, (start, min(end, canvas_timestamp(_at(edge) - _SECOND))))
    fresh = max(edge, list_start(now, 0, -HISTORY_LAG))
    older = (start, min(end, canvas_timestamp(_at(fresh) - _SECOND)))
    return SourcePlan((fresh, end) if end >= fresh else None, older, None)


def months_of(interval: Interval) -> tuple[date, date]:
    """The History API's ``start_date`` and exclusive ``end_date`` covering ``interval``."""
    first, last = _at(interval[0]).date(), _at(interval[1]).date()
    after = last.year * 12 + last.month  # the month after the last, 0-based months
    return first.replace(day=1), date(after // 12, after % 12 + 1, 1)


def month_edges(start: date, end: date) -> list[date]:
    """Every first-of-month from ``start`` to ``end``, both included."""
    edges = [start]
    while edges[-1] < end:
        day = edges[-1]
        total = day.year * 12 + day.month
        edges.append(date(total // 12, total % 12 + 1, 1))
    return edges


def clip_to_months(interval: Interval, start: date, end: date) -> Interval:
    """The seconds of ``interval`` within the months ``[start, end)``."""
    lo = canvas_timestamp(datetime(start.year, start.month, 1, tzinfo=UTC))
    hi = canvas_timestamp(datetime(end.year, end.month, 1, tzinfo=UTC) - _SECOND)
    return max(interval[0], lo), min(interval[1], hi)


Step = Literal["wait", "download", "split", "restart", "fail"]
#: The failure that asks for a smaller job (a result over about 500 MB,
#: docs/canvas.md#history-api).
SIZE_LIMIT: Final = "RESULT_SIZE_LIMIT_EXCEEDED"


def next_step(status: object, error_code: object, restarts: int, max_restarts: int = 3) -> Step:
    """What to do after a poll said ``status`` (running is also called processing).

    See docs/canvas.md#history-api.
    """
    if status == "finished":
        return "download"
    if status == "failed":
        if error_code == SIZE_LIMIT:
            return "split"
        return "restart" if restarts < max_restarts else "fail"
    return "wait"


def halves(
    users: tuple[int, ...], start: date, end: date
) -> list[tuple[tuple[int, ...], date, date]]:
    """Split a job that was too large: fewer users first, then fewer months; [] if unsplittable."""
    if len(users) > 1:
        half = len(users) // 2
        return [(users[:half], start, end), (users[half:], start, end)]
    edges = month_edges(start, end)
    if len(edges) <= 2:
        return []
    middle = edges[len(edges) // 2]
    return [(users, start, middle), (users, middle, end)]


def filtered_users(warnings: object) -> set[int]:
    """Users a poll's ``USER_FILTERED`` warnings name, as local ids (docs/canvas.md#history-api)."""
    found: set[int] = set()
    if not isinstance(warnings, list):
        return found
    for warning in warnings:
        if not isinstance(warning, dict) or warning.get("code") != "USER_FILTERED":
            continue
        for key in ("filtered_users", "user_ids"):
            ids = warning.get(key)
            if isinstance(ids, list):
                found.update(int(i) % 10**13 for i in ids if str(i).isdigit())
        message = str(warning.get("message") or "")
        tail = message.rsplit(":", 1)[-1]
        found.update(
            int(part) % 10**13 for part in tail.replace(",", " ").split() if part.isdigit()
        )
    return found
