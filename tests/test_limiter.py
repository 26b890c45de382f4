"""The adaptive limit as a pure function of a sequence of observations."""

from __future__ import annotations

import anyio
import pytest

from pageviews.canvas.limiter import AdaptiveLimit, Gate
from pageviews.canvas.ratelimit import RateLimit


def bucket_remaining(hwm: float, base: float, in_flight: int, up_front: float = 50.0) -> RateLimit:
    """What Canvas reports with ``in_flight`` other requests charged."""
    return RateLimit(remaining=hwm - base - up_front * in_flight, cost=0.1)


def settle(
    limit: AdaptiveLimit, hwm: float, base: float, rounds: int = 40, up_front: float = 50.0
) -> list[int]:
    """Feed responses as a steady client would: each sees the others still charged."""
    seen = []
    for _ in range(rounds):
        n = limit.limit
        for _ in range(n):
            limit.on_response(bucket_remaining(hwm, base, n - 1, up_front))
        seen.append(limit.limit)
    return seen


def test_cold_start_converges_within_a_few_round_trips() -> None:
    limit = AdaptiveLimit(ceiling=32)
    assert limit.limit == 1  # one request, then grow: the bucket may be near its mark
    seen = settle(limit, hwm=600, base=0)
    assert seen[4] >= 8
    # Canvas admits 11 from an empty bucket (12 x 50 = 600); it settles just below.
    assert 9 <= seen[-1] <= 11
    assert all(n <= 11 for n in seen)


def test_hosted_high_water_mark_is_used_without_configuration() -> None:
    assert 11 <= settle(AdaptiveLimit(ceiling=32), hwm=700, base=0)[-1] <= 13


def test_limit_falls_as_the_bucket_fills() -> None:
    limit = AdaptiveLimit(ceiling=32, initial=10)
    full = settle(limit, hwm=600, base=0, rounds=10)[-1]
    fuller = settle(limit, hwm=600, base=300, rounds=10)[-1]
    assert fuller < full
    assert fuller * 50 + 300 < 600


def test_ceiling_always_bounds_it() -> None:
    limit = AdaptiveLimit(ceiling=4)
    assert settle(limit, hwm=600, base=0)[-1] == 4


def test_without_headers_the_ceiling_rules() -> None:
    assert AdaptiveLimit(ceiling=24).on_response(None) == 24


def test_throttle_halves_and_headers_bring_it_back() -> None:
    limit = AdaptiveLimit(ceiling=32, initial=12)
    assert limit.on_throttle(RateLimit(remaining=-10.0, cost=None)) == 6
    assert limit.on_throttle(None) == 3
    assert limit.throttles == 2
    # Each throttle widened the reserve by a charge (9 in flight at most just after them);
    # the widening decays as clean rounds pass, back to the 11 an empty bucket admits.
    seen = settle(limit, hwm=600, base=0, rounds=200)
    assert max(seen[:5]) <= 9
    assert seen[-1] == 11 and max(seen) <= 11


def test_unknown_larger_charge_is_learned_from_a_few_throttles() -> None:
    # This Canvas charges 150 up front: only 3 requests fit in a 600 bucket, not 11.
    limit, hwm, up_front = AdaptiveLimit(ceiling=32), 600.0, 150.0
    capacity = 3
    throttled_rounds = []
    for round_no in range(60):
        n = limit.limit
        admitted = min(n, capacity)
        for k in reversed(range(admitted)):
            limit.on_response(RateLimit(remaining=hwm - up_front * k, cost=0.1))
        for _ in range(n - admitted):
            limit.on_throttle(RateLimit(remaining=hwm - up_front * capacity, cost=None))
        if n > admitted:
            throttled_rounds.append(round_no)
    assert len(throttled_rounds) <= 6
    assert throttled_rounds[-1] < 20  # then it stays within the bucket for a long while
    assert limit.limit >= 2


def test_frozen_limit_is_a_static_pool() -> None:
    limit = AdaptiveLimit(ceiling=8, initial=8, frozen=True)
    assert limit.on_response(RateLimit(remaining=-100.0, cost=1.0)) == 8
    assert limit.on_throttle(None) == 8


def test_limit_never_drops_below_one() -> None:
    limit = AdaptiveLimit(ceiling=8, initial=1)
    assert limit.on_throttle(None) == 1
    assert limit.on_response(RateLimit(remaining=-200.0, cost=5.0)) == 1


@pytest.mark.anyio
async def test_gate_admits_up_to_the_limit_in_arrival_order() -> None:
    gate = Gate(AdaptiveLimit(ceiling=4, initial=2))
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
        # Two admitted, but until a reply shows the bucket, only the first is sent.
        assert order == [0] and gate.in_flight == 2
        gate.observe(None)  # a reply, with no throttle headers: the ceiling applies
        await anyio.wait_all_tasks_blocked()
        assert order == [0, 1, 2, 3]
        release.set()
    assert order == [0, 1, 2, 3, 4]
    assert gate.in_flight == 0 and gate.peak == 4


@pytest.mark.anyio
async def test_cancelled_waiter_gives_its_place_back() -> None:
    gate = Gate(AdaptiveLimit(ceiling=1, initial=1))
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


def test_costly_kinds_hold_places_by_their_learned_cost() -> None:
    from pageviews.canvas.limiter import CostBook

    book = CostBook(up_front_cost=50.0)
    assert book.weight("list") == 1
    assert book.weight("history-start") == 3  # the prior, before any reply
    book.learn("history-start", 400.0)
    assert book.weight("history-start") == 8
    book.learn("history-start", 0.5)
    assert book.weight("history-start") == 7  # decays towards newer costs
    book.learn("list", None)
    assert book.weight("list") == 1
