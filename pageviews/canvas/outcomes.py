"""What a reply to any Canvas call means: one pure classification, one vocabulary.

Every call the harvester makes is read here: list pages, the roster and the other
plain GETs, and the PageView History API's start, poll and results. The client
turns an :class:`Answer` into data or retries; :mod:`.failures` turns it into the
error a caller sees. No I/O happens here.

The calls differ in a few answers, each for a reason Canvas gives
(docs/canvas.md#history-api): on a history start, a 429 without the bucket's
evidence is the export service's "jobs still running" and a 503 its full queue
(both ``BUSY``: waited for, not failed); on a poll or a results download a 404
says whether the query is gone or the service is not there at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

import orjson

from .ratelimit import RateLimit, rate_limit_from_headers, retry_after_seconds

#: The calls, named as the gate names their kinds ("" for list pages and every plain GET).
Call = Literal["", "history-start", "history-poll", "history-results"]
LIST: Final = ""
START: Final = "history-start"
POLL: Final = "history-poll"
RESULTS: Final = "history-results"


class Outcome(StrEnum):
    """What a reply means, whatever call it answers."""

    OK = "ok"
    #: Canvas's request throttle refused the call: the token's bucket is full.
    THROTTLED = "throttled"
    #: The export service's own limit: this token's jobs still running, or its queue full.
    BUSY = "busy"
    #: The token itself was refused: invalid, expired or revoked, or none was sent.
    TOKEN_REJECTED = "token rejected"
    #: The token is valid but may not read this (401 or 403).
    REFUSED = "refused"
    #: Canvas's 404 for a record: a user or course it does not know.
    NOT_FOUND = "not found"
    #: A history query, or its result, that Canvas no longer has (expired or unknown).
    GONE = "gone"
    #: A 404 no working History API gives: this Canvas has no export service.
    UNAVAILABLE = "unavailable"
    #: Canvas refused the parameters (400); on a results download, an unusable file.
    BAD_REQUEST = "bad request"
    #: A failure a retry may cure: Canvas's or a proxy's trouble (5xx).
    FAULT = "fault"
    REDIRECT = "redirect"
    UNEXPECTED = "unexpected"


@dataclass(frozen=True, slots=True)
class Answer:
    """A reply's meaning, with what a caller needs to act on it."""

    outcome: Outcome
    status: int
    #: Canvas's own message ("" for a success or a throttle).
    message: str = ""
    rate: RateLimit | None = None
    retry_after: float | None = None


# Canvas's throttled 403 carries this text (app/middleware/request_throttle.rb).
_THROTTLE_EVIDENCE: Final = b"Rate Limit Exceeded"
# Statuses a retry may cure (docs/canvas.md#errors: pv4 answers 502/503 on its own trouble).
_TRANSIENT_STATUSES: Final = frozenset({500, 502, 503, 504, 507, 520, 522, 524})
# A history start's faults: its 503 is the export service's full queue.
_START_FAULTS: Final = frozenset({500, 502, 504})
_AUTH_FAILURES: Final = ("invalid access token", "expired access token", "revoked access token")
_RECORD_MISSING: Final = "the specified resource does not exist"
_OK: Final = {
    LIST: range(200, 300),
    POLL: range(200, 300),
    START: (200, 201),
    RESULTS: (200, 204),
}


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
    """Say whether a refusal is Canvas's rate limiter (docs/canvas.md#throttling).

    A 429 always is; a 403 only on evidence, since a plain 403 is a permission error.
    """
    if status == 429:
        return True
    if status != 403:
        return False
    return _THROTTLE_EVIDENCE in body or (rate is not None and rate.remaining <= 0)


def classify(call: Call, status: int, headers: Mapping[str, str], body: bytes) -> Answer:
    """What ``status``, ``headers`` and ``body`` mean as the reply to ``call``.

    ``headers`` must look names up case-insensitively (aiohttp's do); ``body`` is
    the reply's (for a download, the start of its error reply).
    """
    rate = rate_limit_from_headers(headers)
    if status in _OK[call]:
        return Answer(Outcome.OK, status, rate=rate)
    if _bucket_full(call, status, body, rate):
        return Answer(
            Outcome.THROTTLED, status, rate=rate, retry_after=retry_after_seconds(headers)
        )
    message = canvas_message(body)
    return Answer(
        _refusal(call, status, message), status, message, rate, retry_after_seconds(headers)
    )


def _bucket_full(call: Call, status: int, body: bytes, rate: RateLimit | None) -> bool:
    """Whether Canvas's request throttle refused the call.

    On a history start or download, a 429 without the throttle's body while the
    bucket has room is the export service's own limit (docs/canvas.md#history-api).
    """
    if not is_throttle(status, body, rate):
        return False
    if call in (START, RESULTS) and status == 429:
        return _THROTTLE_EVIDENCE in body or (rate is not None and rate.remaining <= 0)
    return True


def _refusal(call: Call, status: int, message: str) -> Outcome:
    """The outcome of a reply that is neither a success nor a throttle."""
    if status == 429 or (status == 503 and call == START):
        return Outcome.BUSY  # a 429 reaching here came from a history start or download
    if status in (401, 403):
        text = message.lower()
        if text.startswith(_AUTH_FAILURES) or "authorization required" in message:
            return Outcome.TOKEN_REJECTED
        return Outcome.REFUSED
    if status == 404:
        return _not_found(call, message)
    if status == 400:
        return Outcome.BAD_REQUEST
    if call == START:
        return Outcome.FAULT if status in _START_FAULTS else Outcome.UNEXPECTED
    if call == RESULTS:
        return Outcome.FAULT if status >= 500 else Outcome.UNEXPECTED
    if status in _TRANSIENT_STATUSES:
        return Outcome.FAULT
    return Outcome.REDIRECT if 300 <= status < 400 else Outcome.UNEXPECTED


def _not_found(call: Call, message: str) -> Outcome:
    """What a 404 means on ``call``, from its message (Canvas's or anyone's).

    A Canvas without the export service answers its routes 404 "not available in
    this environment" (or 500, docs/canvas.md#history-api); an older Canvas has no
    such routes (Canvas's own 404 for an unknown path); a proxy may answer a bare
    "Not Found". Only two 404s come from a working History API: "The query was not
    found." and "The result for query was not found.". On a start, Canvas's 404 for
    a record may be a user it no longer knows.
    """
    if call == LIST:
        return Outcome.NOT_FOUND
    text = message.lower()
    if call == START:
        return Outcome.NOT_FOUND if text.startswith(_RECORD_MISSING) else Outcome.UNAVAILABLE
    if "query was not found" in text or "result for query was not found" in text:
        return Outcome.GONE
    return Outcome.UNAVAILABLE
