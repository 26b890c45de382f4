"""The least work any correct harvester must do, and the fastest it could possibly do it.

Pure functions over the fake's world and throttle model: the benchmark compares
each measured run with :func:`lower_bound`.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from pageviews.testing import Enrollment, ThrottleConfig, World
from pageviews.testing.records import HIDDEN_STATES_FOR_ADMINS
from pageviews.testing.timeparse import epoch_us

#: Canvas's page size for these endpoints (``per_page`` is clamped to 100).
PER_PAGE = 100


@dataclass(frozen=True, slots=True)
class Workload:
    """The minimal set of requests a correct harvest of one course and range makes."""

    requests: int  # users/self + course + enrollment pages + page-view pages
    items: int  # records those requests serve (enrollments and page views)
    enrollment_pages: int
    page_view_pages: int
    views_in_range: int  # every context: the API returns them all
    unsplittable_chain: int  # requests in series even with unlimited splitting
    user_chain: int  # requests in series when no user is split in time

    def cost(self, throttle: ThrottleConfig) -> float:
        """Total throttle cost of the minimal requests under the fake's cost model."""
        return self.requests * throttle.cost_base + self.items * throttle.cost_per_item


def user_pages(views: int) -> int:
    """Page-view requests one user (or time window) needs for ``views`` records.

    pv4 sends ``rel="next"`` after every non-empty page, so the walk ends only on
    an empty page: ``ceil(views / 100)`` pages of data plus that final empty one.
    """
    return math.ceil(views / PER_PAGE) + 1


def admin_rows(
    world: World, course_id: int, enrollment_states: Collection[str] | None
) -> list[Enrollment]:
    """The course's enrollment rows as the admin token is served them, in roster order."""
    return [
        e
        for e in world.enrollment_records(course_id)
        if (
            e.workflow_state in enrollment_states
            if enrollment_states is not None
            else e.workflow_state not in HIDDEN_STATES_FOR_ADMINS
        )
    ]


def views_in_range(world: World, user_id: int, start: datetime, end: datetime) -> int:
    """A user's views in ``[start, end]``, every context (the API returns them all)."""
    # The range holds whole seconds: through the last microsecond of ``end``'s second.
    lo, hi = world.views(user_id).window(
        epoch_us(start), epoch_us(end.replace(microsecond=0)) + 999_999
    )
    return hi - lo


def minimal_workload(
    world: World,
    course_id: int,
    roster: Collection[int],
    start: datetime,
    end: datetime,
    enrollment_states: Collection[str] | None,
) -> Workload:
    """Count the minimal requests for ``roster`` (the truth's roster) in ``[start, end]``.

    Enrollment rows are counted as the admin token sees them (docs/canvas.md#roster:
    without ``state[]`` everything but rejected, completed and deleted).
    """
    rows = admin_rows(world, course_id, enrollment_states)
    enrollment_pages = max(1, math.ceil(len(rows) / PER_PAGE))
    listed_on: dict[int, int] = {}
    for index, enrollment in enumerate(rows):
        listed_on.setdefault(enrollment.user_id, index // PER_PAGE + 1)
    views: dict[int, int] = {}
    for user_id in roster:
        views[user_id] = views_in_range(world, user_id, start, end)
    pages = {user_id: user_pages(n) for user_id, n in views.items()}
    # Fully split, a user with views still needs a data page, then the empty page.
    shortest = {user_id: min(pages[user_id], 2) for user_id in roster}
    return Workload(
        requests=2 + enrollment_pages + sum(pages.values()),
        items=len(rows) + sum(views.values()),
        enrollment_pages=enrollment_pages,
        page_view_pages=sum(pages.values()),
        views_in_range=sum(views.values()),
        unsplittable_chain=max(listed_on[u] + shortest[u] for u in roster),
        user_chain=max(listed_on[u] + pages[u] for u in roster),
    )


def batch_workload(
    world: World,
    course_ids: Collection[int],
    users: Collection[int],
    start: datetime,
    end: datetime,
) -> Workload:
    """The minimal requests of a batch: every roster listed, each distinct user read once.

    ``users`` is the union of the rosters (``batch_roster``). users/self once, then
    per course its lookup and its enrollment pages; a user in five courses still
    needs only their own page-view chain. Chains assume rosters listed side by side.
    """
    enrollment_pages, items = 0, 0
    listed_on: dict[int, int] = {}
    for course_id in course_ids:
        rows = admin_rows(world, course_id, None)
        enrollment_pages += max(1, math.ceil(len(rows) / PER_PAGE))
        items += len(rows)
        for index, enrollment in enumerate(rows):
            page = index // PER_PAGE + 1
            listed_on[enrollment.user_id] = min(page, listed_on.get(enrollment.user_id, page))
    views = {u: views_in_range(world, u, start, end) for u in users}
    pages = {u: user_pages(n) for u, n in views.items()}
    return Workload(
        requests=1 + len(course_ids) + enrollment_pages + sum(pages.values()),
        items=items + sum(views.values()),
        enrollment_pages=enrollment_pages,
        page_view_pages=sum(pages.values()),
        views_in_range=sum(views.values()),
        unsplittable_chain=2 + max((listed_on[u] + min(pages[u], 2) for u in users), default=0),
        user_chain=2 + max((listed_on[u] + pages[u] for u in users), default=0),
    )


def bucket_headroom(throttle: ThrottleConfig) -> float:
    """Cost the bucket can absorb before the last request: ``hwm - up_front + its own cost``.

    The last request is admitted only while the level is below ``hwm - up_front``, and
    everything but its own cost (at least ``cost(0)``, pv4's empty last page) must be
    in the bucket by then: the rest of the cost has leaked out before it starts.
    """
    return throttle.hwm - throttle.up_front_cost + throttle.cost(0)


def bucket_in_flight_cap(throttle: ThrottleConfig) -> int:
    """Most requests the bucket admits at once, even when it is empty.

    Each request in flight holds ``up_front_cost``, and a request is refused when
    the level after its charge reaches ``hwm``: ``n * up_front < hwm``.
    """
    return max(1, math.ceil(throttle.hwm / throttle.up_front_cost) - 1)


@dataclass(frozen=True, slots=True)
class Bound:
    """A lower bound on wall time and the terms it is the maximum of (seconds)."""

    bucket: float
    in_flight: float
    chain: float

    @property
    def seconds(self) -> float:
        """The bound itself."""
        return max(self.bucket, self.in_flight, self.chain)

    @property
    def binding(self) -> str:
        """Which term sets the bound."""
        terms = {"bucket": self.bucket, "in-flight": self.in_flight, "chain": self.chain}
        return max(terms, key=terms.__getitem__)


def lower_bound(
    *,
    requests: int,
    latency: float,
    in_flight_cap: int,
    chain: int,
    total_cost: float = 0.0,
    headroom: float = 0.0,
    outflow: float = math.inf,
) -> Bound:
    """No harvest of this workload can finish sooner than the largest of three terms.

    - bucket: ``(total_cost - headroom) / outflow``. Every unit of cost goes into
      the leaky bucket, which leaks ``outflow`` per second; it may fill from empty
      to just below the high-water mark before refusing requests, and the last
      request still needs room for its up-front charge (``headroom`` is
      :func:`bucket_headroom`), so the rest must leak out while the harvest runs.
      (A request refunds its up-front charge when it settles, and each costs less
      than that charge, so the level never passes hwm for good.) Zero when
      throttling is off (``outflow`` inf).
    - in-flight: ``requests * latency / in_flight_cap``. Each request holds a place
      in flight for at least the latency (Little's law); the cap is the client's
      own concurrency, and with throttling also the bucket's up-front limit.
    - chain: ``chain * latency``. Some requests can only run one after another: the
      roster is bookmark-paged, so page k needs page k-1's next link, a user's
      first page-view request needs the roster page that lists them, and a user's
      pages (or one time window's) follow each other, ending on pv4's empty page.
      Splitting a user into windows shortens their chain, but one page cannot be
      split, so a user with views still costs two requests in series.
    """
    bucket = max(0.0, total_cost - headroom) / outflow if math.isfinite(outflow) else 0.0
    return Bound(
        bucket=bucket,
        in_flight=requests * latency / max(1, in_flight_cap),
        chain=chain * latency,
    )
