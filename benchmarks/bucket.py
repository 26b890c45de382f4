"""Where a throttle-bound run's time went, replayed from the fake's request log.

The fake logs each request's path, query and server times but not its cost, so
each one is answered again by the fake's pure endpoint code to learn how many
records it served. Replaying the leaky bucket over those times then splits the
span exactly: ``span = (cost - final level) / outflow + outflow lost while empty``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from pageviews.testing import FakeConfig, LeakyBucket, ThrottleConfig, World
from pageviews.testing.api import ApiRequest, handle

from .bounds import bucket_headroom


@dataclass(frozen=True, slots=True)
class BucketAccount:
    """A throttle-bound run's wall time, term by term (seconds unless named)."""

    actual_cost: float  # every request the client made, refused ones included
    extra_work: float  # (actual cost - minimal cost) / outflow
    unused_headroom: float  # (bucket_headroom - final level) / outflow: room never used
    empty: float  # span minus the time the leaked cost took: outflow lost while empty
    span: float  # first request's arrival to the last reply

    def to_json(self) -> dict[str, float]:
        """Plain JSON data."""
        return {
            "actual_cost": self.actual_cost,
            "extra_work_seconds": self.extra_work,
            "unused_headroom_seconds": self.unused_headroom,
            "empty_bucket_seconds": self.empty,
            "request_span_seconds": self.span,
        }


def replay_costs(
    world: World, throttle: ThrottleConfig, log: Sequence[dict[str, Any]]
) -> list[float]:
    """The throttle cost the fake charged each logged request."""
    config = FakeConfig(throttle=throttle)
    now = datetime.now(UTC)
    costs = []
    for record in log:
        if record["throttled"] or not record["token_ok"]:
            costs.append(throttle.cost(0))
            continue
        query = tuple(parse_qsl(record["query"], keep_blank_values=True))
        request = ApiRequest(record["path"], query, "http://127.0.0.1", world.admin_user_id, now)
        costs.append(throttle.cost(handle(world, config, request).items))
    return costs


def account(
    log: Sequence[dict[str, Any]],
    costs: Sequence[float],
    throttle: ThrottleConfig,
    minimal_cost: float,
) -> BucketAccount:
    """Replay the bucket (charge on arrival, settle on reply) and split the time."""
    events: list[tuple[float, float]] = []  # (server time, amount added)
    for record, cost in zip(log, costs, strict=True):
        if record["throttled"]:
            events.append((record["started"], cost))
        else:
            events.append((record["started"], throttle.up_front_cost))
            events.append((record["finished"], cost - throttle.up_front_cost))
    events.sort()
    bucket = LeakyBucket()
    for when, amount in events:
        bucket.increment(throttle, amount, when)
    span = events[-1][0] - events[0][0] if events else 0.0
    total = sum(costs)
    # Whatever of the span did not leak cost out was outflow lost to an empty bucket.
    drained = (total - bucket.level) / throttle.outflow
    return BucketAccount(
        actual_cost=total,
        extra_work=(total - minimal_cost) / throttle.outflow,
        unused_headroom=(bucket_headroom(throttle) - bucket.level) / throttle.outflow,
        empty=span - drained,
        span=span,
    )
