"""Reply values and Canvas's canned error replies (docs/canvas.md#errors).

A `Reply` is plain data; the aiohttp layer turns it into bytes on the wire, so
faults can still rewrite its links or body first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import orjson

from .pagination import link_header

JSON: Final = "application/json"
TEXT: Final = "text/plain"
HTML: Final = "text/html"
# `WWW-Authenticate` accompanies token failures (config/application.rb).
_BEARER: Final = {"WWW-Authenticate": 'Bearer realm="canvas-lms"'}
LOGIN_PAGE: Final = (
    b"<!DOCTYPE html>\n<html><head><title>Log In to Canvas</title></head>"
    b'<body><form action="/login/saml" method="post"><p>Single sign-on required.</p>'
    b'<input type="submit" value="Log In"></form></body></html>\n'
)


@dataclass(slots=True)
class Reply:
    """Describe one response before it is written."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list)  # (rel, absolute URL)
    items: int = 0  # records served, for the throttle's cost
    extra_cost: float = 0.0  # the controller's increment_request_cost, for the throttle
    stream: Iterable[bytes] | None = None  # a body written in chunks, instead of `body`
    # A streamed body broken this many bytes in: the connection dropped, the body ended
    # there cleanly, or no more bytes sent (`HistoryConfig.cut_results`).
    cut: tuple[Literal["drop", "end", "stall"], int] | None = None

    def next_link(self) -> str | None:
        """Return the rel="next" URL, if any."""
        return next((url for rel, url in self.links if rel == "next"), None)

    def replace_next(self, url: str) -> None:
        """Point rel="next" at `url`."""
        self.links = [(rel, url if rel == "next" else old) for rel, old in self.links]

    def all_headers(self) -> dict[str, str]:
        """Return the headers, with the Link header built from `links`."""
        headers = dict(self.headers)
        if self.links:
            headers["Link"] = link_header(self.links)
        return headers


def json_reply(data: Any, status: int = 200, *, items: int = 0) -> Reply:
    """Return a JSON reply serialised with orjson."""
    return Reply(status, orjson.dumps(data), items=items)


def errors_reply(
    code: int, message: str, *, status: str | None = None, error_report_id: int | None = None
) -> Reply:
    """Return Canvas's `{"errors":[{"message":...}]}` reply (`api_error_json`)."""
    data: dict[str, Any] = {} if status is None else {"status": status}
    data["errors"] = [{"message": message}]
    if error_report_id is not None:
        data["error_report_id"] = error_report_id
    return json_reply(data, code)


def invalid_token() -> Reply:
    """Return the reply to an unknown token."""
    reply = errors_reply(401, "Invalid access token.")
    reply.headers.update(_BEARER)
    return reply


def unauthenticated() -> Reply:
    """Return the reply to a request without credentials."""
    reply = errors_reply(401, "user authorization required", status="unauthenticated")
    reply.headers.update(_BEARER)
    return reply


def unauthorized(status: int = 401) -> Reply:
    """Return the reply to an authenticated caller lacking permission (401, or 403)."""
    return errors_reply(status, "user not authorized to perform that action", status="unauthorized")


def not_found() -> Reply:
    """Return the reply for a missing record or route."""
    return errors_reply(404, "The specified resource does not exist.")


def pv4_error(status: int, message: str) -> Reply:
    """Return an error of the pv4 page-view service: `{"error": ...}`."""
    return json_reply({"error": message}, status)


def text_reply(status: int, text: str, content_type: str = TEXT) -> Reply:
    """Return a plain-text (or HTML) reply."""
    return Reply(status, text.encode(), content_type)
