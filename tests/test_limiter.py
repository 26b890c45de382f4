"""The adaptive limit as a pure function of a sequence of observations."""

from __future__ import annotations

import pytest

from pageviews.limiter import AdaptiveLimit, Gate
from pageviews.ratelimit import RateLimit


def test_cold_start_is_cautious_then_opens_to_the_bucket_room() -> None:
    limit = AdaptiveLimit(ceiling=32)
    assert limit.limit == 2
    # Empty bucket, hwm 600: the first reply says 600 left with one other request out.
    assert limit.on_response(RateLimit(remaining=550.0, cost=0.1), in_flight=2) == 11
    # 11 in flight from an empty bucket is the most Canvas admits (12 x 50 = 600).


def test_limit_falls_as_the_bucket_fills() -> None:
    limit = AdaptiveLimit(ceiling=32, limit=11)
    seen = [
        limit.on_response(RateLimit(remaining=r, cost=2.0), in_flight=11) for r in (100, 60, 20)
    ]
    assert seen == [11, 10, 9]
    assert limit.on_response(RateLimit(remaining=-150.0, cost=2.0), in_flight=3) == 1


def test_ceiling_always_bounds_it() -> None:
    limit = AdaptiveLimit(ceiling=4)
    assert limit.on_response(RateLimit(remaining=700.0, cost=0.0), in_flight=1) == 4


def test_without_headers_the_ceiling_rules() -> None:
    limit = AdaptiveLimit(ceiling=24)
    assert limit.on_response(None, in_flight=1) == 24


def test_throttle_halves_and_recovers_from_headers() -> None:
    limit = AdaptiveLimit(ceiling=32, limit=12)
    assert limit.on_throttle(RateLimit(remaining=-10.0, cost=None), in_flight=12) == 6
    assert limit.throttles == 1
    assert limit.on_throttle(None, in_flight=6) == 3
    assert limit.on_response(RateLimit(remaining=400.0, cost=0.1), in_flight=1) == 7


def test_refusal_with_room_left_raises_the_assumed_up_front_cost() -> None:
    limit = AdaptiveLimit(ceiling=32, limit=12)
    # 8 in flight and 200 left, yet refused: each request must cost more than 50 up front.
    limit.on_throttle(RateLimit(remaining=200.0, cost=None), in_flight=8)
    assert limit.up_front_cost > 50.0
    assert limit.on_response(RateLimit(remaining=500.0, cost=0.1), in_flight=1) < 10


def test_limit_never_drops_below_one() -> None:
    limit = AdaptiveLimit(ceiling=8, limit=1)
    assert limit.on_throttle(None, in_flight=1) == 1
    assert limit.on_response(RateLimit(remaining=-200.0, cost=5.0), in_flight=1) == 1


@pytest.mark.anyio
async def test_gate_admits_up_to_the_limit_in_arrival_order() -> None:
    import anyio

    gate = Gate(AdaptiveLimit(ceiling=4, limit=2))
    order: list[int] = []
    release = anyio.Event()

    async def user(n: int) -> None:
        async with gate.slot():
            order.append(n)
            await release.wait()

    async with anyio.create_task_group() as tg:
        for n in range(5):
            tg.start_soon(user, n)
        await anyio.wait_all_tasks_blocked()
        assert order == [0, 1] and gate.in_flight == 2
        gate.observe(None)  # no throttle headers: the ceiling applies
        await anyio.wait_all_tasks_blocked()
        assert order == [0, 1, 2, 3]
        release.set()
    assert order == [0, 1, 2, 3, 4]
    assert gate.in_flight == 0 and gate.peak == 4


@pytest.mark.anyio
async def test_cancelled_waiter_gives_its_place_back() -> None:
    import anyio

    gate = Gate(AdaptiveLimit(ceiling=1, limit=1))
    hold = anyio.Event()

    async def holder() -> None:
        async with gate.slot():
            await hold.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(holder)
        await anyio.wait_all_tasks_blocked()
        with anyio.move_on_after(0.01):
            async with gate.slot():
                raise AssertionError("the slot was taken")
        hold.set()
    assert gate.in_flight == 0
    async with gate.slot():
        assert gate.in_flight == 1
