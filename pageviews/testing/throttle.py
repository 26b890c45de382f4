"""Canvas's request throttle as a pure leaky bucket (docs/canvas.md#throttling).

Mirrors `app/middleware/request_throttle.rb` and `increment_bucket.lua`: every
change leaks `outflow` per second since the last touch, then adds an amount, then
clamps the level to [0, maximum]. A request is charged `up_front_cost` first and
refused when the level is then at or above `hwm`; afterwards the up-front charge is
refunded and the real cost added. That settlement runs for refused requests too
(it sits in an `ensure`), so a refused request leaves only its own small cost.
The bucket never reads a clock: callers pass `now`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class ThrottleConfig:
    """Configure the throttle; the defaults are canvas-lms's settings."""

    maximum: float = 800.0
    hwm: float = 600.0
    outflow: float = 10.0
    up_front_cost: float = 50.0
    status: Literal[403, 429] = 403
    # Send Retry-After on a refusal: the whole seconds until the bucket admits a request.
    retry_after: bool = False
    # The fake's stand-in for CPU + DB seconds: cheap enough that a handful of
    # requests in flight never binds; benchmarks raise it.
    cost_base: float = 0.05
    cost_per_item: float = 0.002
    # Extra cost units a controller adds with `increment_request_cost`
    # (docs/canvas.md#request-costs, as
    # a 2025 controller had them): history start, poll and results, and, per unit of
    # per_page, the list endpoint (0.4 gives about 40 at 100 per page; 0 keeps it off).
    query_start_cost: float = 150.0
    query_poll_cost: float = 5.0
    query_results_cost: float = 50.0
    list_cost_per_page_size: float = 0.0

    def cost(self, items: int) -> float:
        """Return the cost of a request that served `items` records."""
        return self.cost_base + self.cost_per_item * items


@dataclass(slots=True)
class LeakyBucket:
    """Hold one client's bucket level and when it was last touched."""

    level: float = 0.0
    touched: float | None = None

    def increment(self, config: ThrottleConfig, amount: float, now: float) -> float:
        """Leak since the last touch, add `amount`, clamp, and return the new level."""
        level = self.level
        if self.touched is not None and level > 0:
            loss = config.outflow * (now - self.touched)
            if loss > 0:
                level -= loss
        self.level = min(max(level + amount, 0.0), config.maximum)
        self.touched = now
        return self.level

    def reserve(self, config: ThrottleConfig, now: float) -> bool:
        """Charge the up-front cost and tell whether the request may run."""
        return self.increment(config, config.up_front_cost, now) < config.hwm

    def settle(self, config: ThrottleConfig, cost: float, now: float) -> None:
        """Refund the up-front charge and add the request's real cost."""
        self.increment(config, cost - config.up_front_cost, now)

    def wait(self, config: ThrottleConfig) -> int:
        """Whole seconds (at least 1) until a request's up-front charge would fit again."""
        excess = self.level + config.up_front_cost - config.hwm
        return max(1, math.ceil(excess / config.outflow)) if config.outflow > 0 else 1

    def remaining(self, config: ThrottleConfig) -> float:
        """Return `hwm - level`, the X-Rate-Limit-Remaining value (may be negative)."""
        return config.hwm - self.level


def throttled_body(status: int) -> str:
    """Return the text/plain body of a throttled reply (`rate_limit_exceeded`)."""
    reason = "Forbidden" if status == 403 else "Too Many Requests"
    return f"{status} {reason} (Rate Limit Exceeded)\n"
