"""Rate-limit state read from Canvas's throttle headers (docs/canvas.md#throttle-headers)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

#: Canvas's default up-front charge per request (request_throttle.rb); hosted may differ.
DEFAULT_UP_FRONT_COST = 50.0


@dataclass(frozen=True, slots=True)
class RateLimit:
    """What one response said about the token's leaky bucket.

    ``remaining`` is ``hwm - level`` and may be negative; ``cost`` is absent on
    throttled replies.
    """

    remaining: float
    cost: float | None


def _float(value: str | None) -> float | None:
    """A finite number from a header; ``inf`` or ``nan`` count as absent (nothing to steer by)."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def rate_limit_from_headers(headers: Mapping[str, str]) -> RateLimit | None:
    """Build a :class:`RateLimit`, or ``None`` when Canvas sent no throttle headers.

    ``headers`` must look names up case-insensitively (aiohttp's CIMultiDict does).
    """
    remaining = _float(headers.get("X-Rate-Limit-Remaining"))
    if remaining is None:
        return None
    return RateLimit(remaining=remaining, cost=_float(headers.get("X-Request-Cost")))


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds from a numeric ``Retry-After`` header, if any (HTTP dates are not used)."""
    value = _float(headers.get("Retry-After"))
    if value is None or value < 0:
        return None
    return value
