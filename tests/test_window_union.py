"""Property: however a chain is split, its windows hold exactly the unsplit chain's views.

Random bursty histories (several views a second, some in one millisecond), random
range ends on a view's own second, random page sizes and split points: the
harvester's pure pieces (request bounds, the order check, the window plan) drive
the fake's page-views endpoint directly, without HTTP, so hundreds of cases run
in about a second.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest

from pageviews.sources.records import newest_first_so_far
from pageviews.sources.splitting import plan_windows
from pageviews.testing import FakeConfig, World, WorldSpec
from pageviews.testing.api import ApiRequest, handle
from pageviews.testing.timeparse import epoch_us
from pageviews.timerange import canvas_timestamp, request_bounds

CONFIG = FakeConfig(throttle=None)
NOW = datetime(2016, 1, 1, tzinfo=UTC)
ORIGIN = "http://canvas.test"
DAY_MS = 86_400_000
FIRST_MS = epoch_us(datetime(2015, 2, 1, tzinfo=UTC)) // 1000


@pytest.fixture(scope="module")
def base_world() -> World:
    return World.generate(
        WorldSpec(name="union", seed=3, main_students=2, other_students=0, views_total=40)
    )


def bursty(rng: random.Random) -> list[int]:
    """Views over a few days, half of them within a second of the one before."""
    millis: list[int] = []
    for _ in range(rng.randrange(20, 400)):
        if millis and rng.random() < 0.5:
            millis.append(millis[-1] + rng.choice((0, 0, rng.randrange(1000))))
        else:
            millis.append(FIRST_MS + rng.randrange(5 * DAY_MS))
    return millis


class Chains:
    """Follow a user's page-views chains on the fake, as the harvester sends them."""

    def __init__(self, world: World, user: int, per_page: int) -> None:
        self.world, self.user, self.per_page = world, user, per_page
        self.requests = 0

    def page(self, query: list[tuple[str, str]]) -> tuple[list[Any], list[tuple[str, str]] | None]:
        path = f"/api/v1/users/{self.user}/page_views"
        request = ApiRequest(path, tuple(query), ORIGIN, self.world.admin_user_id, NOW)
        reply = handle(self.world, CONFIG, request)
        assert reply.status == 200
        self.requests += 1
        following = reply.next_link()
        return orjson.loads(reply.body), (
            None if following is None else parse_qsl(urlsplit(following).query)
        )

    def first(self, start: str, end: str) -> list[tuple[str, str]]:
        lo, hi = request_bounds(start, end)
        return [("start_time", lo), ("end_time", hi), ("per_page", str(self.per_page))]

    def rest(self, query: list[tuple[str, str]] | None) -> list[Any]:
        records: list[Any] = []
        while query is not None:
            data, query = self.page(query)
            records += data
        return records

    def split(self, rng: random.Random, start: str, end: str, depth: int) -> list[Any]:
        """Read a few pages, then (as the harvester may) cut the rest into windows."""
        records: list[Any] = []
        query = self.first(start, end)
        for _ in range(rng.randrange(1, 4)):
            data, following = self.page(query)
            records += data
            if following is None:
                return records
            query = following
        ordered, oldest = newest_first_so_far(records, None, True)
        assert ordered and oldest is not None
        windows = plan_windows(
            start=start,
            end=end,
            oldest_seen=oldest,
            fetched=len(records),
            per_page=self.per_page,
            max_windows=rng.randrange(2, 17),
        )
        if not windows:
            return records + self.rest(query)
        for w_start, w_end in windows:
            if depth < 2 and rng.random() < 0.5:
                records += self.split(rng, w_start, w_end, depth + 1)
            else:
                records += self.rest(self.first(w_start, w_end))
        return records


def in_range(records: list[Any], start: str, end: str) -> set[str]:
    return {r["id"] for r in records if start <= r["created_at"] <= end}


@pytest.mark.parametrize("seed", range(150))
def test_windows_union_equals_the_unsplit_chain(base_world: World, seed: int) -> None:
    rng = random.Random(seed)
    millis = bursty(rng)
    user = base_world.user_ids[-1]
    world = base_world.with_views(user, 1693, millis)
    # Range ends on the seconds of views, so edges fall inside bursts.
    edges = sorted(rng.sample(millis, 2))
    start = canvas_timestamp(datetime.fromtimestamp(edges[0] // 1000, UTC))
    end = canvas_timestamp(datetime.fromtimestamp(edges[1] // 1000, UTC))
    chains = Chains(world, user, per_page=rng.choice((1, 2, 3, 5, 10)))
    unsplit = chains.rest(chains.first(start, end))
    split = chains.split(rng, start, end, 0)
    want = {
        view_id
        for view_id, t in zip(world.views(user).ids, world.views(user).ms, strict=True)
        if edges[0] // 1000 * 1000 <= t < edges[1] // 1000 * 1000 + 1000
    }
    assert in_range(unsplit, start, end) == want
    assert in_range(split, start, end) == want


def test_a_window_edge_from_a_record_reaches_through_its_second(base_world: World) -> None:
    # The page ends at :33.100; :33.400 and :33.900 come after it in the chain.
    user = base_world.user_ids[-1]
    second = FIRST_MS + 33_000
    world = base_world.with_views(user, 1693, [second + 900, second + 400, second + 100, 1_000])
    start = canvas_timestamp(datetime.fromtimestamp((FIRST_MS - DAY_MS) // 1000, UTC))
    end = canvas_timestamp(datetime.fromtimestamp(FIRST_MS // 1000 + 40, UTC))
    chains = Chains(world, user, per_page=1)
    data, _ = chains.page(chains.first(start, end))
    edge = data[0]["created_at"]
    assert edge == canvas_timestamp(datetime.fromtimestamp(second // 1000, UTC))
    # The window for the rest of the chain ends at that record's second, and holds all
    # three views of it: the one read and the two the chain had not reached yet.
    window = chains.rest(chains.first(start, edge))
    assert len(in_range(window, start, end)) == 3
