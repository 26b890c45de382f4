from __future__ import annotations

import pytest
from multidict import CIMultiDict

from pageviews.canvas.outcomes import is_throttle
from pageviews.canvas.ratelimit import RateLimit, rate_limit_from_headers, retry_after_seconds
from pageviews.canvas.responses import decipher
from pageviews.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    ThrottledError,
    TransientError,
)

URL = "https://c.example.edu/api/v1/users/1/page_views"
JSON = {"Content-Type": "application/json; charset=utf-8"}
UNAUTHORIZED = (
    b'{"status":"unauthorized","errors":[{"message":"user not authorized to perform that action"}]}'
)


def headers(**values: str) -> CIMultiDict[str]:
    return CIMultiDict({**JSON, **{k.replace("_", "-"): v for k, v in values.items()}})


def test_success_decodes_body_next_link_and_rate() -> None:
    page = decipher(
        200,
        headers(
            Link=f'<{URL}?page=2>; rel="next"',
            X_Rate_Limit_Remaining="512.5",
            X_Request_Cost="0.25",
        ),
        b'[{"id": "a"}]',
        URL,
    )
    assert page.data == [{"id": "a"}]
    assert page.next_url == f"{URL}?page=2"
    assert page.rate == RateLimit(remaining=512.5, cost=0.25)


def test_rate_headers_are_read_case_insensitively_and_may_be_absent() -> None:
    assert rate_limit_from_headers(CIMultiDict({"x-rate-limit-remaining": "-40"})) == RateLimit(
        -40.0, None
    )
    assert rate_limit_from_headers(CIMultiDict()) is None
    assert rate_limit_from_headers(CIMultiDict({"X-Rate-Limit-Remaining": "lots"})) is None


def test_empty_final_page_and_204_are_empty_lists() -> None:
    assert decipher(200, headers(), b"[]", URL).data == []
    assert decipher(204, CIMultiDict(), b"", URL).data == []


def test_429_is_always_a_throttle_and_retry_after_is_kept() -> None:
    with pytest.raises(ThrottledError) as caught:
        decipher(429, headers(Retry_After="3"), b"", URL)
    assert caught.value.retry_after == 3.0


def test_403_with_canvas_text_is_a_throttle() -> None:
    body = b"403 Forbidden (Rate Limit Exceeded)"
    with pytest.raises(ThrottledError) as caught:
        decipher(403, CIMultiDict({"Content-Type": "text/plain"}), body, URL)
    assert caught.value.retry_after is None


def test_403_with_exhausted_quota_is_a_throttle() -> None:
    assert is_throttle(403, b"", RateLimit(remaining=0.0, cost=None))
    assert is_throttle(403, b"", RateLimit(remaining=-12.0, cost=None))


def test_plain_403_is_a_permission_error() -> None:
    body = UNAUTHORIZED
    with pytest.raises(PermissionDeniedError, match="not authorized"):
        decipher(403, headers(X_Rate_Limit_Remaining="300"), body, URL)


@pytest.mark.parametrize(
    "message",
    ["Invalid access token.", "Expired access token.", "Revoked access token."],
)
def test_401_token_failures_are_authentication_errors(message: str) -> None:
    body = f'{{"errors":[{{"message":"{message}"}}]}}'.encode()
    with pytest.raises(AuthenticationError, match=message.split()[0]):
        decipher(401, headers(), body, URL)


def test_401_without_credentials_is_an_authentication_error() -> None:
    body = b'{"status":"unauthenticated","errors":[{"message":"user authorization required"}]}'
    with pytest.raises(AuthenticationError):
        decipher(401, headers(), body, URL)


def test_401_unauthorized_is_a_permission_error() -> None:
    body = UNAUTHORIZED
    with pytest.raises(PermissionDeniedError):
        decipher(401, headers(), body, URL)


def test_404_and_400_carry_canvas_messages() -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        decipher(
            404,
            headers(),
            b'{"errors":[{"message":"The specified resource does not exist."}]}',
            URL,
        )
    with pytest.raises(BadRequestError, match="end_time must be after start_time"):
        decipher(400, headers(), b'{"error":"end_time must be after start_time"}', URL)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(status: int) -> None:
    with pytest.raises(TransientError) as caught:
        decipher(status, headers(), b'{"error":"pv4 timeout"}', URL)
    assert not isinstance(caught.value, ThrottledError)


def test_truncated_json_is_transient() -> None:
    with pytest.raises(TransientError):
        decipher(200, headers(), b'[{"id": "a", "url": "htt', URL)


def test_html_login_page_is_a_protocol_error() -> None:
    body = b"<!DOCTYPE html><html><title>Log In to Canvas</title></html>"
    with pytest.raises(ProtocolError, match="text/html"):
        decipher(200, CIMultiDict({"Content-Type": "text/html; charset=utf-8"}), body, URL)


def test_redirect_is_not_followed() -> None:
    with pytest.raises(ProtocolError, match="redirected"):
        decipher(302, CIMultiDict({"Location": "https://sso.example.edu/login"}), b"", URL)


def test_retry_after_must_be_a_non_negative_number() -> None:
    assert retry_after_seconds(CIMultiDict({"Retry-After": "2.5"})) == 2.5
    assert retry_after_seconds(CIMultiDict({"Retry-After": "-1"})) is None
    assert (
        retry_after_seconds(CIMultiDict({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) is None
    )


def test_link_header_lines_are_read_together() -> None:
    sent = CIMultiDict(JSON)
    sent.add("Link", f'<{URL}?page=1>; rel="current"')
    sent.add("Link", f'<{URL}?page=2>; rel="next"')
    assert decipher(200, sent, b"[]", URL).next_url == f"{URL}?page=2"


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity"])
def test_non_finite_throttle_headers_are_ignored(value: str) -> None:
    assert rate_limit_from_headers(CIMultiDict({"X-Rate-Limit-Remaining": value})) is None
    sent = CIMultiDict({"X-Rate-Limit-Remaining": "5", "X-Request-Cost": value})
    assert rate_limit_from_headers(sent) == RateLimit(5.0, None)
    assert retry_after_seconds(CIMultiDict({"Retry-After": value})) is None


def test_ids_past_64_bits_keep_every_digit() -> None:
    body = b'[{"id": 18446744073709551617}, {"id": 18446744073709551618, "x": 0.5}]'
    data = decipher(200, headers(), body, URL).data
    assert [item["id"] for item in data] == [2**64 + 1, 2**64 + 2]
    assert data[1]["x"] == 0.5
