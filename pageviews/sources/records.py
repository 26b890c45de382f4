"""The per-record path: which course a page view belongs to, and the row the store keeps.

This runs once for every page view harvested, so it stays lean: plain dict
look-ups and tuples, no per-record objects beyond the row itself.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from operator import itemgetter
from typing import Any

from orjson import dumps

from ..timerange import normalize_timestamp

# Sharded Canvas may report global ids (shard * 10**13 + local id; contract §7).
_SHARD_FACTOR = 10**13
# Exact id: /courses/169 must not match /courses/1693 (contract §7 fallback).
_COURSE_PATH = re.compile(
    r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*)?/(?:api/v1/)?courses/(\d+)(?:[/?#]|$)"
)

#: A stored page view: (course_id, created_at, id, url, interaction_seconds, extra); the
#: user is known from the fetch unit. ``extra`` is the JSON array of :data:`EXTRA_FIELDS`,
#: kept for the record-level dataset; the reports never decode it.
Row = tuple[int, str, str, str, float | None, bytes]
#: The fields of a stored view's ``extra``, in order: the researcher's fields beyond the
#: reports' (contract §3); ``context_id`` and ``asset_id`` are ``links.context``/``asset``.
EXTRA_FIELDS = (
    "context_id",
    "asset_id",
    "context_type",
    "asset_type",
    "controller",
    "action",
    "participated",
    "user_request",
    "http_method",
    "user_agent",
    "app_name",
    "remote_ip",
)
_TOP_LEVEL = EXTRA_FIELDS[2:]
_EXTRA = itemgetter(*_TOP_LEVEL)

_BY_TIME_THEN_ID = itemgetter(1, 2)
_CREATED = itemgetter(1)


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
    courses: Collection[int] | None,
    start: str,
    end: str,
) -> tuple[list[Row], int]:
    """Keep the views of ``courses`` (None: of any course) in ``[start, end]`` (UTC strings).

    Return the rows and how many of the courses' views were left out as unusable:
    without an id (nothing to de-duplicate by, contract §8) or without a readable
    ``created_at``. The common case (an integer course context, a ``...Z``
    timestamp, a float or missing ``interaction_seconds``) is decided inline;
    anything else goes through :func:`course_of` and :func:`normalize_timestamp`.
    """
    rows: list[Row] = []
    append = rows.append
    unusable = 0
    for view in views:
        try:
            # Canvas sends every PageView field, null or not (contract §3): subscripts are
            # cheaper than .get() on this path; a record missing one takes the careful path.
            links = view["links"]
            context = links["context"] if type(links) is dict else None
            course = context if type(context) is int and context < _SHARD_FACTOR else None
            if course is not None and (
                view["context_type"] != "Course" or (courses is not None and course not in courses)
            ):
                continue
            seconds = view["interaction_seconds"]
            url = view["url"]
            created = view["created_at"]
            view_id = view["id"]
            # One C-level getter and one orjson call: the cheapest way to keep them all.
            extra = (context, links["asset"], *_EXTRA(view))
        except (KeyError, TypeError):
            seconds, url, course = view.get("interaction_seconds"), view.get("url"), None
            created, view_id = view.get("created_at"), view.get("id")
            extra = _careful_extra(view)
        if course is None:
            course = course_of(view)
            if course is None or (courses is not None and course not in courses):
                continue
        if type(view_id) is not str:
            # Integer ids are kept as their digits; anything else cannot be told apart.
            view_id = str(view_id) if type(view_id) is int else ""
        if not view_id or type(created) is not str:
            unusable += 1
            continue
        if len(created) != 20 or created[19] != "Z":
            try:
                created = normalize_timestamp(created)
            except ValueError:
                unusable += 1
                continue
        if created < start or created > end:
            continue
        if seconds is not None and type(seconds) is not float:
            seconds = float(seconds)
        append((course, created, view_id, url or "", seconds, dumps(extra)))
    return rows, unusable


def _careful_extra(view: dict[str, Any]) -> tuple[Any, ...]:
    """The extra fields of a record missing some of them (absent reads as null)."""
    links = view.get("links")
    links = links if isinstance(links, dict) else {}
    return (links.get("context"), links.get("asset"), *(view.get(k) for k in _TOP_LEVEL))


def newest_first_so_far(
    views: list[Any], oldest: str | None, ordered: bool
) -> tuple[bool, str | None]:
    """Fold a page's records into (the chain is still newest first?, its oldest second).

    Unlike :func:`page_order` this looks at every record, not only the course's
    rows: splitting a chain at its oldest record is safe only if no record after
    it can be newer, which holds only while the whole chain came newest first.
    """
    if not ordered:
        return False, oldest
    previous = oldest
    for view in views:
        created = view.get("created_at") if type(view) is dict else None
        if type(created) is not str:
            return False, oldest
        if len(created) != 20 or created[19] != "Z":
            try:
                created = normalize_timestamp(created)
            except ValueError:
                return False, oldest
        if previous is not None and created > previous:
            return False, oldest
        previous = created
    return True, previous
