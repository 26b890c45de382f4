"""Hostile page-view chains (issue 8): each run ends exact, or names who is not."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from aiohttp import web

from .hostile import (
    Hostile,
    Reply,
    Served,
    as_object,
    gone_on_page,
    linking,
    run_cli,
    serving,
    unusable_records,
    views,
)

pytestmark = pytest.mark.anyio


async def test_link_header_split_over_several_lines_is_read_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Legal HTTP, and some proxies do it: current, next and first on three header lines.
    async def reply(served: Served) -> web.StreamResponse:
        response = web.json_response(served.rows)
        for part in served.link.split(","):
            response.headers.add("Link", part)
        return response

    canvas = Hostile({11: views(11, 250), 12: views(12, 30)}, reply=reply)
    async with serving(canvas):
        outcome = await run_cli(canvas, tmp_path, capsys, "--no-split")
    assert outcome.code == 0, outcome.err
    assert outcome.rows() == {11: 250, 12: 30}


async def test_shard_global_user_ids_are_requested_as_canvas_gave_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 20000000000011 is user 11 of shard 2: another person than this shard's user 11.
    far = 20_000_000_000_011
    canvas = Hostile({11: views(11, 30), far: views(far, 140)})
    async with serving(canvas):
        outcome = await run_cli(canvas, tmp_path, capsys)
    assert outcome.code == 0, outcome.err
    assert outcome.rows() == {11: 30, far: 140}
    assert any(path.startswith(f"/api/v1/users/{far}/page_views") for path in canvas.asked)


async def test_404_in_the_middle_of_a_chain_names_the_user_incomplete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    canvas = Hostile({11: views(11, 30), 12: views(12, 150)}, reply=gone_on_page(2))
    async with serving(canvas):
        outcome = await run_cli(canvas, tmp_path, capsys, "--no-split")
    assert outcome.code == 9, outcome.err
    assert "INCOMPLETE user 12" in outcome.err
    assert "not found" not in outcome.err


async def test_404_on_a_window_split_off_names_the_user_incomplete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 400 views a minute apart before 2015-02-20 12:00: the first page covers 100 minutes
    # of a 45-day range, so the rest is split into windows, each ending before that page.
    async def reply(served: Served) -> web.StreamResponse:
        if served.request.query.get("end_time", "~") < "2015-02-20T12":
            return web.json_response({"errors": [{"message": "gone"}]}, status=404)
        return served.normal()

    canvas = Hostile({11: views(11, 400)}, reply=reply)
    async with serving(canvas):
        outcome = await run_cli(canvas, tmp_path, capsys)
    assert any("end_time=2015-02" in path for path in canvas.asked)  # it did split
    assert outcome.code == 9, outcome.err
    assert "INCOMPLETE user 11: Canvas answered 404 part-way" in outcome.err


async def test_404_on_the_first_request_means_the_user_is_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    canvas = Hostile({11: views(11, 30)}, roster=[{"user_id": 11}, {"user_id": 13}])
    async with serving(canvas):
        outcome = await run_cli(canvas, tmp_path, capsys)
    assert outcome.code == 0, outcome.err
    assert "skipped user 13: not found" in outcome.err
    assert outcome.rows() == {11: 30}


async def test_404_instead_of_the_empty_last_page_after_a_short_page_is_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Pages of 100 then 30: the short page was the last with data, so nothing is missing.
    async def reply(served: Served) -> web.StreamResponse:
        if not served.rows:
            raise web.HTTPNotFound(text='{"errors":[{"message":"gone"}]}')
        return served.normal()

    canvas = Hostile({11: views(11, 130), 12: views(12, 30), 14: views(14, 100)}, reply=reply)
    async with serving(canvas):
        outcome = await run_cli(canvas, tmp_path, capsys, "--no-split")
    # A full page followed by a 404 may have had more behind it: user 14 is not exact.
    assert outcome.code == 9, outcome.err
    assert "not found" not in outcome.err
    assert "INCOMPLETE user 14" in outcome.err
    assert "user 11" not in outcome.err and "user 12" not in outcome.err
    assert outcome.rows()[11] == 130 and outcome.rows()[12] == 30


async def test_records_without_id_or_time_name_their_user_incomplete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    canvas = Hostile({11: unusable_records(30), 12: views(12, 10)})
    async with serving(canvas):
        outcome = await run_cli(canvas, tmp_path, capsys)
    assert outcome.code == 9, outcome.err
    assert "INCOMPLETE user 11: Canvas sent 5 page views without an id" in outcome.err, outcome.err
    assert outcome.rows() == {12: 10}


async def test_endless_empty_pages_end_the_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def reply(served: Served) -> web.StreamResponse:
        if served.page > 50:  # a bound, so the unfixed client ends too (with 50 requests)
            return served.normal()
        return served.normal(
            Link=f'<{canvas.page_url(served.request, served.page + 1)}>; rel="next"'
        )

    canvas = Hostile({11: views(11, 130)}, reply=reply)
    async with serving(canvas):
        outcome = await run_cli(canvas, tmp_path, capsys)
    assert outcome.code == 0, outcome.err
    assert outcome.rows() == {11: 130}
    assert len(canvas.asked) == 4  # two pages of data, an empty page, one more empty page


@pytest.mark.parametrize(
    ("netloc", "code", "says"),
    [
        ("evil:pw@127.0.0.1:{port}", 8, "credentials"),
        ("127.0.0.1:{port} ", 7, "malformed"),
    ],
)
async def test_a_bad_next_link_is_refused_and_never_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], netloc: str, code: int, says: str
) -> None:
    canvas = Hostile({11: views(11, 30)}, reply=linking(netloc))
    async with serving(canvas):
        first = await run_cli(canvas, tmp_path, capsys)
        again = await run_cli(canvas, tmp_path, capsys)
    for outcome in (first, again):
        assert outcome.code == code, outcome.err
        assert says in outcome.err.splitlines()[-1]
    with sqlite3.connect(tmp_path / "out" / "pageviews-state.sqlite") as db:
        assert db.execute("SELECT next_url FROM units").fetchall() == [(None,)]


@pytest.mark.parametrize("where", ["enrollments", "page_views"])
async def test_an_object_where_a_list_belongs_is_not_canvas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    if where == "enrollments":
        canvas = Hostile({11: views(11, 3)}, roster={"enrollments": [{"user_id": 11}]})
        path = "/api/v1/courses/1693/enrollments"
    else:
        canvas = Hostile({11: views(11, 3)}, reply=as_object)
        path = "/api/v1/users/11/page_views"
    async with serving(canvas):
        outcome = await run_cli(canvas, tmp_path, capsys)
    assert outcome.code == 7, outcome.err
    assert f"expected a JSON list from {path}" in outcome.err


async def test_non_finite_rate_limit_headers_are_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def reply(served: Served) -> web.StreamResponse:
        return served.normal(**{"X-Rate-Limit-Remaining": "inf", "X-Request-Cost": "nan"})

    canvas = Hostile({11: views(11, 130), 12: views(12, 5)}, reply=reply)
    async with serving(canvas):
        # One place in flight: the limiter weighs every reply's headers at once.
        outcome = await run_cli(canvas, tmp_path, capsys, "--concurrency", "1")
    assert outcome.code == 0, outcome.err
    assert outcome.rows() == {11: 130, 12: 5}


async def test_ids_past_64_bits_stay_distinct(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = views(11, 30)
    for n, record in enumerate(records):
        record["id"] = 2**64 + n  # orjson reads these as floats: 30 ids would become 2
    canvas = Hostile({11: records})
    async with serving(canvas):
        outcome = await run_cli(canvas, tmp_path, capsys)
    assert outcome.code == 0, outcome.err
    assert outcome.rows() == {11: 30}


def gone_instead_of_empty(user_12_page: int | None = None) -> Reply:
    """404 in place of every empty last page; user 12 also 404s on ``user_12_page``."""

    async def reply(served: Served) -> web.StreamResponse:
        if not served.rows or (served.user == "12" and served.page == user_12_page):
            raise web.HTTPNotFound(text='{"errors":[{"message":"gone"}]}')
        return served.normal()

    return reply


@pytest.mark.parametrize("size", [10, 50])
async def test_a_404_after_full_pages_of_a_server_paging_by_fewer_than_100_is_not_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], size: int
) -> None:
    # The server applies per_page=size and says so in its links (docs/canvas.md#link-per-page). User
    # 11's
    # one short page ended its list; user 12's chain breaks on page 2 after a full page;
    # user 14 holds exactly one full page, so a 404 for its empty page hides nothing
    # provably: both are incomplete, and nothing is said to be "not found".
    users = {11: views(11, size // 2), 12: views(12, 3 * size + 5), 14: views(14, size)}
    canvas = Hostile(users, per_page=size, reply=gone_instead_of_empty(user_12_page=2))
    async with serving(canvas):
        outcome = await run_cli(canvas, tmp_path, capsys, "--no-split")
    assert outcome.code == 9, outcome.err
    assert "INCOMPLETE user 12" in outcome.err and "INCOMPLETE user 14" in outcome.err
    assert "user 11" not in outcome.err and "not found" not in outcome.err
    assert outcome.rows()[11] == size // 2


async def test_a_page_shorter_than_one_before_it_ends_a_list_whose_links_name_no_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Pages of 25 that never say their size: 25, 25, 7 then a 404 is provably the end
    # (a longer page came before); one page of 7 then a 404 proves nothing.
    users = {11: views(11, 57), 12: views(12, 7)}
    canvas = Hostile(users, per_page=25, links_per_page=False, reply=gone_instead_of_empty())
    async with serving(canvas):
        outcome = await run_cli(canvas, tmp_path, capsys, "--no-split")
    assert outcome.code == 9, outcome.err
    assert "INCOMPLETE user 12" in outcome.err and "user 11" not in outcome.err
    assert outcome.rows()[11] == 57
