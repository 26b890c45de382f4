"""The throttle over HTTP: headers, refusals in 403 and 429 modes, concurrency."""

from __future__ import annotations

import aiohttp
import anyio
import pytest

from pageviews.testing import FakeConfig, LeakyBucket, ThrottleConfig, World, serve

pytestmark = pytest.mark.anyio


def _frozen() -> float:
    return 100.0


def _session(world: World) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(headers={"Authorization": f"Bearer {world.admin_token}"})


async def test_rate_headers_report_cost_and_remaining(small_world: World) -> None:
    uid = max(small_world.user_ids, key=small_world.page_view_count)
    async with serve(small_world, clock=_frozen) as fake, _session(small_world) as session:
        async with session.get(fake.url("/api/v1/users/self")) as response:
            assert response.headers["X-Request-Cost"] == "0.05"
            assert response.headers["X-Rate-Limit-Remaining"] == "599.95"
        url = fake.url(f"/api/v1/users/{uid}/page_views?per_page=100")
        async with session.get(url) as response:
            assert response.headers["X-Request-Cost"] == "0.25"  # 0.05 + 100 * 0.002
            assert response.headers["X-Rate-Limit-Remaining"] == "599.7"
            assert "Retry-After" not in response.headers


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, "403 Forbidden (Rate Limit Exceeded)\n"),
        (429, "429 Too Many Requests (Rate Limit Exceeded)\n"),
    ],
)
async def test_a_full_bucket_refuses(small_world: World, status: int, body: str) -> None:
    config = FakeConfig(throttle=ThrottleConfig(status=403 if status == 403 else 429))
    async with serve(small_world, config, clock=_frozen) as fake, _session(small_world) as session:
        fake.buckets[small_world.admin_token] = LeakyBucket(level=700.0, touched=100.0)
        async with session.get(fake.url("/api/v1/users/self")) as response:
            assert response.status == status
            assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert await response.text() == body
            assert "X-Request-Cost" not in response.headers
            assert "Retry-After" not in response.headers
            assert float(response.headers["X-Rate-Limit-Remaining"]) == pytest.approx(-100.05)
        # The teacher's token has its own bucket.
        headers = {"Authorization": f"Bearer {small_world.teacher_token}"}
        async with session.get(fake.url("/api/v1/users/self"), headers=headers) as response:
            assert response.status == 200
    assert [r.throttled for r in fake.requests] == [True, False]
    assert fake.stats.throttled == 1


async def test_a_refusal_can_say_when_to_retry(small_world: World) -> None:
    throttle = ThrottleConfig(status=429, retry_after=True)
    async with (
        serve(small_world, FakeConfig(throttle=throttle), clock=_frozen) as fake,
        _session(small_world) as session,
    ):
        fake.buckets[small_world.admin_token] = LeakyBucket(level=700.0, touched=100.0)
        async with session.get(fake.url("/api/v1/users/self")) as response:
            assert response.status == 429
            # Level 700.05 after the refusal: 150.05 units above room for a charge, at 10/s.
            assert response.headers["Retry-After"] == "16"


async def test_throttle_off_sends_no_rate_headers(small_world: World) -> None:
    async with (
        serve(small_world, FakeConfig(throttle=None)) as fake,
        _session(small_world) as session,
        session.get(fake.url("/api/v1/users/self")) as response,
    ):
        assert "X-Rate-Limit-Remaining" not in response.headers
        assert "X-Request-Cost" not in response.headers


async def test_the_twelfth_request_in_flight_is_refused(small_world: World) -> None:
    # The latency keeps the first eleven in flight (holding 50 each) while the rest arrive.
    config = FakeConfig(latency=1.0)
    statuses: list[int] = []
    async with serve(small_world, config, clock=_frozen) as fake, _session(small_world) as session:

        async def one() -> None:
            async with session.get(fake.url("/api/v1/users/self")) as response:
                statuses.append(response.status)

        async with anyio.create_task_group() as tg:
            for _ in range(12):
                tg.start_soon(one)
    assert sorted(statuses) == [200] * 11 + [403]
    assert fake.stats.peak_in_flight == 12
