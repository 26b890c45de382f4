"""Turn one HTTP response into data or a typed error. No I/O happens here."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson
from multidict import MultiMapping

from ..errors import ProtocolError, TransientError
from .failures import failure
from .links import parse_link_header
from .outcomes import LIST, Call, Outcome, classify
from .ratelimit import RateLimit

#: The first bytes of any gzip stream, whatever the headers say of it.
GZIP_MAGIC = b"\x1f\x8b"

# Canvas's page-view ids are strings; only a page with a numeric id can hold one too
# large for orjson. The per-record look at the parsed ids comes first: scanning the
# body costs a quarter of parsing it.
_NUMERIC_ID = re.compile(rb'"id":\s*-?\d')
_ID = itemgetter("id")
# The page size Canvas applied, as every link names it (docs/canvas.md#link-per-page).
_PER_PAGE = re.compile(r"[?&]per_page=(\d{1,6})(?:[&#>]|$)")


@dataclass(frozen=True, slots=True)
class Page:
    """One successful response: decoded JSON, the next link and the throttle state."""

    url: str
    data: Any
    next_url: str | None
    rate: RateLimit | None
    #: The page size Canvas says it applied (its links' ``per_page``), or None when unsaid.
    per_page: int | None = None


def decipher(
    status: int, headers: MultiMapping[str], body: bytes, url: str, call: Call = LIST
) -> Page:
    """Return the :class:`Page` for a successful reply to ``call``, or raise what it means."""
    answer = classify(call, status, headers, body)
    if answer.outcome is not Outcome.OK:
        raise failure(answer, call)
    return _success(status, headers, body, url, answer.rate)


def applied_per_page(link_header: str) -> int | None:
    """The page size a Link header's URLs name, or None (docs/canvas.md#link-per-page)."""
    found = _PER_PAGE.search(link_header)
    size = int(found.group(1)) if found else 0
    return size if size > 0 else None


def _success(
    status: int, headers: MultiMapping[str], body: bytes, url: str, rate: RateLimit | None
) -> Page:
    link = ",".join(headers.getall("Link", ()))
    next_url = parse_link_header(link).get("next")
    per_page = applied_per_page(link) if link else None
    if status == 204 or not body:
        return Page(url=url, data=[], next_url=next_url, rate=rate, per_page=per_page)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        content_type = headers.get("Content-Type", "")
        if "json" not in content_type.lower():
            raise ProtocolError(
                f"Canvas answered with {content_type.split(';')[0] or 'a non-JSON body'}, "
                "not JSON (a login page or proxy?); check the base URL"
            ) from None
        raise TransientError("Canvas sent a truncated or undecodable JSON body") from None
    if type(data) is list and _float_ids(data) and _NUMERIC_ID.search(body):
        # orjson reads integers past 64 bits as floats, and floats collapse distinct ids
        # into one; the standard parser keeps every digit (ids are de-duplicated as text).
        data = json.loads(body)
    return Page(url=url, data=data, next_url=next_url, rate=rate, per_page=per_page)


def _float_ids(data: list[Any]) -> bool:
    """Whether any object of ``data`` has a float ``id``: C-level when all of them have one."""
    try:
        return float in set(map(type, map(_ID, data)))
    except (KeyError, TypeError):  # an object without an id, or no object
        return any(type(item) is dict and type(item.get("id")) is float for item in data)
