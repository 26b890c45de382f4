"""Ground truth for batches: the distinct users of many rosters, the fewest requests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import aiohttp
import pytest

from pageviews.testing import (
    EMPTY_COURSE_ID,
    MAIN_COURSE_ID,
    FakeConfig,
    World,
    batch_roster,
    expected_reports,
    fewest_page_view_requests,
    serve,
)

START = datetime(2015, 1, 26, tzinfo=UTC)
END = datetime(2015, 3, 12, 23, 59, 59, tzinfo=UTC)
MS_START = int(START.timestamp() * 1000)


def test_batch_roster_holds_each_rosters_user_once(batch_world: World) -> None:
    courses = [MAIN_COURSE_ID, 17, 170, 1700, 17000, EMPTY_COURSE_ID]
    union = {u for c in courses for u in expected_reports(batch_world, c, START, END).roster}
    users = batch_roster(batch_world, courses)
    assert users == sorted(union)
    total = sum(len(expected_reports(batch_world, c, START, END).roster) for c in courses)
    assert len(users) < total  # the rosters overlap
    assert batch_world.admin_user_id not in users


def test_batch_roster_skips_unknown_courses_and_keeps_filters(batch_world: World) -> None:
    students = ("StudentEnrollment",)
    both = batch_roster(batch_world, [17, 999_999], enrollment_types=students)
    assert both == expected_reports(batch_world, 17, START, END, enrollment_types=students).roster
    assert batch_roster(batch_world, [EMPTY_COURSE_ID], enrollment_types=students) == []
    assert batch_roster(batch_world, []) == []


@pytest.mark.parametrize(
    ("views", "bookmark", "numeric"),
    [(0, 1, 1), (1, 2, 1), (100, 2, 1), (101, 3, 2), (250, 4, 3), (300, 4, 3)],
)
def test_fewest_requests_by_hand(
    small_world: World, views: int, bookmark: int, numeric: int
) -> None:
    user = small_world.user_ids[-1]
    # Views a second apart from the start, plus one just past the end that must not count.
    millis = [MS_START + 1000 * i for i in range(views)] + [int(END.timestamp() * 1000) + 1000]
    world = small_world.with_views(user, MAIN_COURSE_ID, millis)
    assert fewest_page_view_requests(world, [user, user], START, END) == bookmark
    assert fewest_page_view_requests(world, [user], START, END, pagination="numeric") == numeric


def test_fewest_requests_refuses_a_page_size_canvas_would_not_serve(small_world: World) -> None:
    with pytest.raises(ValueError, match="per_page"):
        fewest_page_view_requests(small_world, [], START, END, per_page=201)


async def _walk(session: aiohttp.ClientSession, url: str) -> int:
    requests = 0
    next_url: str | None = url
    while next_url is not None:
        async with session.get(next_url) as response:
            assert response.status == 200
            requests += 1
            next_url = str(response.links["next"]["url"]) if "next" in response.links else None
    return requests


@pytest.mark.anyio
@pytest.mark.parametrize("pagination", ["bookmark", "numeric"])
async def test_fewest_requests_match_a_walk_of_every_user_once(
    batch_world: World, pagination: str
) -> None:
    users = batch_roster(batch_world, [17, 170])
    # The last millisecond of END's second: the truth's window, with the fake's inclusive end.
    query = "start_time=2015-01-26T00:00:00Z&end_time=2015-03-12T23:59:59.999Z&per_page=100"
    headers = {"Authorization": f"Bearer {batch_world.admin_token}"}
    mode: Literal["bookmark", "numeric"] = "numeric" if pagination == "numeric" else "bookmark"
    config = FakeConfig(throttle=None, pagination=mode)
    async with serve(batch_world, config) as fake, aiohttp.ClientSession(headers=headers) as s:
        walked = [await _walk(s, fake.url(f"/api/v1/users/{u}/page_views?{query}")) for u in users]
    expected = fewest_page_view_requests(batch_world, users, START, END, pagination=mode)
    assert sum(walked) == expected
    assert len(users) < expected  # some users need more than one page
