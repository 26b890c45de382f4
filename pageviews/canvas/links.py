"""Link-header parsing and the same-origin rule for following pagination links."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from ..errors import ProtocolError, UnsafeLinkError

# Any whitespace in a link is malformed; searched in C, once a page.
_WHITESPACE = re.compile(r"\s")


def parse_link_header(value: str | None) -> dict[str, str]:
    """Map each ``rel`` of an RFC 8288 Link header to its URL.

    Canvas joins ``<url>; rel="next"`` entries with commas (docs/canvas.md#pagination); URLs
    themselves may contain commas in query strings, so split on ``<`` boundaries.
    A header sent as several lines is passed here joined with commas (RFC 9110 §5.3).
    """
    links: dict[str, str] = {}
    if not value:
        return links
    for part in value.split("<")[1:]:
        url, _, params = part.partition(">")
        for param in params.split(";"):
            name, _, raw = param.strip().partition("=")
            if name.strip().lower() != "rel":
                continue
            for rel in raw.strip().strip(",").strip().strip("\"'").split():
                links.setdefault(rel.lower(), url.strip())
    return links


def origin_of(url: str) -> tuple[str, str, int]:
    """Return ``(scheme, host, port)`` with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def check_same_origin(url: str, base_url: str) -> str:
    """Return ``url`` if it shares ``base_url``'s origin, else raise.

    The token rides on every request, so a link to any other scheme, host or
    port is never followed, nor one carrying credentials of its own. Neither
    error message repeats the link: it may hold a password.
    """
    prefix = _trusted_prefix(base_url)
    # Canvas's links (every page has one) start with the base URL itself: what comes
    # after its "/" cannot change the origin, so only the whitespace check is left.
    if prefix is not None and url.startswith(prefix) and not _WHITESPACE.search(url):
        return url
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- parsing the port is the check: "8080 " raises
    except ValueError:
        raise ProtocolError(
            "Canvas sent a malformed pagination link (its host or port does not parse)"
        ) from None
    if _WHITESPACE.search(url):
        raise ProtocolError("Canvas sent a malformed pagination link (it contains spaces)")
    if parts.username is not None or parts.password is not None:
        raise UnsafeLinkError(
            "Canvas sent a pagination link that carries credentials (user:password@host); "
            "refusing to follow it"
        )
    if origin_of(url) != origin_of(base_url):
        scheme, host, port = origin_of(url)
        raise UnsafeLinkError(
            f"Canvas sent a pagination link to another origin ({scheme}://{host}:{port}); "
            "refusing to send the token there"
        )
    return url


@lru_cache(maxsize=8)
def _trusted_prefix(base_url: str) -> str | None:
    """``base_url`` and a "/" when it is a bare origin every link under it shares, else None.

    A bare origin: a scheme, a host and maybe a port, without credentials, path, query
    or whitespace. The netloc of a URL that starts with it and the "/" is its netloc.
    """
    try:
        parts = urlsplit(base_url)
        parts.port  # noqa: B018 -- a port that does not parse: no shortcut
    except ValueError:
        return None
    if (
        not parts.scheme
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or _WHITESPACE.search(base_url)
    ):
        return None
    return f"{parts.scheme}://{parts.netloc}/"
