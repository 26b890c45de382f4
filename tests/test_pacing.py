"""Pacing: sequences of observations against a simulated bucket, then the delay asked for."""

from __future__ import annotations

import pytest

from pageviews.canvas.pacing import Pacer
from pageviews.canvas.ratelimit import RateLimit


def lone_replies(
    pacer: Pacer, *, remaining: float, cost: float, outflow: float, n: int
) -> tuple[float, float]:
    """Feed ``n`` lone replies 20 ms apart from a bucket leaking ``outflow``.

    Return the time and the remaining of the last one.
    """
    now = 0.0
    for _ in range(n):
        now += 0.02
        remaining += outflow * 0.02 - cost
        pacer.on_response(now, RateLimit(remaining, cost), alone=True)
    return now, remaining


def test_without_headers_it_never_waits() -> None:
    pacer = Pacer()
    for step in range(100):
        pacer.on_response(step * 0.02, None, alone=True)
    assert pacer.delay(2.0) == 0.0
    assert pacer.outflow is None


def test_measures_the_outflow_of_a_draining_bucket() -> None:
    pacer = Pacer()
    lone_replies(pacer, remaining=60.0, cost=1.3, outflow=3.0, n=40)
    assert pacer.outflow == pytest.approx(3.0)


def test_no_outflow_before_the_span_is_long_enough() -> None:
    pacer = Pacer()
    lone_replies(pacer, remaining=60.0, cost=1.3, outflow=3.0, n=10)  # 0.18 s
    assert pacer.outflow is None
    assert pacer.delay(0.2) == 0.0


def test_a_tiny_bucket_near_its_mark_asks_for_the_leak_that_makes_room() -> None:
    pacer = Pacer()
    now, remaining = lone_replies(pacer, remaining=59.0, cost=1.3, outflow=3.0, n=45)
    # The first guess at the charge is Canvas's ratio: a twelfth of the fullest remaining.
    need = pacer.charge * (1 + pacer.margin)
    fullest = 59.0 + 0.06 - 1.3  # the first reply's
    assert pacer.max_remaining == pytest.approx(fullest)
    assert pacer.charge == pytest.approx(fullest / 12)
    assert remaining < need
    assert pacer.delay(now) == pytest.approx((need - remaining) / 3.0)
    # Later, the leak has made part of the room.
    assert pacer.delay(now + 0.5) == pytest.approx((need - remaining) / 3.0 - 0.5)


def test_a_throttle_raises_the_charge_above_the_remaining_it_showed() -> None:
    pacer = Pacer()
    now, _ = lone_replies(pacer, remaining=59.0, cost=1.3, outflow=3.0, n=45)
    before = pacer.delay(now)
    pacer.on_throttle(now, RateLimit(7.0, None))
    assert pacer.charge == pytest.approx(7.0 * pacer.throttle_step)
    assert pacer.delay(now) > before
    assert pacer.outflow == pytest.approx(3.0)  # a refusal keeps what was measured


def test_canvas_defaults_never_wait_with_room_for_the_charge() -> None:
    pacer = Pacer()
    now, _ = lone_replies(pacer, remaining=599.0, cost=0.4, outflow=10.0, n=100)
    assert pacer.charge == pytest.approx(50.0, rel=0.01)
    assert pacer.delay(now) == 0.0


def test_replies_with_others_in_flight_do_not_measure_the_outflow() -> None:
    pacer = Pacer()
    for step in range(100):
        # Others' charges come and go: these remaining values say nothing of the leak.
        pacer.on_response(step * 0.02, RateLimit(40.0 - 10.0 * (step % 3), 1.0), alone=False)
    assert pacer.outflow is None


def test_a_nearly_empty_bucket_does_not_measure_the_outflow() -> None:
    pacer = Pacer()
    # Level pinned near zero: each reply shows only its own cost, nothing seems to leak.
    for step in range(100):
        pacer.on_response(step * 0.02, RateLimit(600.0 - 0.05 * (step % 5), 0.05), alone=True)
    assert pacer.outflow is None


def test_no_wait_is_longer_than_the_cap() -> None:
    pacer = Pacer()
    now, _ = lone_replies(pacer, remaining=59.0, cost=1.3, outflow=3.0, n=45)
    pacer.on_throttle(now, RateLimit(-200.0, None))
    assert pacer.delay(now) == pacer.max_delay


def test_refusals_of_a_lone_request_measure_the_outflow_too() -> None:
    # Pages cost nearly a charge (40 of 50) and a refused request costs nothing: a lone
    # client alternates one success with refusals whose remaining shows only the leak.
    pacer = Pacer()
    pacer.on_response(-5.0, RateLimit(599.95, 0.05), alone=True)  # the run's first reply
    now, remaining = 0.0, 13.0
    pacer.on_response(now, RateLimit(remaining, 40.0), alone=True)
    for _ in range(30):
        now += 0.02
        remaining += 100.0 * 0.02
        pacer.on_throttle(now, RateLimit(remaining, None), alone=True)
    assert pacer.outflow == pytest.approx(100.0)
    # Past the refusals, the next request waits for the room a charge needs.
    assert pacer.delay(now) == pytest.approx((pacer.charge * 1.2 - remaining) / 100.0)
