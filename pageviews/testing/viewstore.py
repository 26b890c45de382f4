"""Compact column storage of page views and their JSON form.

Invariants: a `UserViews` holds one user's views sorted ascending by
(created_at in milliseconds, id); every column has the same length; JSON dicts
are built only when a view is served, so a million views cost about 120 bytes
each. Times are kept to the millisecond, as Canvas keeps them, and serialized in
whole seconds, as Canvas serializes them (docs/canvas.md#subsecond-times): filters, order and
bookmarks see the milliseconds, a client sees only the second.
"""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any, Final

from .records import ROOT_ACCOUNT_ID, Target

# Bit layout of the packed `meta` column.
_URL_BITS: Final = 0  # 20 bits: index into ViewTables.targets
_UA_BITS: Final = 20  # 8 bits: index into ViewTables.user_agents
_IP_BITS: Final = 28  # 16 bits: index into ViewTables.ips
_FLAG_BITS: Final = 44  # 8 bits: FLAG_*
_MODE_BITS: Final = 52  # 2 bits: LINKS_*

FLAG_PARTICIPATED: Final = 1
FLAG_POST: Final = 2
FLAG_APP: Final = 4
FLAG_MASQUERADE: Final = 8

LINKS_FULL: Final = 0
# Canvas sometimes serves a course view without its context (docs/canvas.md#course-context): either
# no `links` at all, or `links.context` and `context_type` null. Harvesters must
# fall back to the URL path for these.
LINKS_ABSENT: Final = 1
LINKS_NO_CONTEXT: Final = 2


def pack_meta(target: int, agent: int, ip: int, flags: int, mode: int) -> int:
    """Pack the small per-view fields into one integer."""
    return (
        target << _URL_BITS
        | agent << _UA_BITS
        | ip << _IP_BITS
        | flags << _FLAG_BITS
        | mode << _MODE_BITS
    )


def format_timestamp(millis: int) -> str:
    """Format epoch milliseconds as Canvas does: whole seconds, `YYYY-MM-DDTHH:MM:SSZ`."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(millis // 1000))


@dataclass(slots=True)
class ViewTables:
    """Hold the world-wide lookup tables that packed views index into."""

    targets: list[Target]
    user_agents: list[str]
    ips: list[str]
    app_name: str
    masquerader_id: int


@dataclass(slots=True)
class UserViews:
    """Hold one user's page views as columns, ascending by (created_at, id)."""

    ms: array[int] = field(default_factory=lambda: array("q"))  # created_at, epoch ms
    ids: list[str] = field(default_factory=list)
    meta: array[int] = field(default_factory=lambda: array("Q"))
    interaction: array[int] = field(default_factory=lambda: array("i"))  # centiseconds, -1 None
    render: array[int] = field(default_factory=lambda: array("i"))  # microseconds

    def __len__(self) -> int:
        return len(self.ms)

    def window(self, start_us: int | None, end_us: int | None) -> tuple[int, int]:
        """Return the index range [lo, hi) of views with start <= created_at <= end.

        Bounds are epoch microseconds, compared with the full stored precision:
        both inclusive, as `for_user` in app/models/page_view.rb has them.
        """
        lo = 0 if start_us is None else bisect_left(self.ms, -(-start_us // 1000))
        hi = len(self.ms) if end_us is None else bisect_right(self.ms, end_us // 1000)
        return lo, max(lo, hi)

    def before(self, lo: int, hi: int, millis: int, view_id: str) -> int:
        """Return the end of [lo, hi) cut to views strictly older than (millis, view_id)."""
        cut = bisect_left(self.ms, millis, lo, hi)
        # Walk the (usually tiny) group of views sharing the bookmark's millisecond.
        while cut < hi and self.ms[cut] == millis and self.ids[cut] < view_id:
            cut += 1
        return cut

    def to_json(self, index: int, user_id: int, tables: ViewTables) -> dict[str, Any]:
        """Build the PageView JSON of view `index` (docs/canvas.md#page-views-json)."""
        meta = self.meta[index]
        target = tables.targets[(meta >> _URL_BITS) & 0xFFFFF]
        flags = (meta >> _FLAG_BITS) & 0xFF
        mode = (meta >> _MODE_BITS) & 0x3
        seconds = self.interaction[index]
        full = mode == LINKS_FULL
        data: dict[str, Any] = {
            "id": self.ids[index],
            "url": target.url,
            "context_type": target.context_type if full else None,
            "asset_type": target.asset_type,
            "controller": target.controller,
            "action": target.action,
            "interaction_seconds": None if seconds < 0 else seconds / 100,
            "created_at": format_timestamp(self.ms[index]),
            "user_request": target.user_request,
            "render_time": self.render[index] / 1_000_000,
            "user_agent": tables.user_agents[(meta >> _UA_BITS) & 0xFF],
            "participated": bool(flags & FLAG_PARTICIPATED),
            "http_method": "post" if flags & FLAG_POST else "get",
            "remote_ip": tables.ips[(meta >> _IP_BITS) & 0xFFFF],
            "contributed": False,
            "app_name": tables.app_name if flags & FLAG_APP else None,
        }
        if mode != LINKS_ABSENT:
            data["links"] = {
                "user": user_id,
                "context": target.context_id if full else None,
                "asset": target.asset_id,
                "real_user": tables.masquerader_id if flags & FLAG_MASQUERADE else None,
                "account": ROOT_ACCOUNT_ID,
            }
        return data
