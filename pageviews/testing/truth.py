"""Ground truth for harvester reports, computed straight from the world's data.

Deliberately shares no code with the server's request path: the roster filter,
time filter and course matching are written again here from the contract.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, NamedTuple

from .records import Enrollment
from .world import World

# Contract §7 fallback: the path names the course exactly; 169 must not match 1693.
_COURSE_URL: Final = re.compile(r"^[a-z]+://[^/?#]+/(?:api/v1/)?courses/(\d+)(?:[/?#]|$)")
_ALWAYS_HIDDEN: Final = frozenset({"rejected", "completed", "deleted"})
_STAFF: Final = frozenset({"TeacherEnrollment", "TaEnrollment", "DesignerEnrollment"})
MAX_PER_PAGE: Final = 200  # page views: docs/canvas.md#pagination


class PageViewRow(NamedTuple):
    """One page view of a report."""

    user_id: int
    url: str
    created_at: str  # as served
    id: str
    interaction_seconds: float | None


@dataclass(frozen=True, slots=True)
class ExpectedReports:
    """Hold the reports a correct harvest of one course and range must produce."""

    roster: list[int]
    user_names: dict[int, str]
    records: list[PageViewRow]  # by user_id, created_at, id
    totals: list[tuple[str, int]]  # by count desc, url asc
    user_totals: list[tuple[int, str, int]]  # by user_id, count desc, url asc
    # The enrollment filter as the JSON reports record it: sorted names, or None for all.
    selection: dict[str, list[str] | None] = field(default_factory=dict)


def view_course(view: dict[str, Any]) -> int | None:
    """Return the course a served page view belongs to, or None."""
    links = view.get("links")
    context = links.get("context") if isinstance(links, dict) else None
    if context is not None:
        return int(context) if view.get("context_type") == "Course" else None
    match = _COURSE_URL.match(view.get("url") or "")
    return int(match.group(1)) if match else None


def expected_reports(
    world: World,
    course_id: int,
    start: datetime,
    end: datetime,
    *,
    enrollment_types: Collection[str] | None = None,
    enrollment_states: Collection[str] | None = None,
    token: str | None = None,
) -> ExpectedReports:
    """Compute the expected reports; `token` None means the admin token.

    The roster is the course's enrollments filtered by type (None: all) and state
    (None: Canvas's default for the token), one entry per user, without the
    token's own user. Views count when they belong to the course and their full
    time (to the millisecond, as the world keeps it) falls in the whole seconds
    from ``start``'s second through ``end``'s second: start <= t < end + 1 s, both
    cut to the second. Each id counts once.
    """
    me = world.token_user(world.admin_token if token is None else token)
    roster = _roster(world, course_id, enrollment_types, enrollment_states, me)
    lo, hi = _window_ms(start, end)
    seen: set[str] = set()
    rows: list[PageViewRow] = []
    for user_id in roster:
        store = world.views(user_id)
        for index, millis in enumerate(store.ms):
            if not lo <= millis < hi:
                continue
            view = store.to_json(index, user_id, world.tables)
            if view_course(view) != course_id or view["id"] in seen:
                continue
            seen.add(view["id"])
            seconds = view["interaction_seconds"]
            rows.append(PageViewRow(user_id, view["url"], view["created_at"], view["id"], seconds))
    rows.sort(key=lambda r: (r.user_id, r.created_at, r.id))
    totals = Counter(r.url for r in rows)
    per_user = Counter((r.user_id, r.url) for r in rows)
    return ExpectedReports(
        selection={
            "enrollment_types": sorted(enrollment_types) if enrollment_types else None,
            "enrollment_states": sorted(enrollment_states) if enrollment_states else None,
        },
        roster=roster,
        user_names={uid: world.users[uid].name for uid in roster},
        records=rows,
        totals=sorted(totals.items(), key=lambda t: (-t[1], t[0])),
        user_totals=sorted(
            ((uid, url, n) for (uid, url), n in per_user.items()),
            key=lambda t: (t[0], -t[2], t[1]),
        ),
    )


def batch_roster(
    world: World,
    course_ids: Iterable[int],
    *,
    enrollment_types: Collection[str] | None = None,
    enrollment_states: Collection[str] | None = None,
    token: str | None = None,
) -> list[int]:
    """Return the users the courses' rosters hold, ascending, each once.

    Each course's roster is the one `expected_reports` uses; a course id the world
    lacks (a 404 in a batch) adds nobody.
    """
    me = world.token_user(world.admin_token if token is None else token)
    users: set[int] = set()
    for course_id in course_ids:
        if course_id in world.courses:
            users.update(_roster(world, course_id, enrollment_types, enrollment_states, me))
    return sorted(users)


def fewest_page_view_requests(
    world: World,
    user_ids: Iterable[int],
    start: datetime,
    end: datetime,
    *,
    per_page: int = 100,
    pagination: Literal["bookmark", "numeric"] = "bookmark",
) -> int:
    """Return the fewest page-view requests that read every user's range once.

    Each user is fetched once, in ``per_page`` pages, over the views in the range
    (all contexts, the window `expected_reports` uses). With bookmarks (pv4) every
    non-empty page has a next link, so a user's chain ends on an empty page:
    n views take ceil(n / per_page) + 1 requests, as a short page is no end
    (docs/canvas.md#end-of-list). The fake's numbered pages end on the page with the oldest view:
    max(1, ceil(n / per_page)). Late views and a retention limit are not counted.
    """
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be 1..{MAX_PER_PAGE}")
    lo, hi = _window_ms(start, end)
    total = 0
    for user_id in dict.fromkeys(user_ids):
        millis = world.views(user_id).ms
        pages = -(-(bisect_left(millis, hi) - bisect_left(millis, lo)) // per_page)
        total += pages + 1 if pagination == "bookmark" else max(1, pages)
    return total


def _roster(
    world: World,
    course_id: int,
    enrollment_types: Collection[str] | None,
    enrollment_states: Collection[str] | None,
    me: int | None,
) -> list[int]:
    """The course's users by type (None: all) and state (None: Canvas's default), without ``me``."""
    matching = roster_enrollments(world, course_id, enrollment_types, enrollment_states, me)
    return sorted({e.user_id for e in matching})


def roster_enrollments(
    world: World,
    course_id: int,
    enrollment_types: Collection[str] | None,
    enrollment_states: Collection[str] | None,
    me: int | None,
) -> list[Enrollment]:
    """The enrollments a roster request returns: by type and state, without ``me``'s."""
    records = world.enrollment_records(course_id)
    if enrollment_states is None:
        # active_or_pending; all_active_or_pending (inactive too) for read_as_admin
        # callers: account admins and the course's active teachers, TAs, designers.
        reads_as_admin = me == world.admin_user_id or any(
            e.user_id == me and e.type in _STAFF and e.workflow_state == "active" for e in records
        )
        hidden = _ALWAYS_HIDDEN if reads_as_admin else _ALWAYS_HIDDEN | {"inactive"}
        states = {e.workflow_state for e in records} - hidden
    else:
        states = set(enrollment_states)
    return [
        e
        for e in records
        if e.workflow_state in states
        and (enrollment_types is None or e.type in enrollment_types)
        and e.user_id != me
    ]


def _window_ms(start: datetime, end: datetime) -> tuple[int, int]:
    """Epoch-ms bounds [lo, hi): ``start``'s second through the end of ``end``'s second."""
    lo = _epoch_ms(_aware(start).replace(microsecond=0))
    return lo, _epoch_ms(_aware(end).replace(microsecond=0) + timedelta(seconds=1))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _epoch_ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
