"""History paths, methods and start bodies, as pure functions."""

from __future__ import annotations

import pytest

from pageviews.testing.history_routes import HistoryRoute, history_route, request_params

QID = "0b9f1d2e-3c4a-4b5c-8d6e-7f8091a2b3c4"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/api/v1/users/42/page_views/query", HistoryRoute("start", "42", None)),
        ("POST", "/api/v1/users/self/page_views/query/", HistoryRoute("start", "self", None)),
        ("GET", f"/api/v1/users/42/page_views/query/{QID}", HistoryRoute("poll", "42", QID)),
        ("GET", f"/api/v1/users/42/page_views/query/{QID}/results",
         HistoryRoute("results", "42", QID)),
        ("HEAD", f"/api/v1/users/42/page_views/query/{QID}/results",
         HistoryRoute("results", "42", QID)),
        ("POST", "/api/v1/users/page_views/query", HistoryRoute("start", None, None)),
        ("GET", f"/api/v1/users/page_views/query/{QID}", HistoryRoute("poll", None, QID)),
        ("GET", f"/api/v1/users/page_views/query/{QID}/results",
         HistoryRoute("results", None, QID)),
        ("GET", "/api/v1/users/42/page_views/query", None),
        ("POST", f"/api/v1/users/42/page_views/query/{QID}", None),
        ("GET", "/api/v1/users/42/page_views", None),
        ("GET", f"/api/v1/users/42/page_views/query/{QID}/results/x", None),
    ],
)  # fmt: skip
def test_routes(method: str, path: str, expected: HistoryRoute | None) -> None:
    assert history_route(method, path) == expected


def test_a_json_body_joins_the_query_string_with_arrays_spread() -> None:
    body = b'{"start_date": "2015-01-01", "user_ids": [7, "sis_user_id:S1"], "x": null}'
    params = request_params((("a", "1"),), "application/json", body)
    assert params == (
        ("a", "1"),
        ("start_date", "2015-01-01"),
        ("user_ids", "7"),
        ("user_ids", "sis_user_id:S1"),
        ("x", "null"),
    )


def test_a_form_body_keeps_repeated_keys() -> None:
    body = b"user_ids%5B%5D=1&user_ids%5B%5D=2&end_date="
    params = request_params((), "application/x-www-form-urlencoded", body)
    assert params == (("user_ids[]", "1"), ("user_ids[]", "2"), ("end_date", ""))


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"'])
def test_an_unreadable_json_body_is_refused(body: bytes) -> None:
    assert request_params((), "application/json", body) is None


def test_no_body_leaves_the_query_string() -> None:
    assert request_params((("k", "v"),), "application/json", b"") == (("k", "v"),)
