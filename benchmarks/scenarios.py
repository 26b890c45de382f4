"""The benchmark's scenarios: which world, latency, throttle and clients each one runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pageviews.canvas.client import DEFAULT_CONCURRENCY
from pageviews.testing import ENROLLMENT_STATES, ThrottleConfig

from .baseline import LABEL
from .fake import FakeSetup

COURSE_ID = 1693
# The world's whole span, so every generated view is in range.
RANGE_START = "2015-01-05"
RANGE_END = "2015-03-31"
START = datetime(2015, 1, 5, tzinfo=UTC)
END = datetime(2015, 3, 31, 23, 59, 59, tzinfo=UTC)

# Canvas's source defaults (maximum 800, hwm 600, outflow 10/s, up-front 50) with
# a per-record cost high enough that the bucket, not latency, sets the pace:
# about 0.4 units for a full page, so the minimal harvest costs ~1,430 units and
# must take at least ~83 s, against ~15 s that latency alone would allow.
THROTTLE = ThrottleConfig(cost_base=0.05, cost_per_item=0.0035)
#: Issue 10's tiny bucket: one request in flight with a full page nearly overruns it.
THROTTLE_TINY = ThrottleConfig(
    maximum=80.0,
    hwm=60.0,
    up_front_cost=10.0,
    outflow=3.0,
    cost_base=0.3,
    cost_per_item=0.01,
    status=429,
    retry_after=True,
)


@dataclass(frozen=True, slots=True)
class Client:
    """One harvester configuration to measure."""

    mode: str  # "pageviews", "static", "sequential" or "floor" (fetch and parse only)
    concurrency: int | None = None  # None: pageviews' default
    baseline: bool = False  # the code before the structural step (benchmarks.baseline)

    @property
    def label(self) -> str:
        """A short name for tables."""
        if self.baseline:
            return LABEL
        if self.mode == "static":
            return f"static-{self.concurrency}"
        if self.mode == "floor":
            return "fetch+parse"
        if self.mode == "pageviews" and self.concurrency is not None:
            return f"pageviews-{self.concurrency}"
        return self.mode

    @property
    def in_flight_cap(self) -> int:
        """The most requests this client ever has in flight."""
        if self.mode == "sequential":
            return 1
        return self.concurrency or DEFAULT_CONCURRENCY

    @property
    def splits_users(self) -> bool:
        """Whether heavy users are cut into time windows fetched side by side."""
        return self.mode == "pageviews"


@dataclass(frozen=True, slots=True)
class Scenario:
    """A world served one way, and the clients run against it (each on a fresh fake)."""

    name: str
    group: str  # what --scenario selects
    summary: str
    fake: FakeSetup
    clients: tuple[Client, ...]
    enrollment_states: tuple[str, ...] | None = None  # None: Canvas's default


PAGEVIEWS = Client("pageviews")

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="latency-bound",
        group="latency-bound",
        summary="~400 users, throttle off, 50 ms latency: concurrency against round trips",
        fake=FakeSetup("bench-latency", latency=0.05),
        clients=(
            Client("sequential"),
            *(Client("static", n) for n in (4, 8, 16, 32)),
            PAGEVIEWS,
        ),
    ),
    Scenario(
        name="throttle-bound",
        group="throttle-bound",
        summary="350k views, Canvas's throttle with a binding cost model, 40 ms latency",
        fake=FakeSetup("bench-throttle", latency=0.04, throttle=THROTTLE),
        clients=(PAGEVIEWS,),
    ),
    Scenario(
        name="throttle-tiny",
        group="throttle-tiny",
        summary="~270 requests into a tiny bucket (max 80, hwm 60, up-front 10, outflow 3/s), "
        "429 with Retry-After, 20 ms latency",
        fake=FakeSetup("bench-tiny", latency=0.02, throttle=THROTTLE_TINY),
        clients=(PAGEVIEWS,),
    ),
    Scenario(
        name="throttle-tiny-heavy",
        group="throttle-tiny-heavy",
        summary="the tiny bucket over a course with a few heavy users (1,400 to 2,400 "
        "views each), 429 with Retry-After, 20 ms latency",
        fake=FakeSetup("bench-tiny-heavy", latency=0.02, throttle=THROTTLE_TINY),
        clients=(PAGEVIEWS,),
    ),
    Scenario(
        name="cpu-1m",
        group="cpu",
        summary="~1.03M records, zero latency, throttle off: client CPU and memory",
        fake=FakeSetup("bench-cpu"),
        # The floor: the same pages fetched with aiohttp and parsed with orjson, nothing
        # more; pageviews' CPU above it is the harvester's own. The code before the
        # structural step runs beside them.
        clients=(PAGEVIEWS, Client("floor", 16), Client("pageviews", baseline=True)),
        enrollment_states=ENROLLMENT_STATES,
    ),
    Scenario(
        name="cpu-250k",
        group="cpu",
        summary="the same world at ~257k records: memory must not grow with records",
        fake=FakeSetup("bench-cpu-250k"),
        clients=(PAGEVIEWS,),
        enrollment_states=ENROLLMENT_STATES,
    ),
)

GROUPS = tuple(dict.fromkeys(s.group for s in SCENARIOS))
