"""Turn one HTTP response into data or a typed error. No I/O happens here."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson
from multidict import MultiMapping

from ..errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    ThrottledError,
    TransientError,
)
from .links import parse_link_header
from .ratelimit import RateLimit, rate_limit_from_headers, retry_after_seconds

# Canvas's throttled 403 carries this text (app/middleware/request_throttle.rb).
#: The first bytes of any gzip stream, whatever the headers say of it.
GZIP_MAGIC = b"\x1f\x8b"
_THROTTLE_EVIDENCE = b"Rate Limit Exceeded"
# Statuses a retry may cure (contract §6: pv4 answers 502/503 on its own trouble).
_TRANSIENT_STATUSES = frozenset({500, 502, 503, 504, 507, 520, 522, 524})
_AUTH_FAILURES = ("invalid access token", "expired access token", "revoked access token")

# Canvas's page-view ids are strings; only a page with a numeric id can hold one too
# large for orjson. The per-record look at the parsed ids comes first: scanning the
# body costs a quarter of parsing it.
_NUMERIC_ID = re.compile(rb'"id":\s*-?\d')
# The page size Canvas applied, as every link of a paginated reply names it (§4).
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


def canvas_message(body: bytes) -> str:
    """Extract the human message from a Canvas error body, JSON or plain text."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        return " ".join(text.split())[:120] or "(empty body)"
    if isinstance(doc, dict):
        errors = doc.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message", ""))
        if isinstance(errors, dict):
            return "; ".join(f"{k}: {v}" for k, v in errors.items())
        for key in ("error", "message"):
            if isinstance(doc.get(key), str):
                return str(doc[key])
    return str(doc)[:120]


def is_throttle(status: int, body: bytes, rate: RateLimit | None) -> bool:
    """Say whether a refusal is Canvas's rate limiter (contract §5).

    A 429 always is; a 403 only on evidence, since a plain 403 is a permission error.
    """
    if status == 429:
        return True
    if status != 403:
        return False
    return _THROTTLE_EVIDENCE in body or (rate is not None and rate.remaining <= 0)


def decipher(status: int, headers: MultiMapping[str], body: bytes, url: str) -> Page:
    """Return the :class:`Page` for a 2xx response, or raise the matching error."""
    rate = rate_limit_from_headers(headers)
    if 200 <= status < 300:
        return _success(status, headers, body, url, rate)
    if is_throttle(status, body, rate):
        raise ThrottledError(
            f"rate limited by Canvas (HTTP {status})", retry_after=retry_after_seconds(headers)
        )
    message = canvas_message(body)
    if status == 401:
        if message.lower().startswith(_AUTH_FAILURES) or "authorization required" in message:
            raise AuthenticationError(f"Canvas rejected the token: {message}")
        raise PermissionDeniedError(message)
    if status == 403:
        raise PermissionDeniedError(message)
    if status == 404:
        raise NotFoundError(message)
    if status == 400:
        raise BadRequestError(f"Canvas refused the request: {message}")
    if status in _TRANSIENT_STATUSES:
        raise TransientError(
            f"HTTP {status} from Canvas",
            retry_after=retry_after_seconds(headers),
            status=status,
            said=message,
        )
    if 300 <= status < 400:
        raise ProtocolError(
            f"Canvas redirected (HTTP {status}); use the final address as the base URL"
        )
    raise ProtocolError(f"unexpected HTTP {status} from Canvas: {message}")


def applied_per_page(link_header: str) -> int | None:
    """The page size a Link header's URLs name, or None (contract §4: the size applied)."""
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
    if (
        type(data) is list
        and any(type(item) is dict and type(item.get("id")) is float for item in data)
        and _NUMERIC_ID.search(body)
    ):
        # orjson reads integers past 64 bits as floats, and floats collapse distinct ids
        # into one; the standard parser keeps every digit (ids are de-duplicated as text).
        data = json.loads(body)
    return Page(url=url, data=data, next_url=next_url, rate=rate, per_page=per_page)
