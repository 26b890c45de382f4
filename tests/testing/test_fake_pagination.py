"""Pure tests of bookmarks, per_page, Link headers and time parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pageviews.testing import decode_bookmark, encode_bookmark
from pageviews.testing.pagination import (
    link_header,
    numbered_links,
    page_url,
    per_page,
    ruby_to_i,
)
from pageviews.testing.timeparse import parse_canvas_time, to_iso_millis


def test_bookmark_round_trip_is_unpadded_urlsafe_base64() -> None:
    mark = ["2015-02-01T12:00:00.000Z", "3e246700-e305-0130-51de-02e33aa501ef"]
    page = encode_bookmark(mark)
    assert page.startswith("bookmark:")
    assert "=" not in page
    assert "+" not in page
    assert "/" not in page
    assert decode_bookmark(page) == mark


@pytest.mark.parametrize(
    "page", [None, "", "first", "2", "bookmark:", "bookmark:!!", "bookmark:e30", "bookmark:Zm9v"]
)
def test_malformed_or_absent_bookmark_means_first_page(page: str | None) -> None:
    # e30 is {} (not a list); Zm9v is "foo" (not JSON).
    assert decode_bookmark(page) is None


@pytest.mark.parametrize(
    ("value", "size"),
    [(None, 10), ("5", 5), ("100", 100), ("1000", 100), ("0", 1), ("-3", 1), ("abc", 1), ("7x", 7)],
)
def test_per_page_default_and_clamp(value: str | None, size: int) -> None:
    assert per_page(value) == size


def test_ruby_to_i() -> None:
    assert ruby_to_i(" 12abc") == 12
    assert ruby_to_i("-4") == -4
    assert ruby_to_i("x") == 0


def test_page_url_strips_credentials_and_old_page_params() -> None:
    params = [
        ("start_time", "2015-01-26T00:00:00Z"),
        ("access_token", "s3cret"),
        ("api_key", "k"),
        ("page", "3"),
        ("per_page", "50"),
        ("type[]", "StudentEnrollment"),
    ]
    url = page_url("http://h/api/v1/x", params, "first", 50)
    assert url == (
        "http://h/api/v1/x?start_time=2015-01-26T00%3A00%3A00Z"
        "&type%5B%5D=StudentEnrollment&page=first&per_page=50"
    )
    assert "s3cret" not in url


def test_link_header_format() -> None:
    header = link_header([("current", "http://h/a?page=1"), ("next", "http://h/a?page=2")])
    assert header == '<http://h/a?page=1>; rel="current",<http://h/a?page=2>; rel="next"'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-01-26T00:00:00Z", datetime(2015, 1, 26, tzinfo=UTC)),
        ("2015-01-26", datetime(2015, 1, 26, tzinfo=UTC)),
        ("2015-01-26T00:00:00", datetime(2015, 1, 26, tzinfo=UTC)),  # no offset: UTC
        ("2015-01-26T01:00:00+01:00", datetime(2015, 1, 26, tzinfo=UTC)),
        ("2015-01-26 00:00:00 -0500", datetime(2015, 1, 26, 5, tzinfo=UTC)),
        ("26 Jan 2015", datetime(2015, 1, 26, tzinfo=UTC)),
    ],
)
def test_parse_canvas_time_accepts_common_forms(text: str, expected: datetime) -> None:
    assert parse_canvas_time(text) == expected


@pytest.mark.parametrize("text", [None, "", "yesterday", "2015-13-45", "not a date"])
def test_parse_canvas_time_returns_none_for_garbage(text: str | None) -> None:
    assert parse_canvas_time(text) is None


def test_offsets_survive_parsing() -> None:
    parsed = parse_canvas_time("2015-01-26T00:00:00-07:00")
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(hours=-7)
    assert parsed.astimezone(UTC).hour == 7


def test_to_iso_millis() -> None:
    assert (
        to_iso_millis(int(datetime(2015, 2, 1, 12, tzinfo=UTC).timestamp()) * 1000 + 7)
        == "2015-02-01T12:00:00.007Z"
    )


@pytest.mark.parametrize(
    ("page", "shown", "rels"),
    [
        (1, 10, ["current", "next", "first"]),  # a full page cannot know the end
        (1, 3, ["current", "first", "last"]),
        (1, 0, ["current", "first", "last"]),  # an empty first page knows there is nothing
        (3, 10, ["current", "next", "prev", "first"]),
        (3, 4, ["current", "prev", "first", "last"]),
        (4, 0, ["current", "next", "prev", "first"]),  # past the end: still unknown
    ],
)
def test_numbered_links_without_a_count(page: int, shown: int, rels: list[str]) -> None:
    links = numbered_links("https://x/c", [("state[]", "available")], page, 10, shown)
    assert [rel for rel, _ in links] == rels
    urls = dict(links)
    assert urls["current"] == f"https://x/c?state%5B%5D=available&page={page}&per_page=10"
    if "last" in urls:
        assert urls["last"] == urls["current"]
