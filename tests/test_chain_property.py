"""Property: whatever a server's pages do, a harvest is exact or names who is not.

Random users' chains on the fake: pages clamped to 10, 50 or 100, a 404 on random
pages of random users' chains, the newest view served late on a random page of
others' (pages stop coming newest first there), and split plans that vary with
the concurrency and with whether splitting is on. Each harvest runs the real
library over HTTP. Every user either is named (missing or incomplete) or has
exactly its views in the reports; a run that names nobody is exact whole. A run
never ends complete with a view missing.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pageviews.testing import (
    FakeConfig,
    ListQuirks,
    World,
    WorldSpec,
    expected_reports,
    serve,
)
from pageviews.testing.report_files import assert_reports_exact, without_users
from pageviews.testing.timeparse import epoch_us
from tests.harvesting import END, START, STUDENTS, harvest

pytestmark = pytest.mark.anyio

FIRST_MS = epoch_us(START) // 1000
SPAN_MS = epoch_us(END) // 1000 - FIRST_MS


@pytest.fixture(scope="module")
def base_world() -> World:
    return World.generate(
        WorldSpec(name="chains", seed=11, main_students=4, other_students=0, views_total=40)
    )


def history(rng: random.Random) -> list[int]:
    """Up to 700 views over the range (and a few past its ends), many in bursts."""
    millis: list[int] = []
    for _ in range(rng.choice((0, rng.randrange(1, 60), rng.randrange(60, 700)))):
        if millis and rng.random() < 0.3:
            millis.append(millis[-1] + rng.randrange(1000))
        else:
            millis.append(FIRST_MS - 86_400_000 + rng.randrange(SPAN_MS + 2 * 86_400_000))
    return millis


@pytest.mark.parametrize("seed", range(30))
async def test_chains_end_exact_or_named(base_world: World, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    roster = expected_reports(base_world, 1693, START, END, enrollment_types=STUDENTS).roster
    world = base_world
    for user in roster:
        world = world.with_views(user, 1693, history(rng))
    gone = {(u, rng.randrange(1, 8)) for u in roster if rng.random() < 0.4}
    late = {(u, rng.randrange(2, 7)) for u in roster if rng.random() < 0.5}
    quirks = ListQuirks(
        max_per_page=rng.choice((10, 50, 100, 200)),
        gone_pages=frozenset(gone),
        late_pages=frozenset(late),
    )
    async with serve(world, FakeConfig(throttle=None, quirks=quirks)) as canvas:
        result = await harvest(
            canvas, tmp_path, concurrency=rng.choice((2, 4, 16)), split=rng.random() < 0.8
        )
    named = {user for user, _ in result.missing_users + result.failed_users}
    # Only a 404 can name a user here, and "not found" only one on its first page.
    assert named <= {user for user, _ in gone}
    assert {user for user, _ in result.missing_users} <= {u for u, page in gone if page == 1}
    truth = expected_reports(world, 1693, START, END, enrollment_types=STUDENTS)
    assert_reports_exact(tmp_path, without_users(truth, named), 1693, START, END)
    assert result.complete == (not result.failed_users)
