"""Deterministic fault injection.

The decision for the n-th request of a URL is a pure function of (seed, url, n):
only the first `max_consecutive` requests of a URL can fail, so retrying a URL
always succeeds eventually. Faults never change page content, which depends on
the URL alone.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import replies
from .replies import Reply
from .throttle import throttled_body


class FaultKind(enum.Enum):
    """Name one kind of transient fault."""

    HTTP_500 = "http_500"
    HTTP_502 = "http_502"
    HTTP_503 = "http_503"
    HTTP_504 = "http_504"
    RESET = "reset"  # headers with the full Content-Length, part of the body, then abort
    STALL = "stall"  # answer only after `stall_seconds`
    TRUNCATED_JSON = "truncated_json"  # a complete 200 message whose JSON is cut short
    THROTTLE_429_RETRY_AFTER = "throttle_429_retry_after"
    THROTTLE_429 = "throttle_429"
    THROTTLE_403 = "throttle_403"
    REPEAT_LINK = "repeat_link"  # right data, rel="next" points back at this page
    RESTART_BOOKMARK = "restart_bookmark"  # right data, rel="next" has a malformed bookmark


ALL_FAULT_KINDS: Final = tuple(FaultKind)
# Faults that leave the response usable: the data is right, only the Link header lies.
LINK_FAULTS: Final = frozenset({FaultKind.REPEAT_LINK, FaultKind.RESTART_BOOKMARK})


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Configure transient and permanent faults."""

    seed: int = 0
    rate: float = 0.0
    kinds: tuple[FaultKind, ...] = ALL_FAULT_KINDS
    max_consecutive: int = 2
    stall_seconds: float = 10.0
    targets: Literal["page_views", "all"] = "page_views"
    broken_users: frozenset[int] = field(default_factory=frozenset)  # page views always 500
    # Deleted users: page views and history calls naming them answer 404.
    missing_users: frozenset[int] = field(default_factory=frozenset)
    # Users outside the admin's accounts: page views and history calls naming them
    # answer 401 (403 with `auth_error_status`), as they would for a teacher's token.
    refused_users: frozenset[int] = field(default_factory=frozenset)
    # Page views after the first page always 500: a chain cut short mid-way.
    broken_after_first_users: frozenset[int] = field(default_factory=frozenset)
    # First page's rel="next" points at `foreign_origin`: a token-leak trap.
    foreign_link_users: frozenset[int] = field(default_factory=frozenset)
    foreign_origin: str = "http://127.0.0.2:9"


def decide_fault(config: FaultConfig, url: str, n: int) -> FaultKind | None:
    """Return the fault for the n-th (0-based) request of `url`, or None."""
    if n >= config.max_consecutive or config.rate <= 0 or not config.kinds:
        return None
    digest = hashlib.blake2b(f"{config.seed}\x00{url}\x00{n}".encode(), digest_size=16).digest()
    roll = int.from_bytes(digest[:8], "big") / 2**64
    if roll >= config.rate:
        return None
    return config.kinds[int.from_bytes(digest[8:], "big") % len(config.kinds)]


def fault_reply(kind: FaultKind) -> Reply | None:
    """Return the reply that replaces the real one for `kind`, or None if it only mangles."""
    if kind is FaultKind.HTTP_500:
        return replies.errors_reply(500, "An error occurred.", error_report_id=4242)
    if kind is FaultKind.HTTP_502:
        return replies.pv4_error(502, "page views service timed out")
    if kind is FaultKind.HTTP_503:
        return replies.pv4_error(503, "page views service returned an empty response")
    if kind is FaultKind.HTTP_504:  # a load balancer's page, not Canvas's
        page = "<html><body><h1>504 Gateway Time-out</h1></body></html>\n"
        return replies.text_reply(504, page, replies.HTML)
    if kind is FaultKind.THROTTLE_403:
        # rate_limit_exceeded in request_throttle.rb, as sent with the bucket hidden.
        reply = replies.text_reply(403, throttled_body(403))
        reply.headers["X-Rate-Limit-Remaining"] = "0.0"
        return reply
    if kind in (FaultKind.THROTTLE_429, FaultKind.THROTTLE_429_RETRY_AFTER):
        reply = replies.text_reply(429, throttled_body(429))
        if kind is FaultKind.THROTTLE_429_RETRY_AFTER:
            reply.headers["Retry-After"] = "1"
        return reply
    return None


def mangle_links(kind: FaultKind, reply: Reply) -> None:
    """Rewrite rel="next" for the link faults; the data stays right."""
    target = reply.next_link()
    if target is None:
        return
    if kind is FaultKind.REPEAT_LINK:
        current = next((url for rel, url in reply.links if rel == "current"), target)
        reply.replace_next(current)
    elif kind is FaultKind.RESTART_BOOKMARK:
        parts = urlsplit(target)
        query = [(k, "bookmark:!!" if k == "page" else v) for k, v in parse_qsl(parts.query)]
        reply.replace_next(urlunsplit(parts._replace(query=urlencode(query))))


def truncate(body: bytes) -> bytes:
    """Cut a JSON body so it no longer parses."""
    return body[: max(1, len(body) // 2)]
