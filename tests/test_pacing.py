"""Pacing: sequences of observations against a simulated bucket, then the wait asked for."""

from __future__ import annotations

import math

import pytest

from pageviews.canvas.pacing import UNTIL_A_REPLY, Pacer
from pageviews.canvas.ratelimit import RateLimit
from pageviews.testing import LeakyBucket, ThrottleConfig

#: Issue 10's tiny bucket: one full page in flight nearly overruns it.
TINY = ThrottleConfig(maximum=80.0, hwm=60.0, up_front_cost=10.0, outflow=3.0, cost_base=0.3)


def lone_replies(
    pacer: Pacer, *, remaining: float, cost: float, outflow: float, n: int, now: float = 0.0
) -> tuple[float, float]:
    """Send and answer ``n`` lone requests 20 ms apart from a bucket leaking ``outflow``.

    Return the time and the remaining of the last reply.
    """
    for _ in range(n):
        ticket = pacer.admit()
        pacer.send(ticket)
        now += 0.02
        remaining += outflow * 0.02 - cost
        pacer.on_response(now, RateLimit(remaining, cost), ticket)
    return now, remaining


def test_without_headers_it_never_waits() -> None:
    pacer = Pacer()
    first = pacer.admit()
    pacer.send(first)
    pacer.on_response(0.02, None, first)
    tickets = [pacer.admit() for _ in range(20)]
    for ticket in tickets:
        assert pacer.wait(0.02, ticket) == 0.0
        pacer.send(ticket)
    assert pacer.outflow is None


def test_before_the_first_reply_one_request_at_a_time() -> None:
    # Start as if the bucket were full: a rerun may inherit one near its mark.
    pacer = Pacer()
    first, second, third = pacer.admit(), pacer.admit(), pacer.admit()
    assert pacer.wait(0.0, first) == 0.0
    assert pacer.wait(0.0, second) == UNTIL_A_REPLY
    pacer.send(first)
    assert pacer.wait(0.0, second) == UNTIL_A_REPLY
    pacer.on_response(0.02, RateLimit(590.0, 0.1), first)
    assert pacer.wait(0.02, second) == 0.0
    assert pacer.wait(0.02, third) == 0.0


def test_a_request_that_failed_without_a_reply_lets_the_next_go() -> None:
    pacer = Pacer()
    first, second = pacer.admit(), pacer.admit()
    pacer.send(first)
    pacer.done(first)  # a dropped connection: no headers seen
    assert pacer.wait(0.0, second) == 0.0


def test_measures_the_outflow_of_a_draining_bucket() -> None:
    pacer = Pacer()
    lone_replies(pacer, remaining=60.0, cost=1.3, outflow=3.0, n=40)
    assert pacer.outflow == pytest.approx(3.0)


def test_no_outflow_before_the_span_is_long_enough() -> None:
    pacer = Pacer()
    lone_replies(pacer, remaining=60.0, cost=1.3, outflow=3.0, n=10)  # 0.18 s
    assert pacer.outflow is None


def test_a_tiny_bucket_near_its_mark_asks_for_the_leak_that_makes_room() -> None:
    pacer = Pacer()
    now, remaining = lone_replies(pacer, remaining=59.0, cost=1.3, outflow=3.0, n=45)
    # The first guess at the charge is Canvas's ratio: a twelfth of the fullest remaining.
    need = pacer.charge * (1 + pacer.margin)
    fullest = 59.0 + 0.06 - 1.3  # the first reply's
    assert pacer.max_remaining == pytest.approx(fullest)
    assert pacer.charge == pytest.approx(fullest / 12)
    assert remaining < need
    ticket = pacer.admit()
    assert pacer.wait(now, ticket) == pytest.approx((need - remaining) / 3.0)
    # Later, the leak has made part of the room.
    assert pacer.wait(now + 0.5, ticket) == pytest.approx((need - remaining) / 3.0 - 0.5)


def test_a_throttle_raises_the_charge_above_the_remaining_it_showed() -> None:
    pacer = Pacer()
    now, remaining = lone_replies(pacer, remaining=59.0, cost=1.3, outflow=3.0, n=45)
    refused = pacer.admit()
    pacer.send(refused)
    now += (7.0 - remaining) / 3.0  # the bucket leaked to 7 left; a refusal costs nothing
    pacer.on_throttle(now, RateLimit(7.0, None), refused)
    assert pacer.charge == pytest.approx(7.0 * pacer.throttle_step)
    need = 7.0 * pacer.throttle_step * (1 + pacer.margin)
    assert pacer.wait(now, pacer.admit()) == pytest.approx((need - 7.0) / 3.0)
    assert pacer.outflow == pytest.approx(3.0)  # a refusal keeps what was measured


def test_canvas_defaults_never_wait_with_room_for_the_charge() -> None:
    pacer = Pacer()
    now, _ = lone_replies(pacer, remaining=599.0, cost=0.4, outflow=10.0, n=100)
    assert pacer.charge == pytest.approx(50.0, rel=0.01)
    assert pacer.wait(now, pacer.admit()) == 0.0


def test_replies_with_others_in_flight_do_not_measure_the_outflow() -> None:
    pacer = Pacer()
    other = pacer.admit()
    pacer.send(other)
    for step in range(100):
        # Others' charges come and go: these remaining values say nothing of the leak.
        ticket = pacer.admit()
        pacer.send(ticket)
        pacer.on_response(step * 0.02, RateLimit(40.0 - 10.0 * (step % 3), 1.0), ticket)
    assert pacer.outflow is None


def test_a_nearly_empty_bucket_does_not_measure_the_outflow() -> None:
    pacer = Pacer()
    # Level pinned near zero: each reply shows only its own cost, nothing seems to leak.
    for step in range(100):
        ticket = pacer.admit()
        pacer.send(ticket)
        pacer.on_response(step * 0.02, RateLimit(600.0 - 0.05 * (step % 5), 0.05), ticket)
    assert pacer.outflow is None


def test_no_wait_is_longer_than_the_cap() -> None:
    pacer = Pacer()
    now, _ = lone_replies(pacer, remaining=59.0, cost=1.3, outflow=3.0, n=45)
    refused = pacer.admit()
    pacer.send(refused)
    pacer.on_throttle(now, RateLimit(-200.0, None), refused)
    assert pacer.wait(now, pacer.admit()) == pacer.max_delay


def test_refusals_of_a_lone_request_measure_the_outflow_too() -> None:
    # Pages cost nearly a charge (40 of 50) and a refused request costs nothing: a lone
    # client alternates one success with refusals whose remaining shows only the leak.
    pacer = Pacer()
    lone_replies(pacer, remaining=600.0, cost=0.05, outflow=0.0, n=1, now=-5.0)
    now, remaining = lone_replies(pacer, remaining=53.0, cost=40.0, outflow=0.0, n=1)
    for _ in range(30):
        ticket = pacer.admit()
        pacer.send(ticket)
        now += 0.02
        remaining += 100.0 * 0.02
        pacer.on_throttle(now, RateLimit(remaining, None), ticket)
    assert pacer.outflow == pytest.approx(100.0)
    # Past the refusals, the next request waits for the room a charge needs.
    need = pacer.charge * 1.2
    assert pacer.wait(now, pacer.admit()) == pytest.approx((need - remaining) / 100.0)


def test_requests_admitted_since_the_last_reply_each_take_a_charge() -> None:
    # Pages costing 40 of a 50 charge: the first page's reply shows 412 of 600 left with
    # its cost settled and three others charged. A burst then stops where the charges
    # of the requests it sent would leave less than one charge and its margin.
    pacer = Pacer()
    lone_replies(pacer, remaining=600.0, cost=0.05, outflow=0.0, n=1)
    ticket = pacer.admit()
    pacer.send(ticket)
    pacer.on_response(0.1, RateLimit(412.0, 40.0), ticket)
    gone = []
    while pacer.wait(0.1, ticket := pacer.admit()) == 0.0:
        pacer.send(ticket)
        gone.append(ticket)
    assert len(gone) == math.floor((412.0 - 60.0) / 50.0) + 1  # 8 more, not more
    # No outflow measured yet, and requests are in flight: only their replies tell more.
    assert pacer.wait(0.1, ticket) == UNTIL_A_REPLY
    # The first of them settles at its cost (a charge refunded, 40 added): room again.
    pacer.on_response(0.15, RateLimit(412.0 - 8 * 50.0 + 10.0, 40.0), gone[0])
    assert pacer.room(ticket) == pytest.approx(22.0)
    assert pacer.wait(0.15, ticket) == UNTIL_A_REPLY


def test_alone_without_an_outflow_it_asks_again_half_a_second_after_the_last_reply() -> None:
    pacer = Pacer()
    lone_replies(pacer, remaining=600.0, cost=0.05, outflow=0.0, n=1, now=-5.0)
    now, _ = lone_replies(pacer, remaining=21.0, cost=1.0, outflow=3.0, n=1)
    ticket = pacer.admit()
    assert pacer.outflow is None
    assert pacer.wait(now, ticket) == pytest.approx(pacer.min_span)
    assert pacer.wait(now + pacer.min_span, ticket) == 0.0


def test_a_costly_kind_counts_its_cost_and_then_what_it_adds_beyond_its_charge() -> None:
    # A History API start costs 150 against a 50 charge (docs/canvas.md#history-costs).
    pacer = Pacer()
    now, remaining = lone_replies(pacer, remaining=600.0, cost=0.05, outflow=10.0, n=40)
    start = pacer.admit(150.0)
    after = pacer.admit()
    assert pacer.room(after) == pytest.approx(remaining - 150.0)
    pacer.send(start)
    # A reply to another request holds the start's charge; its cost is still to come.
    ticket = pacer.admit()
    pacer.send(ticket)
    pacer.on_response(now, RateLimit(500.0, 0.1), ticket)
    assert pacer.room(after) == pytest.approx(500.0 - 100.0)


def test_no_request_waits_on_one_admitted_after_it() -> None:
    pacer = Pacer()
    now, _ = lone_replies(pacer, remaining=59.0, cost=1.3, outflow=3.0, n=45)
    tickets = [pacer.admit() for _ in range(5)]
    waits = [pacer.wait(now, t) for t in tickets]
    assert waits == sorted(waits)
    assert pacer.wait(now, tickets[0]) == pacer.wait(now, tickets[0])  # a question, no change


def simulate(
    pacer: Pacer, bucket: LeakyBucket, config: ThrottleConfig, *, pages: int, latency: float
) -> tuple[float, int]:
    """One request at a time, as a lone client harvesting full pages: (seconds, refusals)."""
    now, refused, served = 0.0, 0, -1  # the run's first request: users/self, a cheap one
    while served < pages:
        ticket = pacer.admit()
        wait = pacer.wait(now, ticket)
        assert wait != UNTIL_A_REPLY  # alone, a wait is always a time
        now += wait
        pacer.send(ticket)
        if bucket.reserve(config, now):
            cost = config.cost(100 if served >= 0 else 0)
            now += latency
            bucket.settle(config, cost, now)
            pacer.on_response(now, RateLimit(bucket.remaining(config), cost), ticket)
            served += 1
        else:
            bucket.settle(config, config.cost(0), now)
            now += latency
            pacer.on_throttle(now, RateLimit(bucket.remaining(config), None), ticket)
            refused += 1
    return now, refused


@pytest.mark.parametrize(
    ("level", "slower"),
    [
        (0.0, 1.1),  # a fresh bucket
        (45.0, 1.1),  # a paced run killed: it kept room for about a charge
        # At or past the mark (killed with requests in flight, or with costly calls still
        # settling), the first requests are refused; their own small cost is unknown, so
        # the outflow they measure reads a little low, and the first success comes late.
        (59.0, 1.2),
        (75.0, 1.2),
    ],
)
def test_a_run_into_a_tiny_bucket_keeps_to_its_outflow_whatever_level_it_inherits(
    level: float, slower: float
) -> None:
    # A rerun right after a kill inherits the killed run's level. Until the bucket shows
    # room for Canvas's charge it is taken as full, so refusals never come in a burst.
    bucket = LeakyBucket(level=level, touched=0.0)
    seconds, refused = simulate(Pacer(), bucket, TINY, pages=200, latency=0.02)
    cost = 200 * TINY.cost(100)
    # The least time: all but the room the bucket had must leak out first, and the
    # last page still needs room for its up-front charge.
    least = (cost - (TINY.hwm - TINY.up_front_cost - level)) / TINY.outflow
    assert refused <= 3
    assert seconds <= slower * least + 1.0


@pytest.mark.parametrize("level", [0.0, 300.0, 580.0, 700.0])
def test_a_run_into_canvas_default_bucket_with_costly_pages_keeps_to_its_outflow(
    level: float,
) -> None:
    # Contract §9: a list page of 100 may cost about 40 units against a 50-unit charge.
    config = ThrottleConfig(cost_base=0.05, cost_per_item=0.4)
    bucket = LeakyBucket(level=level, touched=0.0)
    seconds, refused = simulate(Pacer(), bucket, config, pages=100, latency=0.02)
    least = (100 * config.cost(100) - (config.hwm - config.up_front_cost - level)) / 10.0
    assert refused <= 4
    assert seconds <= 1.02 * least + 1.0


def test_after_refusals_a_reserve_keeps_more_room() -> None:
    # A request sent while another's reply was on its way is not in that reply: after
    # such a refusal the gate widens the reserve, and the pacer keeps that many charges
    # more room until it decays.
    pacer = Pacer()
    now, _ = lone_replies(pacer, remaining=59.0, cost=1.3, outflow=3.0, n=45)
    ticket = pacer.admit()
    before = pacer.wait(now, ticket)
    pacer.reserve = 1.0
    assert pacer.wait(now, ticket) == pytest.approx(before + pacer.charge / 3.0)


def test_a_reply_is_alone_only_if_its_request_ran_alone() -> None:
    # A refusal's remaining is read when Canvas refuses it; a request that was in flight
    # beside it then, and answered before it, hides its charge in that remaining.
    pacer = Pacer()
    for step in range(40):
        first, second = pacer.admit(), pacer.admit()
        pacer.send(first)
        pacer.send(second)
        pacer.on_response(step * 0.05, RateLimit(30.0, 1.0), second)
        pacer.on_throttle(step * 0.05 + 0.02, RateLimit(5.0 + step, None), first)
    assert pacer.outflow is None


def test_free_room_is_what_is_left_beyond_every_request_and_the_margin() -> None:
    # Splitting a chain into windows costs requests: they are free only while the bucket
    # has room for them beyond those already admitted.
    pacer = Pacer()
    lone_replies(pacer, remaining=600.0, cost=0.05, outflow=0.0, n=1)
    charge = pacer.charge  # a twelfth of the fullest remaining: 50
    assert pacer.free(0.0) == pytest.approx((599.95 - 1.2 * charge) / charge)
    for _ in range(5):
        pacer.admit()
    assert pacer.free(0.0) == pytest.approx((599.95 - 5 * charge - 1.2 * charge) / charge)
    assert Pacer().free(0.0) == 0.0  # before a reply: as if full


def test_a_blocked_clients_zero_is_not_a_level_to_wait_on() -> None:
    # Canvas answers a blocked client 403 with X-Rate-Limit-Remaining 0.0 whatever its
    # bucket holds; a server whose other replies carry no headers sent nothing else.
    # Taken for a level, it held each request half a second, one at a time, for ever.
    pacer = Pacer()
    for step in range(4):
        ticket = pacer.admit()
        assert pacer.wait(step * 0.01, ticket) == 0.0
        pacer.send(ticket)
        pacer.on_throttle(step * 0.01 + 0.005, RateLimit(0.0, None), ticket)


def test_a_reply_that_leaves_nothing_in_flight_starts_a_measurement() -> None:
    # A rerun's burst ends in a costly History start whose reply arrives as the other
    # requests have all been answered: nothing is in flight to settle later, so its
    # remaining is the bucket's level. The lone refusal half a second on shows the leak
    # (a refused request costs nothing); waiting on an unknown outflow, probe after
    # probe, cost a rerun two refusals where one tells all.
    pacer = Pacer()
    lone_replies(pacer, remaining=600.0, cost=0.05, outflow=0.0, n=1, now=-5.0)
    start, other = pacer.admit(150.0), pacer.admit()
    pacer.send(start)
    pacer.send(other)
    pacer.on_response(0.01, RateLimit(120.0, 40.0), other)
    pacer.on_response(0.02, RateLimit(-150.0, 150.0), start)
    probe = pacer.admit()
    assert pacer.wait(0.02, probe) == pytest.approx(pacer.min_span)
    pacer.send(probe)
    pacer.on_throttle(0.52, RateLimit(-100.0, None), probe)
    assert pacer.outflow == pytest.approx(100.0)
    need = pacer.charge * 1.2
    assert pacer.wait(0.52, pacer.admit()) == pytest.approx((need + 100.0) / 100.0)


def test_replies_answered_together_show_the_charge_a_bucket_near_its_mark_hides() -> None:
    # A rerun inherits a bucket at 388 of 600: the fullest remaining it sees is 212, a
    # twelfth of which guessed a charge of 18 and sent a poll into a 50-unit refusal.
    # Replies of requests answered one after another, nothing sent between them, each
    # give back a charge: 50, whatever the top seen.
    pacer = Pacer()
    now, remaining = lone_replies(pacer, remaining=211.75, cost=0.05, outflow=0.0, n=1)
    for _ in range(2):
        tickets = [pacer.admit() for _ in range(3)]
        for ticket in tickets:
            pacer.send(ticket)
        remaining -= 3 * 50.0
        for ticket in tickets:
            now += 0.002
            remaining += 50.0 - 0.45
            pacer.on_response(now, RateLimit(remaining, 0.45), ticket)
    assert pacer.max_remaining == pytest.approx(211.7)
    assert pacer.charge == pytest.approx(50.0)
