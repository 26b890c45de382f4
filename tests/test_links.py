from __future__ import annotations

import pytest

from pageviews.canvas.links import check_same_origin, origin_of, parse_link_header
from pageviews.errors import ProtocolError, UnsafeLinkError

PV = "https://c.example.edu/api/v1/users/5/page_views"
CANVAS_LINK = (
    f'<{PV}?page=bookmark:WyIyMDI0Il0&per_page=100>; rel="current",'
    f'<{PV}?page=bookmark:WyIyMDIzIl0&per_page=100>; rel="next",'
    f'<{PV}?page=first&per_page=100>; rel="first"'
)


def test_parses_every_relation() -> None:
    links = parse_link_header(CANVAS_LINK)
    assert set(links) == {"current", "next", "first"}
    assert links["next"].endswith("page=bookmark:WyIyMDIzIl0&per_page=100")


def test_missing_or_empty_header_has_no_links() -> None:
    assert parse_link_header(None) == {}
    assert parse_link_header("") == {}


def test_commas_inside_urls_do_not_split_entries() -> None:
    header = '<https://h/x?a=1,2&b=3>; rel="next", <https://h/x?a=0>; rel="first"'
    assert parse_link_header(header) == {
        "next": "https://h/x?a=1,2&b=3",
        "first": "https://h/x?a=0",
    }


def test_relation_names_are_case_insensitive_and_may_be_unquoted() -> None:
    assert parse_link_header("<https://h/p2>; REL=Next") == {"next": "https://h/p2"}


def test_first_occurrence_of_a_relation_wins() -> None:
    header = '<https://h/a>; rel="next", <https://h/b>; rel="next"'
    assert parse_link_header(header)["next"] == "https://h/a"


def test_origin_fills_default_ports() -> None:
    assert origin_of("https://C.example.edu/x") == ("https", "c.example.edu", 443)
    assert origin_of("http://h:8080/") == ("http", "h", 8080)


def test_same_origin_link_is_allowed() -> None:
    url = "https://c.example.edu:443/api/v1/x?page=2"
    assert check_same_origin(url, "https://c.example.edu") == url


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/api/v1/x",
        "http://c.example.edu/api/v1/x",
        "https://c.example.edu:8443/api/v1/x",
        "https://c.example.edu.evil.com/api/v1/x",
    ],
)
def test_links_to_other_origins_are_refused(url: str) -> None:
    with pytest.raises(UnsafeLinkError):
        check_same_origin(url, "https://c.example.edu")


def test_single_quoted_relation_is_the_same_relation() -> None:
    assert parse_link_header("<https://h/p2>; rel='next'") == {"next": "https://h/p2"}


@pytest.mark.parametrize(
    ("url", "error", "says"),
    [
        ("https://evil:pw@c.example.edu/api/v1/x", UnsafeLinkError, "credentials"),
        ("https://c.example.edu:443 /api/v1/x", ProtocolError, "malformed"),
        ("https://c.example.edu:44x3/api/v1/x", ProtocolError, "malformed"),
        ("https://c.example.edu/api/v1/x?page=2\n", ProtocolError, "spaces"),
    ],
)
def test_links_with_credentials_or_a_bad_port_are_refused_without_echoing_them(
    url: str, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says) as caught:
        check_same_origin(url, "https://c.example.edu")
    assert "pw" not in str(caught.value)
