from __future__ import annotations

from typing import Any

import pytest

from pageviews.sources.records import EXTRA_FIELDS, course_of, course_rows, extra_values


def view(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "v1",
        "url": "https://c.example.edu/courses/1693/modules",
        "context_type": "Course",
        "created_at": "2015-02-01T12:00:00Z",
        "interaction_seconds": 7.21,
        "links": {"user": 5, "context": 1693, "asset": None, "real_user": None, "account": 1},
    }
    base.update(fields)
    return base


def test_course_context_link_decides() -> None:
    assert course_of(view()) == 1693
    assert course_of(view(links={"context": 169})) == 169


def test_other_contexts_do_not_belong_even_with_a_course_url() -> None:
    assert course_of(view(context_type="Group", links={"context": 1693})) is None
    assert course_of(view(context_type="User", links={"context": 5})) is None


def test_global_ids_from_sharded_canvas_compare_by_local_id() -> None:
    assert course_of(view(links={"context": 7 * 10**13 + 1693})) == 1693


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://c.example.edu/courses/1693/modules", 1693),
        ("https://c.example.edu/courses/1693", 1693),
        ("https://c.example.edu/courses/1693?x=1", 1693),
        ("https://c.example.edu/api/v1/courses/1693/enrollments", 1693),
        ("/courses/169/pages/intro", 169),
        ("https://c.example.edu/courses/16930/modules", 16930),
        ("https://c.example.edu/about/courses/1693", None),
        ("https://c.example.edu/profile", None),
        ("https://c.example.edu/courses/abc", None),
    ],
)
def test_url_fallback_matches_exact_ids_only(url: str, expected: int | None) -> None:
    assert course_of(view(url=url, links=None, context_type=None)) == expected
    assert course_of(view(url=url, links={"context": None}, context_type=None)) == expected


def test_169_never_matches_1693_urls() -> None:
    v = view(url="https://c.example.edu/courses/1693/grades", links=None, context_type=None)
    assert course_rows([v], {169}, "2015-01-01T00:00:00Z", "2015-12-31T23:59:59Z") == ([], 0)


def test_rows_keep_course_views_inside_inclusive_bounds() -> None:
    views = [
        view(id="edge-start", created_at="2015-01-26T00:00:00Z"),
        view(id="edge-end", created_at="2015-03-12T23:59:59Z"),
        view(id="after", created_at="2015-03-13T00:00:00Z"),
        view(id="before", created_at="2015-01-25T23:59:59Z"),
        view(id="other", links={"context": 42}),
        view(id="none", interaction_seconds=None, created_at="2015-02-01T05:00:00-07:00"),
    ]
    rows, unusable = course_rows(views, {1693}, "2015-01-26T00:00:00Z", "2015-03-12T23:59:59Z")
    assert unusable == 0
    modules = "https://c.example.edu/courses/1693/modules"
    assert [r[:5] for r in rows] == [
        (1693, "2015-01-26T00:00:00Z", "edge-start", modules, 7.21),
        (1693, "2015-03-12T23:59:59Z", "edge-end", modules, 7.21),
        (1693, "2015-02-01T12:00:00Z", "none", modules, None),
    ]


def test_rows_route_to_each_wanted_course() -> None:
    views = [view(id="a"), view(id="b", links={"context": 169}), view(id="c", links={"context": 7})]
    rows, _ = course_rows(views, {169, 1693}, "2015-01-01T00:00:00Z", "2015-12-31T00:00:00Z")
    assert [(r[0], r[2]) for r in rows] == [(1693, "a"), (169, "b")]


def test_any_course_is_kept_when_no_course_is_named() -> None:
    # The store keeps a user's views of every course: reports route them by course.
    views = [view(id="a"), view(id="b", links={"context": 169}), view(id="d", url="/x", links={})]
    rows, _ = course_rows(views, None, "2015-01-01T00:00:00Z", "2015-12-31T00:00:00Z")
    assert [(r[0], r[2]) for r in rows] == [(1693, "a"), (169, "b")]


def test_records_missing_fields_take_the_careful_path() -> None:
    sparse: list[dict[str, Any]] = [
        {"id": "s1", "url": "https://c/courses/1693/x", "created_at": "2015-02-01T00:00:00Z"},
        {"id": "s2", "created_at": "2015-02-01T00:00:00Z", "links": {"context": 1693},
         "context_type": "Course"},
        {"id": 77, "url": "https://c/courses/169/x", "created_at": "2015-02-01T00:00:00Z"},
    ]  # fmt: skip
    rows, _ = course_rows(sparse, {1693}, "2015-01-01T00:00:00Z", "2015-12-31T00:00:00Z")
    assert [r[:5] for r in rows] == [
        (1693, "2015-02-01T00:00:00Z", "s1", "https://c/courses/1693/x", None),
        (1693, "2015-02-01T00:00:00Z", "s2", "", None),
    ]
    assert (
        course_rows(sparse, {169}, "2015-01-01T00:00:00Z", "2015-12-31T00:00:00Z")[0][0][2] == "77"
    )


def test_views_without_id_or_time_are_left_out_and_counted() -> None:
    views = [
        view(id=None),
        {k: v for k, v in view().items() if k != "id"},
        {k: v for k, v in view().items() if k != "created_at"},
        view(id="bad-time", created_at="yesterday"),
        view(id=""),
        view(id=None, links={"context": 7}),  # another course's: not this report's loss
        view(id="kept"),
    ]
    rows, unusable = course_rows(views, {1693}, "2015-01-01T00:00:00Z", "2015-12-31T00:00:00Z")
    assert [r[2] for r in rows] == ["kept"]
    assert unusable == 5


def test_integer_ids_are_kept_as_their_digits() -> None:
    big = 2**70 + 1
    rows, _ = course_rows(
        [view(id=big), view(id=7)], {1693}, "2015-01-01T00:00:00Z", "2016-01-01T00:00:00Z"
    )
    assert [r[2] for r in rows] == [str(big), "7"]


def test_rows_keep_the_researcher_fields_in_order() -> None:
    full = view(
        id="r1", asset_type="Assignment", controller="assignments", action="show",
        participated=True, user_request=True, http_method="get", user_agent="UA/1",
        app_name="app", remote_ip="203.0.113.9",
        links={"context": 1693, "asset": 55, "user": 5},
    )  # fmt: skip
    sparse = {"id": "r2", "url": "https://c/courses/1693/x", "created_at": "2015-02-01T00:00:00Z"}
    hostile = view(
        id="r3", user_agent={"a": 1}, remote_ip=7, links={"context": 1693, "asset": 2**70}
    )
    rows, _ = course_rows(
        [full, sparse, hostile], {1693}, "2015-01-01T00:00:00Z", "2015-12-31T00:00:00Z"
    )
    found = [dict(zip(EXTRA_FIELDS, extra_values(r[7], r[6]), strict=True)) for r in rows]
    assert found[:2] == [
        {"context_id": 1693, "asset_id": 55, "context_type": "Course",
         "asset_type": "Assignment", "controller": "assignments", "action": "show",
         "participated": True, "user_request": True, "http_method": "get",
         "user_agent": "UA/1", "app_name": "app", "remote_ip": "203.0.113.9"},
        dict.fromkeys(EXTRA_FIELDS),
    ]  # fmt: skip
    # What SQLite could not store, or is not an id or an address, is kept as null.
    assert (found[2]["user_agent"], found[2]["remote_ip"], found[2]["asset_id"]) == (None,) * 3


def test_views_of_one_shape_share_it() -> None:
    views = [view(id=f"s{i}", remote_ip=f"10.0.0.{i}") for i in range(3)]
    rows, _ = course_rows(views, {1693}, "2015-01-01T00:00:00Z", "2015-12-31T00:00:00Z")
    assert len({r[5] for r in rows}) == 1 and rows[0][7] is rows[2][7]
    assert [r[6] for r in rows] == ["10.0.0.0", "10.0.0.1", "10.0.0.2"]
