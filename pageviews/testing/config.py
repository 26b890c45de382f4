"""Runtime configuration of the fake Canvas server."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from .faults import FaultConfig
from .throttle import ThrottleConfig


@dataclass(slots=True)
class FakeConfig:
    """Configure the fake; the server reads it on every request, so it may be changed live."""

    pagination: Literal["bookmark", "numeric"] = "bookmark"  # pv4 bookmarks, or database pages
    # Canvas throttles by default; None turns throttling and its headers off.
    throttle: ThrottleConfig | None = field(default_factory=ThrottleConfig)
    faults: FaultConfig = field(default_factory=FaultConfig)
    latency: float = 0.0  # seconds added to every request
    latency_jitter: float = 0.0  # up to this many seconds more, drawn per request
    auth_error_status: Literal[401, 403] = 401  # 403 with the api_auth_error_updates flag
    retention_days: int | None = None  # hosted Canvas serves only recent views
    html_everywhere: bool = False  # every request gets an SSO login page
    now: datetime | None = None  # wall-clock "now" for time checks; None = real time
