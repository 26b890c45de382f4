"""Each fault kind, observed once over HTTP, then a clean retry."""

from __future__ import annotations

import aiohttp
import orjson
import pytest

from pageviews.testing import FakeConfig, FaultConfig, FaultKind, World, serve

pytestmark = pytest.mark.anyio


def _config(kind: FaultKind, stall_seconds: float = 10.0) -> FakeConfig:
    faults = FaultConfig(rate=1.0, kinds=(kind,), max_consecutive=1, stall_seconds=stall_seconds)
    return FakeConfig(faults=faults)


def _busiest(world: World) -> int:
    return max(world.user_ids, key=world.page_view_count)


def _session(world: World) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(headers={"Authorization": f"Bearer {world.admin_token}"})


@pytest.mark.parametrize(
    ("kind", "status", "needle"),
    [
        (FaultKind.HTTP_500, 500, '"errors"'),
        (FaultKind.HTTP_502, 502, '"error"'),
        (FaultKind.HTTP_503, 503, '"error"'),
        (FaultKind.HTTP_504, 504, "Gateway"),
        (FaultKind.THROTTLE_403, 403, "Rate Limit Exceeded"),
        (FaultKind.THROTTLE_429, 429, "Rate Limit Exceeded"),
        (FaultKind.THROTTLE_429_RETRY_AFTER, 429, "Rate Limit Exceeded"),
    ],
)
async def test_error_faults_fail_once_then_succeed(
    small_world: World, kind: FaultKind, status: int, needle: str
) -> None:
    uid = _busiest(small_world)
    async with serve(small_world, _config(kind)) as fake, _session(small_world) as session:
        url = fake.url(f"/api/v1/users/{uid}/page_views?per_page=50")
        async with session.get(url) as response:
            assert response.status == status
            assert needle in await response.text()
            retry_after = response.headers.get("Retry-After")
            assert retry_after == ("1" if kind is FaultKind.THROTTLE_429_RETRY_AFTER else None)
            if kind is FaultKind.THROTTLE_429:
                assert "X-Request-Cost" not in response.headers
        async with session.get(url) as retry:
            assert retry.status == 200
            assert len(await retry.json()) == 50
        # Other endpoints are left alone by default.
        async with session.get(fake.url("/api/v1/users/self")) as other:
            assert other.status == 200
    assert [r.fault for r in fake.requests] == [kind, None, None]


async def test_reset_sends_part_of_the_body_then_drops(small_world: World) -> None:
    uid = _busiest(small_world)
    async with serve(small_world, _config(FaultKind.RESET)) as fake, _session(small_world) as s:
        url = fake.url(f"/api/v1/users/{uid}/page_views?per_page=50")
        async with s.get(url) as response:
            assert response.status == 200
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()
        async with s.get(url) as retry:
            assert len(await retry.json()) == 50


async def test_truncated_json_is_a_complete_message_that_does_not_parse(small_world: World) -> None:
    uid = _busiest(small_world)
    config = _config(FaultKind.TRUNCATED_JSON)
    async with serve(small_world, config) as fake, _session(small_world) as session:
        url = fake.url(f"/api/v1/users/{uid}/page_views?per_page=50")
        async with session.get(url) as response:
            body = await response.read()
            assert response.status == 200
            assert len(body) == int(response.headers["Content-Length"])
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(body)
        async with session.get(url) as retry:
            assert len(await retry.json()) == 50


async def test_stall_outlasts_the_client_timeout(small_world: World) -> None:
    uid = _busiest(small_world)
    config = _config(FaultKind.STALL, stall_seconds=30.0)
    async with serve(small_world, config) as fake, _session(small_world) as session:
        url = fake.url(f"/api/v1/users/{uid}/page_views")
        with pytest.raises(TimeoutError):
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=0.3)) as response:
                await response.read()
        async with session.get(url) as retry:
            assert retry.status == 200


async def test_repeat_link_points_next_back_at_the_same_page(small_world: World) -> None:
    uid = _busiest(small_world)
    config = _config(FaultKind.REPEAT_LINK)
    async with serve(small_world, config) as fake, _session(small_world) as session:
        url = fake.url(f"/api/v1/users/{uid}/page_views?per_page=5")
        async with session.get(url) as response:
            data = await response.json()
            rels = {str(k): str(v["url"]) for k, v in response.links.items()}
    assert [v["id"] for v in data] == [v["id"] for v in small_world.page_views(uid)][:5]
    assert rels["next"] == rels["current"]


async def test_restart_bookmark_leads_back_to_the_first_page(small_world: World) -> None:
    uid = _busiest(small_world)
    config = _config(FaultKind.RESTART_BOOKMARK)
    async with serve(small_world, config) as fake, _session(small_world) as session:
        url = fake.url(f"/api/v1/users/{uid}/page_views?per_page=5")
        async with session.get(url) as response:
            first = await response.json()
            next_url = str(response.links["next"]["url"])
        async with session.get(next_url) as again:
            assert await again.json() == first


async def test_faults_can_target_every_endpoint_and_be_switched_off(small_world: World) -> None:
    config = FakeConfig(faults=FaultConfig(rate=1.0, kinds=(FaultKind.HTTP_503,), targets="all"))
    async with serve(small_world, config) as fake, _session(small_world) as session:
        async with session.get(fake.url("/api/v1/users/self")) as response:
            assert response.status == 503
        fake.config.faults = FaultConfig()
        async with session.get(fake.url("/api/v1/users/self")) as response:
            assert response.status == 200


async def test_permanent_user_faults(small_world: World) -> None:
    broken, missing, foreign = small_world.user_ids[1:4]
    faults = FaultConfig(
        broken_users=frozenset({broken}),
        missing_users=frozenset({missing}),
        foreign_link_users=frozenset({foreign}),
    )
    async with serve(small_world, FakeConfig(faults=faults)) as fake, _session(small_world) as s:
        for _ in range(3):
            async with s.get(fake.url(f"/api/v1/users/{broken}/page_views")) as response:
                assert response.status == 500
        async with s.get(fake.url(f"/api/v1/users/{missing}/page_views")) as response:
            assert response.status == 404
            body = {"errors": [{"message": "The specified resource does not exist."}]}
            assert await response.json() == body
        async with s.get(fake.url(f"/api/v1/users/{foreign}/page_views?per_page=1")) as response:
            next_url = str(response.links["next"]["url"])
    assert next_url.startswith("http://127.0.0.2:9/api/v1/users/")
