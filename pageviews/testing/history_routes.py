"""Paths, methods and start bodies of the PageView History API (docs/canvas.md#history-api).

Three per-user calls under `/api/v1/users/:user_id/page_views/query` and three
batch calls under `/api/v1/users/page_views/query`, as §9's table lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import parse_qsl

import orjson

Kind = Literal["start", "poll", "results"]
Params = tuple[tuple[str, str], ...]

_BATCH: Final = re.compile(r"/api/v1/users/page_views/query(?:/([^/]+)(/results)?)?/?")
_USER: Final = re.compile(r"/api/v1/users/([^/]+)/page_views/query(?:/([^/]+)(/results)?)?/?")


@dataclass(frozen=True, slots=True)
class HistoryRoute:
    """Name one history call: its kind, the path's user (None: batch) and query id."""

    kind: Kind
    user_ref: str | None
    query_id: str | None

    @property
    def batch(self) -> bool:
        """Tell whether the call is on the batch route."""
        return self.user_ref is None


def history_path(path: str) -> HistoryRoute | None:
    """Return the history call a path names, whatever the method, or None."""
    match = _BATCH.fullmatch(path)
    user_ref = None
    if match is None:
        match = _USER.fullmatch(path)
        if match is None:
            return None
        user_ref = match.group(1)
    query_id, results = match.groups()[-2:]
    kind: Kind = "start" if query_id is None else "results" if results else "poll"
    return HistoryRoute(kind, user_ref, query_id)


def history_route(method: str, path: str) -> HistoryRoute | None:
    """Return the history call a request makes: POST starts, GET (or HEAD) reads."""
    found = history_path(path)
    if found is None or method not in (("POST",) if found.kind == "start" else ("GET", "HEAD")):
        return None
    return found


def request_params(query: Params, content_type: str, body: bytes) -> Params | None:
    """Merge the query string with a JSON or form body, as Rails' `params` does.

    JSON arrays become repeated pairs; None means a body Rails would refuse.
    """
    if not body:
        return query
    if content_type != "application/json":
        return query + tuple(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    pairs = list(query)
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, item if isinstance(item, str) else orjson.dumps(item).decode()))
    return tuple(pairs)
