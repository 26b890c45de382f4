"""The per-record path: which course a page view belongs to, and the row the store keeps.

This runs once for every page view harvested, so it stays lean: plain dict
look-ups and tuples, no per-record objects beyond the row itself.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from contextlib import suppress
from hashlib import blake2b
from operator import itemgetter
from sys import intern
from typing import Any

import orjson

from ..store.rows import Row as Row  # the store owns the row type; re-exported here
from ..timerange import normalize_timestamp

# Sharded Canvas may report global ids (shard * 10**13 + local id; contract §7).
_SHARD_FACTOR = 10**13
# Exact id: /courses/169 must not match /courses/1693 (contract §7 fallback).
_COURSE_PATH = re.compile(
    r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*)?/(?:api/v1/)?courses/(\d+)(?:[/?#]|$)"
)

SHAPE_FIELDS = (
    "context_type",
    "asset_type",
    "controller",
    "action",
    "participated",
    "user_request",
    "http_method",
    "user_agent",
    "app_name",
)
#: The researcher's fields beyond the reports' (contract §3), as :func:`extra_values` gives
#: them; ``context_id`` and ``asset_id`` are ``links.context`` and ``links.asset``.
EXTRA_FIELDS = ("context_id", "asset_id", *SHAPE_FIELDS, "remote_ip")
_SHAPE = itemgetter(*SHAPE_FIELDS)
#: Shapes remembered (key to digest and JSON), each about half a KiB; forgotten all at
#: once when full, so memory stays flat however many distinct shapes a run meets (a
#: shape carries its asset id: on a real Canvas their number grows with the views).
SHAPES_REMEMBERED = 4_096
_shapes: dict[Any, tuple[int, bytes]] = {}
_decoded: dict[bytes, list[Any]] = {}
_INT64 = 2**63
_SCALARS = (str, int, float, bool, type(None))

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
            # One C-level getter and one dict look-up per view; JSON once per shape.
            shape = _shapes.get((_SHAPE(view), context, links["asset"]))
            ip = view["remote_ip"]
        except (KeyError, TypeError):
            seconds, url, course = view.get("interaction_seconds"), view.get("url"), None
            created, view_id = view.get("created_at"), view.get("id")
            links = view.get("links")
            links = links if type(links) is dict else {}
            shape = _shape((tuple(map(view.get, SHAPE_FIELDS)), links.get("context"),
                            links.get("asset")))  # fmt: skip
            ip = view.get("remote_ip")
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
        if shape is None:
            shape = _shape((_SHAPE(view), context, links["asset"]))
        append((course, created, view_id, url or "", seconds, shape[0],
                ip if type(ip) is str else None, shape[1]))  # fmt: skip
    return rows, unusable


def _shape(key: tuple[tuple[Any, ...], Any, Any]) -> tuple[int, bytes]:
    """The digest and JSON of a shape not found at once, remembered for the views to come.

    ``key`` is (the SHAPE_FIELDS values, context id, asset id) as the view gave them;
    what is not a JSON scalar, or an id SQLite could not hold, is kept as null.
    """
    fields, context, asset = key
    with suppress(TypeError):  # a hostile value cannot be a key: remembered by ``clean``
        found = _shapes.get(key)
        if found is not None:
            return found
    clean = (
        *(v if type(v) in _SCALARS else None for v in fields),
        context if type(context) is int and -_INT64 <= context < _INT64 else None,
        asset if type(asset) is int and -_INT64 <= asset < _INT64 else None,
    )
    found = _shapes.get(clean)
    if found is None:
        # orjson's bytes keep the 4 KiB buffer they were written into: keep a copy
        # of the JSON's own size.
        text = bytes(memoryview(orjson.dumps(clean)))
        digest = int.from_bytes(blake2b(text, digest_size=8).digest(), "big", signed=True)
        found = (digest, text)
    if len(_shapes) >= SHAPES_REMEMBERED:
        _shapes.clear()
    try:
        # The strings a page's parse made are its own: keep shared copies (user agents
        # repeat across shapes), not one per shape.
        kept = tuple(intern(v) if type(v) is str else v for v in fields)
        _shapes[(kept, context, asset)] = found
    except TypeError:
        _shapes[clean] = found
    return found


def extra_values(fields: bytes | None, ip: str | None) -> list[Any]:
    """A stored view's researcher fields, in the order of :data:`EXTRA_FIELDS`."""
    values = _decoded.get(fields or b"")
    if values is None:
        if len(_decoded) >= SHAPES_REMEMBERED:
            _decoded.clear()
        decoded = orjson.loads(fields) if fields else None
        if not isinstance(decoded, list) or len(decoded) != len(SHAPE_FIELDS) + 2:
            decoded = [None] * (len(SHAPE_FIELDS) + 2)
        values = _decoded[fields or b""] = [*decoded[-2:], *decoded[:-2]]
    return [*values, ip]


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
