"""Use pageviews as an async library, against the bundled fake Canvas.

Run it with ``.venv/bin/python examples/library_usage.py``. Against a real Canvas,
replace the fake's address and token with yours.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import anyio

from pageviews import CanvasClient, HarvestOptions, TimeRange, harvest_course, request_bounds
from pageviews.testing import FakeConfig, HistoryConfig, World, WorldSpec, serve

START = datetime(2015, 1, 26, tzinfo=UTC)
END = datetime(2015, 3, 12, 23, 59, 59, tzinfo=UTC)
# The fake's world is in 2015: its clock (and the harvest's) says so, and it keeps the
# list endpoint to 30 days and serves older views through the History API, as hosted
# Canvas does. Against a real Canvas, leave both clocks alone.
NOW = datetime(2015, 4, 20, 12, tzinfo=UTC)


async def main() -> None:
    world = World.generate(WorldSpec.preset("small"))
    fake = FakeConfig(
        latency=0.01,
        now=NOW,
        retention_days=30,
        history=HistoryConfig(queue_seconds=0, run_seconds=0),
    )
    async with serve(world, fake) as canvas, aiohttp.ClientSession() as session:
        client = CanvasClient(session, canvas.base_url, world.admin_token)

        # One user's page views, page by page, newest first. Canvas keeps sub-second
        # times: request_bounds asks through the end's whole second (the next second),
        # and the records showing that next second are dropped here.
        user_id = sorted(world.user_ids)[3]
        views = 0
        start, end = request_bounds("2015-01-26T00:00:00Z", "2015-03-12T23:59:59Z")
        async for page in client.page_views(user_id, start, end):
            views += sum(1 for view in page.data if view["created_at"] < end)
        print(f"user {user_id}: {views} page views in the range")

        # A whole course into the three reports, in a folder removed at the end.
        with tempfile.TemporaryDirectory(prefix="pageviews-example-") as out_dir:
            options = HarvestOptions(
                course=1693,
                time_range=TimeRange(START, END),
                enrollment_types=("StudentEnrollment",),
                out_dir=Path(out_dir),
            )
            # history="auto" (the default): views past the list's 30 days from history.
            result = await harvest_course(client, options, now=lambda: NOW)
            print(f"course {result.course_id}: {result.records} page views of {result.users} users")
            for note in result.notes:
                print(f"  note: {note}")
            for path in sorted(result.reports.values()):
                print(f"  {path}  ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    anyio.run(main)
