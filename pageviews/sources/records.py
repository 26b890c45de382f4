"""The per-record path: which course a page view belongs to, and the row the store keeps.

This runs once for every page view harvested, so it stays lean: plain dict
look-ups and tuples, no per-record objects beyond the row itself.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from contextlib import suppress
from datetime import datetime
from hashlib import blake2b
from operator import itemgetter
from sys import intern
from typing import Any

import orjson

from ..store.rows import Row as Row  # the store owns the row type; re-exported here
from ..timerange import normalize_timestamp

# Sharded Canvas may report global ids (shard * 10**13 + local id; docs/canvas.md#global-ids).
_SHARD_FACTOR = 10**13
# Exact id: /courses/169 must not match /courses/1693 (docs/canvas.md#course-context).
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
#: The researcher's fields beyond the reports' (docs/canvas.md#page-views-json), as
#: :func:`extra_values` gives
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
_CREATED_AT = itemgetter("created_at")
#: What :func:`file_row` says of a view it does not keep: not a course view of the
#: range, or one that cannot be kept (no id or no readable time).
SKIP, UNUSABLE = 0, 1


def local_id(value: int) -> int:
    """Strip the shard part from a possibly global Canvas id."""
    return value % _SHARD_FACTOR


def course_of(view: dict[str, Any]) -> int | None:
    """Return the course a page view belongs to, or ``None``.

    ``context_type == "Course"`` with ``links.context`` decides; only when the
    context link is absent does the URL path decide (docs/canvas.md#course-context).
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
    return _url_course(view.get("url"))


def _url_course(url: Any) -> int | None:
    """The course a view's URL path names, or None."""
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
    without an id (nothing to de-duplicate by, docs/canvas.md#page-views-json) or
    without a readable ``created_at``. The common case (an integer course context, a
    ``...Z`` timestamp, a float or missing ``interaction_seconds``) is decided inline;
    anything else goes through :func:`course_of` and :func:`utc_second`.
    """
    rows: list[Row] = []
    append = rows.append
    unusable = 0
    for view in views:
        try:
            # Canvas sends every PageView field, null or not (docs/canvas.md#page-views-json):
            # subscripts are cheaper than .get() here; a record missing one goes the careful way.
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
                created = utc_second(created)
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


def file_row(
    view_id: str | None,
    created: Any,
    url: Any,
    context_type: Any,
    context: int | None,
    seconds: float | None,
    start: str,
    end: str,
) -> Row | int:
    """The row :func:`course_rows` keeps of a view with only these fields, or SKIP or UNUSABLE.

    An export file's row (:mod:`.history_rows`) is such a view: its other fields null
    and ``context`` a local id. Decided here without building the view, for any course.
    """
    if context is not None:
        if context_type != "Course":
            return SKIP
        course = context
    else:
        found = _url_course(url)
        if found is None:
            return SKIP
        course = found
    if not view_id or type(created) is not str:
        return UNUSABLE
    if len(created) != 20 or created[19] != "Z":
        try:
            created = utc_second(created)
        except ValueError:
            return UNUSABLE
    if created < start or created > end:
        return SKIP
    key = ((context_type, None, None, None, None, None, None, None, None), context, None)
    try:
        shape = _shapes.get(key) or _shape(key)
    except TypeError:  # a context type no key can hold: remembered by its clean form
        shape = _shape(key)
    return (course, created, view_id, url or "", seconds, shape[0], None, shape[1])


def utc_second(value: str) -> str:
    """:func:`~pageviews.timerange.normalize_timestamp`, exports' UTC milliseconds decided here.

    History files write ``YYYY-MM-DDTHH:MM:SS.mmmZ``: the whole second is its first 19
    characters, once the standard parser has found it a valid time.
    """
    if (
        len(value) == 24
        and value[23] == "Z"
        and value[19] == "."
        and value[16] == value[13] == ":"
        and value[10] == "T"
        and value[7] == value[4] == "-"
        and value[0] != "0"  # a year before 1000 is written shorter
    ):
        datetime.fromisoformat(value)  # the ValueError of a date that does not exist
        return value[:19] + "Z"
    return normalize_timestamp(value)


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
    with suppress(KeyError, TypeError):  # a record without a time string: looked at below
        # The common page decided in C: every time in Canvas's own 20-character form.
        stamps = list(map(_CREATED_AT, views))
        if (
            stamps
            and set(map(len, stamps)) == {20}
            and "".join(stamps)[19::20] == "Z" * len(stamps)
        ):
            # Sorted stably, a list newest first is itself.
            if stamps != sorted(stamps, reverse=True) or (
                oldest is not None and stamps[0] > oldest
            ):
                return False, oldest
            return True, stamps[-1]
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
