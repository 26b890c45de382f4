"""One classification of every Canvas reply, with the bodies Canvas sends (docs/canvas.md)."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from pageviews.canvas.failures import HistoryUnavailableError, QueryGoneError, failure
from pageviews.canvas.outcomes import LIST, POLL, RESULTS, START, Call, Outcome, classify
from pageviews.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PageviewsError,
    PermissionDeniedError,
    ProtocolError,
    ThrottledError,
    TransientError,
)

ALL: tuple[Call, ...] = (LIST, START, POLL, RESULTS)
HISTORY: tuple[Call, ...] = (START, POLL, RESULTS)
ROOM = {"X-Rate-Limit-Remaining": "350.0", "X-Request-Cost": "150.0"}
EMPTY = {"X-Rate-Limit-Remaining": "0.0"}
# app/middleware/request_throttle.rb's refusal, text/plain.
THROTTLE_403 = b"403 Forbidden (Rate Limit Exceeded)\n"
THROTTLE_429 = b"429 Too Many Requests (Rate Limit Exceeded)\n"
INVALID = b'{"errors":[{"message":"Invalid access token."}]}'
EXPIRED = b'{"errors":[{"message":"Expired access token."}],"expired_at":"2015-04-01T00:00:00Z"}'
REVOKED = b'{"errors":[{"message":"Revoked access token."}]}'
NO_TOKEN = b'{"status":"unauthenticated","errors":[{"message":"user authorization required"}]}'
SCOPES = b'{"errors":[{"message":"Insufficient scopes on access token."}]}'
NOT_PERMITTED = (
    b'{"status":"unauthorized","errors":[{"message":"user not authorized to perform that action"}]}'
)
MISSING = b'{"errors":[{"message":"The specified resource does not exist."}]}'
NO_SERVICE = b'{"error":"Page views history is not available in this environment."}'
PROXY_404 = b"Not Found\n"
QUERY_GONE = b'{"error":"The query was not found."}'
RESULT_GONE = b'{"error":"The result for query was not found."}'
JOBS_RUNNING = b'{"error":"Page Views rate limit exceeded. Please wait and try again."}'
QUEUE_FULL = b'{"error":"Query queue is at capacity. Please wait and try again."}'
SERVER = b'{"errors":[{"message":"An error occurred.","error_code":"internal_server_error"}]}'
RESULT_500 = b'{"error":"An unexpected error occurred."}'
MALFORMED = b'{"error":"Page Views received an invalid or malformed request."}'
PV4_TIMEOUT = b'{"error":"pv4 timeout"}'

CASES: list[tuple[tuple[Call, ...], int, dict[str, str], bytes, Outcome]] = [
    ((LIST, POLL), 200, ROOM, b"[]", Outcome.OK),
    ((LIST, POLL), 204, {}, b"", Outcome.OK),
    ((START,), 201, ROOM, b'{"poll_url":"/api/v1/users/page_views/query/q"}', Outcome.OK),
    ((START,), 204, {}, b"", Outcome.UNEXPECTED),
    ((RESULTS,), 200, {}, b"", Outcome.OK),
    ((RESULTS,), 204, {}, b"", Outcome.OK),
    ((RESULTS,), 201, {}, b"", Outcome.UNEXPECTED),
    # Canvas's request throttle: the body, or an empty bucket, is the evidence on a 403.
    (ALL, 403, {}, THROTTLE_403, Outcome.THROTTLED),
    (ALL, 403, EMPTY, b"", Outcome.THROTTLED),
    (ALL, 429, {}, THROTTLE_429, Outcome.THROTTLED),
    (ALL, 429, EMPTY, JOBS_RUNNING, Outcome.THROTTLED),
    ((LIST, POLL), 429, ROOM, PV4_TIMEOUT, Outcome.THROTTLED),
    # The export service's own limits are no full bucket.
    ((START, RESULTS), 429, ROOM, JOBS_RUNNING, Outcome.BUSY),
    ((START, RESULTS), 429, {}, JOBS_RUNNING, Outcome.BUSY),
    ((START,), 503, ROOM, QUEUE_FULL, Outcome.BUSY),
    ((LIST, POLL, RESULTS), 503, ROOM, QUEUE_FULL, Outcome.FAULT),
    # The token, every way Canvas refuses it, on every call.
    (ALL, 401, {}, INVALID, Outcome.TOKEN_REJECTED),
    (ALL, 401, {}, EXPIRED, Outcome.TOKEN_REJECTED),
    (ALL, 401, {}, REVOKED, Outcome.TOKEN_REJECTED),
    (ALL, 403, ROOM, REVOKED, Outcome.TOKEN_REJECTED),
    (ALL, 401, {}, NO_TOKEN, Outcome.TOKEN_REJECTED),
    (ALL, 401, {}, SCOPES, Outcome.REFUSED),
    (ALL, 401, {}, NOT_PERMITTED, Outcome.REFUSED),
    (ALL, 403, ROOM, NOT_PERMITTED, Outcome.REFUSED),
    # What a 404 means depends on the call.
    ((LIST,), 404, {}, MISSING, Outcome.NOT_FOUND),
    ((LIST,), 404, {}, PV4_TIMEOUT, Outcome.NOT_FOUND),
    ((START,), 404, {}, MISSING, Outcome.NOT_FOUND),
    ((POLL, RESULTS), 404, {}, MISSING, Outcome.UNAVAILABLE),
    (HISTORY, 404, {}, NO_SERVICE, Outcome.UNAVAILABLE),
    (HISTORY, 404, {}, PROXY_404, Outcome.UNAVAILABLE),
    ((POLL, RESULTS), 404, {}, QUERY_GONE, Outcome.GONE),
    ((POLL, RESULTS), 404, {}, RESULT_GONE, Outcome.GONE),
    ((START,), 404, {}, QUERY_GONE, Outcome.UNAVAILABLE),
    (ALL, 400, {}, MALFORMED, Outcome.BAD_REQUEST),
    # Faults: each call's set.
    (ALL, 500, {}, SERVER, Outcome.FAULT),
    ((LIST, POLL, RESULTS), 502, {}, PV4_TIMEOUT, Outcome.FAULT),
    ((START,), 502, {}, b"", Outcome.FAULT),
    ((RESULTS,), 500, {}, RESULT_500, Outcome.FAULT),
    ((LIST, POLL), 507, {}, b"", Outcome.FAULT),
    ((RESULTS,), 501, {}, b"", Outcome.FAULT),
    ((START,), 507, {}, b"", Outcome.UNEXPECTED),
    ((LIST, POLL), 501, {}, b"", Outcome.UNEXPECTED),
    ((LIST, POLL), 302, {"Location": "https://sso.example.edu/login"}, b"", Outcome.REDIRECT),
    ((START, RESULTS), 302, {"Location": "https://sso.example.edu/login"}, b"", Outcome.UNEXPECTED),
    (ALL, 418, {}, b"teapot", Outcome.UNEXPECTED),
]


@pytest.mark.parametrize(
    ("call", "status", "headers", "body", "outcome"),
    [(call, *rest) for calls, *rest in CASES for call in calls],
)
def test_every_reply_of_every_call_has_one_outcome(
    call: Call, status: int, headers: dict[str, str], body: bytes, outcome: Outcome
) -> None:
    answer = classify(call, status, CIMultiDict(headers), body)
    assert (answer.outcome, answer.status) == (outcome, status)


def test_an_answer_carries_canvass_message_its_rate_and_retry_after() -> None:
    answer = classify(RESULTS, 404, CIMultiDict({**ROOM, "Retry-After": "7"}), RESULT_GONE)
    assert answer.message == "The result for query was not found."
    assert answer.rate is not None and answer.rate.remaining == 350.0
    assert answer.retry_after == 7.0
    throttled = classify(LIST, 403, CIMultiDict(), THROTTLE_403)
    assert throttled.message == "" and throttled.retry_after is None


FAILURES: list[tuple[Call, int, bytes, type[PageviewsError], str]] = [
    (LIST, 429, b"", ThrottledError, "rate limited by Canvas (HTTP 429)"),
    (RESULTS, 429, JOBS_RUNNING, ThrottledError,
     "rate limited by Canvas (HTTP 429: Page Views rate limit exceeded. "
     "Please wait and try again.)"),
    (START, 401, REVOKED, AuthenticationError, "Canvas rejected the token: Revoked access token."),
    (POLL, 401, INVALID, AuthenticationError, "Canvas rejected the token: Invalid access token."),
    (START, 403, NOT_PERMITTED, PermissionDeniedError,
     "user not authorized to perform that action"),
    (START, 404, MISSING, NotFoundError, "The specified resource does not exist."),
    (POLL, 404, QUERY_GONE, QueryGoneError, "The query was not found."),
    (RESULTS, 404, NO_SERVICE, HistoryUnavailableError,
     "Canvas's page-view history is not available here (HTTP 404: "
     "Page views history is not available in this environment.)"),
    (LIST, 400, MALFORMED, BadRequestError,
     "Canvas refused the request: Page Views received an invalid or malformed request."),
    (START, 400, MALFORMED, BadRequestError,
     "Canvas refused the history query: Page Views received an invalid or malformed request."),
    (RESULTS, 400, b'{"error":"The result file could not be read."}', TransientError,
     "Canvas could not serve the file: The result file could not be read."),
    (LIST, 502, PV4_TIMEOUT, TransientError, "HTTP 502 from Canvas"),
    (START, 500, SERVER, TransientError, "HTTP 500 from Canvas for a history call"),
    (RESULTS, 503, RESULT_500, TransientError, "HTTP 503 from Canvas for a history result"),
    (LIST, 302, b"", ProtocolError,
     "Canvas redirected (HTTP 302); use the final address as the base URL"),
    (START, 507, b"full", ProtocolError, "unexpected HTTP 507 starting a history query: full"),
    (RESULTS, 302, b"", ProtocolError, "unexpected HTTP 302 for a history result"),
    (LIST, 418, b"teapot", ProtocolError, "unexpected HTTP 418 from Canvas: teapot"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "status", "body", "error", "text"), FAILURES)
def test_each_outcome_raises_one_error_in_each_calls_words(
    call: Call, status: int, body: bytes, error: type[PageviewsError], text: str
) -> None:
    raised = failure(classify(call, status, CIMultiDict(), body), call)
    assert type(raised) is error and str(raised) == text


def test_a_fault_keeps_its_status_canvass_words_and_retry_after() -> None:
    answer = classify(START, 502, CIMultiDict({"Retry-After": "3"}), PV4_TIMEOUT)
    raised = failure(answer, START)
    assert isinstance(raised, TransientError)
    assert (raised.status, raised.said, raised.retry_after) == (502, "pv4 timeout", 3.0)
    gone = failure(classify(POLL, 404, CIMultiDict(), NO_SERVICE), POLL)
    assert isinstance(gone, HistoryUnavailableError)
    assert gone.said == "Page views history is not available in this environment."
