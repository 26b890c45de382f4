"""Pure tests of the leaky bucket (request_throttle.rb semantics)."""

from __future__ import annotations

import pytest

from pageviews.testing import LeakyBucket, ThrottleConfig
from pageviews.testing.throttle import throttled_body

CONFIG = ThrottleConfig()


def test_twelfth_request_in_flight_is_refused_on_an_empty_bucket() -> None:
    bucket = LeakyBucket()
    admitted = [bucket.reserve(CONFIG, now=0.0) for _ in range(12)]
    assert admitted == [True] * 11 + [False]
    assert bucket.level == 600.0


def test_refusal_starts_exactly_at_the_high_water_mark() -> None:
    assert LeakyBucket(level=549.99, touched=0.0).reserve(CONFIG, now=0.0)
    assert not LeakyBucket(level=550.0, touched=0.0).reserve(CONFIG, now=0.0)


def test_settle_refunds_the_up_front_cost_and_adds_the_real_cost() -> None:
    bucket = LeakyBucket()
    assert bucket.reserve(CONFIG, now=0.0)
    bucket.settle(CONFIG, CONFIG.cost(100), now=0.0)
    assert bucket.level == pytest.approx(0.05 + 0.2)
    assert bucket.remaining(CONFIG) == pytest.approx(600 - 0.25)


def test_bucket_leaks_outflow_per_second_and_never_below_zero() -> None:
    bucket = LeakyBucket(level=300.0, touched=10.0)
    assert bucket.increment(CONFIG, 0.0, now=20.0) == pytest.approx(200.0)
    assert bucket.increment(CONFIG, 0.0, now=100.0) == 0.0
    assert bucket.touched == 100.0


def test_leak_applies_before_the_charge_like_the_lua_script() -> None:
    # The script leaks first and clamps only after adding: 5 - 100 + 50 -> 0.
    bucket = LeakyBucket(level=5.0, touched=0.0)
    assert bucket.increment(CONFIG, 50.0, now=10.0) == 0.0


def test_level_is_clamped_to_maximum_and_remaining_goes_negative() -> None:
    bucket = LeakyBucket(level=790.0, touched=0.0)
    assert not bucket.reserve(CONFIG, now=0.0)
    assert bucket.level == 800.0
    bucket.settle(CONFIG, CONFIG.cost(0), now=0.0)
    assert bucket.remaining(CONFIG) == pytest.approx(600 - 750.05)


def test_a_refused_request_keeps_only_its_own_small_cost() -> None:
    bucket = LeakyBucket(level=580.0, touched=0.0)
    assert not bucket.reserve(CONFIG, now=0.0)
    bucket.settle(CONFIG, CONFIG.cost(0), now=0.0)
    assert bucket.level == pytest.approx(580.05)


def test_cost_grows_with_items() -> None:
    config = ThrottleConfig(cost_base=1.0, cost_per_item=0.5)
    assert config.cost(0) == 1.0
    assert config.cost(10) == 6.0


def test_throttled_bodies() -> None:
    assert throttled_body(403) == "403 Forbidden (Rate Limit Exceeded)\n"
    assert throttled_body(429) == "429 Too Many Requests (Rate Limit Exceeded)\n"


def test_retry_after_is_the_whole_seconds_until_a_charge_fits() -> None:
    tiny = ThrottleConfig(maximum=80.0, hwm=60.0, up_front_cost=10.0, outflow=3.0)
    # Level 56: a charge fits once the level is below 50, 6 units (2 s) of leak away.
    assert LeakyBucket(level=56.0, touched=0.0).wait(tiny) == 2
    assert LeakyBucket(level=56.5, touched=0.0).wait(tiny) == 3
    # Never less than a second, even when the bucket has room already.
    assert LeakyBucket(level=0.0, touched=0.0).wait(tiny) == 1
