"""The per-record path: which course a page view belongs to, and the row the store keeps.

This runs once for every page view harvested, so it stays lean: plain dict
look-ups and tuples, no per-record objects beyond the row itself.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from .timerange import normalize_timestamp

# Sharded Canvas may report global ids (shard * 10**13 + local id; contract §7).
_SHARD_FACTOR = 10**13
# Exact id: /courses/169 must not match /courses/1693 (contract §7 fallback).
_COURSE_PATH = re.compile(
    r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*)?/(?:api/v1/)?courses/(\d+)(?:[/?#]|$)"
)

#: A stored page view: (course_id, user_id, created_at, id, url, interaction_seconds).
Row = tuple[int, int, str, str, str, float | None]


def local_id(value: int) -> int:
    """Strip the shard part from a possibly global Canvas id."""
    return value % _SHARD_FACTOR


def course_of(view: dict[str, Any]) -> int | None:
    """Return the course a page view belongs to, or ``None``.

    ``context_type == "Course"`` with ``links.context`` decides; only when the
    context link is absent does the URL path decide (contract §7).
    """
    links = view.get("links")
    context = links.get("context") if isinstance(links, dict) else None
    if context is not None:
        if view.get("context_type") != "Course":
            return None
        try:
            return local_id(int(context))
        except (TypeError, ValueError):
            return None
    url = view.get("url")
    if isinstance(url, str):
        match = _COURSE_PATH.match(url)
        if match:
            return local_id(int(match.group(1)))
    return None


def course_rows(
    views: list[dict[str, Any]],
    user_id: int,
    courses: Collection[int],
    start: str,
    end: str,
) -> list[Row]:
    """Keep the views of ``courses`` whose time lies in ``[start, end]`` (UTC strings)."""
    rows: list[Row] = []
    append = rows.append
    for view in views:
        course = course_of(view)
        if course is None or course not in courses:
            continue
        created = normalize_timestamp(view["created_at"])
        if created < start or created > end:
            continue
        seconds = view.get("interaction_seconds")
        append(
            (
                course,
                user_id,
                created,
                str(view["id"]),
                view.get("url") or "",
                float(seconds) if seconds is not None else None,
            )
        )
    return rows
