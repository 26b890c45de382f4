"""The list endpoint's quirks (ListQuirks): clamped pages, 404s, late views, ids left out."""

from __future__ import annotations

from typing import Any, Literal

import aiohttp
import pytest

from pageviews.testing import FakeConfig, ListQuirks, World, serve

pytestmark = pytest.mark.anyio

PAGINATIONS: tuple[Literal["bookmark", "numeric"], ...] = ("bookmark", "numeric")


def _busiest(world: World) -> int:
    return max(world.user_ids, key=world.page_view_count)


def _session(world: World) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(headers={"Authorization": f"Bearer {world.admin_token}"})


async def _walk(session: aiohttp.ClientSession, url: str) -> tuple[list[list[Any]], int | None]:
    """Each page's data up to the end, and the status that ended the chain (None: 200s)."""
    pages: list[list[Any]] = []
    next_url: str | None = url
    while next_url is not None:
        async with session.get(next_url) as response:
            if response.status != 200:
                return pages, response.status
            following = response.links.get("next")
            next_url = None if following is None else str(following["url"])
            pages.append(await response.json())
        assert len(pages) < 1000
    return pages, None


@pytest.mark.parametrize("pagination", PAGINATIONS)
@pytest.mark.parametrize("clamp", [10, 50])
async def test_an_older_canvas_clamps_per_page_and_its_links_say_so(
    small_world: World, clamp: int, pagination: Literal["bookmark", "numeric"]
) -> None:
    uid = _busiest(small_world)
    config = FakeConfig(pagination=pagination, quirks=ListQuirks(max_per_page=clamp))
    async with serve(small_world, config) as fake, _session(small_world) as session:
        url = fake.url(f"/api/v1/users/{uid}/page_views?per_page=100")
        async with session.get(url) as response:
            assert f"per_page={clamp}" in response.headers["Link"]
            assert "per_page=100" not in response.headers["Link"]
        pages, status = await _walk(session, url)
    assert status is None
    assert all(len(data) == clamp for data in pages[:-2])
    served = [view["id"] for data in pages for view in data]
    assert served == [v["id"] for v in small_world.page_views(uid)]


@pytest.mark.parametrize("pagination", PAGINATIONS)
async def test_a_gone_page_answers_404_in_every_chain_of_the_user(
    small_world: World, pagination: Literal["bookmark", "numeric"]
) -> None:
    uid = _busiest(small_world)
    quirks = ListQuirks(gone_pages=frozenset({(uid, 2)}))
    config = FakeConfig(pagination=pagination, quirks=quirks)
    views = list(small_world.page_views(uid))
    window = f"start_time={views[-1]['created_at']}&end_time={views[9]['created_at']}"
    async with serve(small_world, config) as fake, _session(small_world) as session:
        whole = await _walk(session, fake.url(f"/api/v1/users/{uid}/page_views?per_page=5"))
        part = await _walk(session, fake.url(f"/api/v1/users/{uid}/page_views?per_page=5&{window}"))
        other = await _walk(session, fake.url(f"/api/v1/users/{uid}/page_views?per_page=50"))
    for pages, status in (whole, part):
        assert status == 404
        assert len(pages) == 1 and len(pages[0]) == 5
    assert other[1] == 404 or len(views) <= 50


@pytest.mark.parametrize("pagination", PAGINATIONS)
async def test_a_late_page_breaks_newest_first_but_the_chain_still_holds_every_view(
    small_world: World, pagination: Literal["bookmark", "numeric"]
) -> None:
    uid = _busiest(small_world)
    quirks = ListQuirks(late_pages=frozenset({(uid, 3)}))
    config = FakeConfig(pagination=pagination, quirks=quirks)
    async with serve(small_world, config) as fake, _session(small_world) as session:
        pages, status = await _walk(session, fake.url(f"/api/v1/users/{uid}/page_views?per_page=7"))
    assert status is None
    served = [view for data in pages for view in data]
    truth = list(small_world.page_views(uid))
    assert sorted(v["id"] for v in served) == sorted(v["id"] for v in truth)
    # The newest view opens page 3; pages 1 and 2 hold the next fourteen, in order.
    assert pages[2][0]["id"] == truth[0]["id"]
    assert [v["id"] for v in pages[0] + pages[1]] == [v["id"] for v in truth[1:15]]
    assert pages[2][0]["created_at"] > pages[1][-1]["created_at"]


async def test_views_of_idless_users_sometimes_come_without_an_id(small_world: World) -> None:
    uid = _busiest(small_world)
    config = FakeConfig(quirks=ListQuirks(idless_users=frozenset({uid})))
    async with serve(small_world, config) as fake, _session(small_world) as session:
        pages, _ = await _walk(session, fake.url(f"/api/v1/users/{uid}/page_views?per_page=100"))
        others = [u for u in small_world.user_ids if u != uid and small_world.page_view_count(u)]
        rest, _ = await _walk(session, fake.url(f"/api/v1/users/{others[0]}/page_views"))
    served = [view for data in pages for view in data]
    without = [view for view in served if "id" not in view]
    assert len(served) == small_world.page_view_count(uid)
    assert 0 < len(without) < len(served) / 2
    assert all("id" in view for data in rest for view in data)
