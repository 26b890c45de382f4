"""Page views over HTTP: pagination, per_page, time bounds and their errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from pageviews.testing import FakeConfig, World, serve

pytestmark = pytest.mark.anyio


def _busiest(world: World) -> int:
    return max(world.user_ids, key=world.page_view_count)


def _session(world: World) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(headers={"Authorization": f"Bearer {world.admin_token}"})


async def _walk(session: aiohttp.ClientSession, url: str) -> list[tuple[list[Any], dict[str, str]]]:
    """Follow rel="next" to the end; return each page's data and its rel -> URL map."""
    pages = []
    next_url: str | None = url
    while next_url is not None:
        async with session.get(next_url) as response:
            assert response.status == 200, await response.text()
            rels = {str(rel): str(link["url"]) for rel, link in response.links.items()}
            pages.append((await response.json(), rels))
        next_url = rels.get("next")
        assert len(pages) < 1000
    return pages


async def test_bookmark_pagination_serves_every_view_once_newest_first(small_world: World) -> None:
    uid = _busiest(small_world)
    async with serve(small_world) as fake, _session(small_world) as session:
        pages = await _walk(session, fake.url(f"/api/v1/users/{uid}/page_views?per_page=30"))
    served = [view for data, _ in pages for view in data]
    assert [v["id"] for v in served] == [v["id"] for v in small_world.page_views(uid)]
    assert len({v["id"] for v in served}) == small_world.page_view_count(uid)
    # pv4: every non-empty page has next, even a short one; an empty page ends the list.
    assert pages[-1] == ([], pages[-1][1])
    assert "next" not in pages[-1][1]
    assert all("next" in rels for data, rels in pages[:-1])
    assert 0 < len(pages[-2][0]) < 30 or small_world.page_view_count(uid) % 30 == 0
    assert all(set(rels) <= {"current", "next", "first"} for _, rels in pages)
    assert all(url.startswith(fake.base_url) for _, rels in pages for url in rels.values())


async def test_bookmarks_cross_same_second_views_exactly_once(small_world: World) -> None:
    def ties(uid: int) -> int:
        stamps = [v["created_at"] for v in small_world.page_views(uid)]
        return len(stamps) - len(set(stamps))

    uid = max(small_world.user_ids, key=ties)
    assert ties(uid) > 0
    async with serve(small_world) as fake, _session(small_world) as session:
        pages = await _walk(session, fake.url(f"/api/v1/users/{uid}/page_views?per_page=1"))
    served = [view["id"] for data, _ in pages for view in data]
    assert served == [v["id"] for v in small_world.page_views(uid)]


async def test_numeric_pagination_has_last_only_on_the_final_page(small_world: World) -> None:
    uid = _busiest(small_world)
    config = FakeConfig(pagination="numeric")
    async with serve(small_world, config) as fake, _session(small_world) as session:
        pages = await _walk(session, fake.url(f"/api/v1/users/{uid}/page_views?per_page=20"))
        async with session.get(pages[-1][1]["current"].replace("page=", "page=9")) as past:
            assert await past.json() == []
    served = [view["id"] for data, _ in pages for view in data]
    assert served == [v["id"] for v in small_world.page_views(uid)]
    assert ["last" in rels for _, rels in pages] == [False] * (len(pages) - 1) + [True]
    assert "page=2" in pages[0][1]["next"]
    assert "prev" in pages[1][1]


# Page views take up to 200 a page (PAGE_VIEWS_MAX_PER_PAGE); other lists 100.
@pytest.mark.parametrize(("per_page", "size"), [("", 10), ("1000", 200), ("0", 1), ("x", 1)])
async def test_per_page_is_clamped(small_world: World, per_page: str, size: int) -> None:
    uid = _busiest(small_world)
    query = f"?per_page={per_page}" if per_page else ""
    async with (
        serve(small_world) as fake,
        _session(small_world) as session,
        session.get(fake.url(f"/api/v1/users/{uid}/page_views{query}")) as response,
    ):
        assert len(await response.json()) == min(size, small_world.page_view_count(uid))
        assert f"per_page={size}" in response.headers["Link"]


def _user_with(world: World, stamp: str) -> int:
    return next(
        u for u in world.user_ids if any(v["created_at"] == stamp for v in world.page_views(u))
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2015-01-26T00:00:00Z", "2015-01-26T00:00:00Z"),
        ("2015-01-26T00:00:00", "2015-01-26"),  # no offset: the fake's zone, UTC
        ("2015-01-25T19:00:00-05:00", "2015-01-26T00:00:00.000Z"),
    ],
)
async def test_time_bounds_are_inclusive(small_world: World, start: str, end: str) -> None:
    uid = _user_with(small_world, "2015-01-26T00:00:00Z")
    expected = [
        v["id"] for v in small_world.page_views(uid) if v["created_at"] == "2015-01-26T00:00:00Z"
    ]
    params = {"start_time": start, "end_time": end, "per_page": "100"}
    async with serve(small_world) as fake, _session(small_world) as session:
        url = fake.url(f"/api/v1/users/{uid}/page_views")
        async with session.get(url, params=params) as response:
            assert [v["id"] for v in await response.json()] == expected


async def test_unparseable_times_are_ignored(small_world: World) -> None:
    uid = _busiest(small_world)
    params = {"start_time": "last tuesday", "end_time": "soon", "per_page": "100"}
    async with serve(small_world) as fake, _session(small_world) as session:
        url = fake.url(f"/api/v1/users/{uid}/page_views")
        async with session.get(url, params=params) as response:
            assert response.status == 200
            assert len(await response.json()) == min(100, small_world.page_view_count(uid))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start_time": "2999-01-01T00:00:00Z"}, "start_time cannot be in the future"),
        (
            {"start_time": "2015-03-01T00:00:00Z", "end_time": "2015-02-01T00:00:00Z"},
            "end_time must be after start_time",
        ),
    ],
)
async def test_bad_time_ranges_are_400(
    small_world: World, params: dict[str, str], message: str
) -> None:
    uid = _busiest(small_world)
    async with serve(small_world) as fake, _session(small_world) as session:
        url = fake.url(f"/api/v1/users/{uid}/page_views")
        async with session.get(url, params=params) as response:
            assert response.status == 400
            assert await response.json() == {"error": message}


async def test_retention_silently_clips_old_views(small_world: World) -> None:
    uid = _busiest(small_world)
    now = datetime(2015, 3, 1, tzinfo=UTC)
    config = FakeConfig(retention_days=10, now=now)
    async with serve(small_world, config) as fake, _session(small_world) as session:
        pages = await _walk(session, fake.url(f"/api/v1/users/{uid}/page_views?per_page=100"))
    served = [v["id"] for data, _ in pages for v in data]
    store = small_world.views(uid)
    cutoff = int(datetime(2015, 2, 19, tzinfo=UTC).timestamp()) * 1000
    now_ms = int(now.timestamp()) * 1000
    # Ten days back from the fake's clock, and nothing from after it.
    expected = [i for i, t in zip(store.ids, store.ms, strict=True) if cutoff <= t <= now_ms]
    assert served == expected[::-1]
    assert 0 < len(served) < small_world.page_view_count(uid)


async def test_sis_user_id_self_and_unknown_users(small_world: World) -> None:
    uid = _busiest(small_world)
    sis = small_world.users[uid].sis_user_id
    async with serve(small_world) as fake, _session(small_world) as session:
        async with session.get(fake.url(f"/api/v1/users/sis_user_id:{sis}/page_views")) as by_sis:
            assert by_sis.status == 200
            assert f"/api/v1/users/{uid}/page_views" in by_sis.headers["Link"]
        async with session.get(fake.url("/api/v1/users/self/page_views")) as own:
            first = next(small_world.page_views(small_world.admin_user_id))
            assert (await own.json())[0]["id"] == first["id"]
        async with session.get(fake.url("/api/v1/users/1/page_views")) as missing:
            assert missing.status == 404
            body = {"errors": [{"message": "The specified resource does not exist."}]}
            assert await missing.json() == body


async def test_links_drop_the_access_token(small_world: World) -> None:
    uid = _busiest(small_world)
    async with serve(small_world) as fake, aiohttp.ClientSession() as session:
        params = {"access_token": small_world.admin_token, "per_page": "5"}
        url = fake.url(f"/api/v1/users/{uid}/page_views")
        async with session.get(url, params=params) as response:
            assert response.status == 200
            assert small_world.admin_token not in response.headers["Link"]
            assert "access_token" not in response.headers["Link"]
    assert fake.requests[0].query == "access_token=REDACTED&per_page=5"
    assert fake.requests[0].user_id == uid
