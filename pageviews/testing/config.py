"""Runtime configuration of the fake Canvas server."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from .faults import FaultConfig
from .history_config import HistoryConfig
from .throttle import ThrottleConfig


@dataclass(frozen=True, slots=True)
class LateViews:
    """Make a share of views visible only some time after their ``created_at``.

    Canvas logs page views through an asynchronous pipeline (docs/canvas.md#late-views), so a
    view can appear minutes after it happened. Which views are late, and by how
    much, follows from each view's id, so every request sees the same world.
    """

    share: float = 0.1
    min_delay: float = 5.0  # seconds
    max_delay: float = 600.0

    def delay_ms(self, view_id: str) -> int:
        """Milliseconds between a view's ``created_at`` and its becoming visible."""
        mark = zlib.crc32(view_id.encode())
        if (mark & 0xFFFF) / 0x10000 >= self.share:
            return 0
        spread = (mark >> 16) / 0x10000
        return int(1000 * (self.min_delay + spread * (self.max_delay - self.min_delay)))


@dataclass(frozen=True, slots=True)
class ListQuirks:
    """Ways a list endpoint may serve a user's chains other than today's hosted Canvas.

    Pages are counted from 1 within each chain (each query of a user's page views,
    a split window's included), so a quirk of page 3 strikes every chain that long.
    """

    # Canvas clamps page views to 200 a page (docs/canvas.md#pagination); a Canvas
    # before 2025 to 100, an older one to 50. 10 is also what a server ignoring
    # per_page serves. Links name the size applied.
    max_per_page: int = 200
    # (user, page): that page of each of the user's chains answers 404.
    gone_pages: frozenset[tuple[int, int]] = frozenset()
    # (user, page): each of the user's chains serves its newest view on that page
    # instead of first, so pages stop coming newest first there.
    late_pages: frozenset[tuple[int, int]] = frozenset()
    # Users one view in five of whom comes without an ``id`` (which Canvas always sends).
    idless_users: frozenset[int] = frozenset()

    def late_page(self, user_id: int) -> int | None:
        """The page each of the user's chains moves its newest view to, if any."""
        return min((page for user, page in self.late_pages if user == user_id), default=None)


@dataclass(slots=True)
class FakeConfig:
    """Configure the fake; the server reads it on every request, so it may be changed live."""

    pagination: Literal["bookmark", "numeric"] = "bookmark"  # pv4 bookmarks, or database pages
    # Not Canvas: a back end or proxy that serves numbered pages oldest first.
    oldest_first: bool = False
    # Canvas throttles by default; None turns throttling and its headers off.
    throttle: ThrottleConfig | None = field(default_factory=ThrottleConfig)
    faults: FaultConfig = field(default_factory=FaultConfig)
    latency: float = 0.0  # seconds added to every request
    latency_jitter: float = 0.0  # up to this many seconds more, drawn per request
    auth_error_status: Literal[401, 403] = 401  # 403 with the api_auth_error_updates flag
    retention_days: int | None = None  # hosted Canvas serves only recent views
    html_everywhere: bool = False  # every request gets an SSO login page
    now: datetime | None = None  # the fake's clock for time checks; None = real time
    late: LateViews | None = None  # some views appear only after a delay, by ``now``
    # The PageView History API (docs/canvas.md#history-api); None answers its six calls with 404.
    history: HistoryConfig | None = None
    # How a Canvas without it answers those calls: "not available in this environment"
    # (the export service is not configured, as docs/canvas.md#history-api has it), Canvas's generic
    # 500 (the same, as the controller's source has it: PageViews::ConfigurationError
    # is not rescued; docs/canvas.md#history-api), Canvas's 404 for a route it does not
    # have (an older version), or a proxy's bare text/plain "Not Found".
    history_absent: Literal["unconfigured", "raising", "routes", "proxy"] = "unconfigured"
    quirks: ListQuirks = field(default_factory=ListQuirks)
