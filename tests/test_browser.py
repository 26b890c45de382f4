"""The summary and the batch index as a reader sees them: laid out by headless Chromium."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import pytest

from pageviews.testing import FakeConfig, World, WorldSpec, serve
from pageviews.testing.browser import chromium, measure, screenshot
from tests.harvesting import harvest
from tests.test_batch import batch

pytestmark = pytest.mark.skipif(
    chromium() is None,
    reason="Chromium is not installed (apt-get install chromium): the real-browser test needs it",
)
ZONE = ZoneInfo("America/Chicago")
START = datetime(2015, 1, 26, tzinfo=ZONE)
END = datetime(2015, 3, 12, 23, 59, 59, tzinfo=ZONE)
LABEL = "2015-01-26-2015-03-12"
PNG = b"\x89PNG\r\n\x1a\n"


def harvest_into(world: World, out: Path, *courses: int) -> None:
    """One course straight into ``out`` in Chicago time, or several in folders in UTC."""

    async def go() -> None:
        async with serve(world, FakeConfig(throttle=None)) as canvas:
            if len(courses) == 1:
                await harvest(canvas, out, course=courses[0], start=START, end=END)
            else:
                await batch(canvas, out, *courses)

    anyio.run(go, backend="asyncio")


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo course harvested as ``make demo`` does, in Chicago time."""
    out = tmp_path_factory.mktemp("demo")
    harvest_into(World.generate(WorldSpec.preset("demo")), out, 1693)
    return out


def data(out: Path, kind: str, course: int = 1693) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((out / f"{kind}_{course}_{LABEL}.json").read_text())[
        "data"
    ]
    return rows


def test_demo_summary_in_chromium(demo_out: Path, tmp_path: Path) -> None:
    page = demo_out / f"summary_1693_{LABEL}.html"
    shot = screenshot(page, tmp_path / "summary.png")
    assert shot.read_bytes().startswith(PNG) and shot.stat().st_size > 20_000
    seen = measure(page)
    charts = {c["title"]: c for c in seen["charts"]}
    assert [c["kind"] for c in seen["charts"]] == ["columns", "heatmap", "bars", "bars", "bars"]
    for chart in seen["charts"]:
        assert chart["size"][0] > 100 and chart["size"][1] > 100, chart["title"]
        assert chart["label"]  # aria-labelledby: title and text alternative
        assert all(w > 0 and h >= 0 for _, _, (w, h) in chart["values"])
    stats = {s["stat"]: s for s in seen["stats"] if s["row"] is None}
    records, totals = data(demo_out, "user-pageviews"), data(demo_out, "total-pageviews")
    inactive = data(demo_out, "inactive-users")
    for key, expected in (("views", len(records)), ("inactive", len(inactive)),
                          ("pages", len(totals))):  # fmt: skip
        assert stats[key]["shown"] == f"{expected:,}", key
        assert stats[key]["size"][0] > 0
    per_day = charts["Page views per day"]["values"]
    assert len(per_day) == 46 and sum(v for _, v, _ in per_day) == len(records)
    local = Counter(datetime.fromisoformat(r["request_date"]).astimezone(ZONE) for r in records)
    by_day = Counter({m.date().isoformat(): 0 for m in local})
    grid: Counter[tuple[int, int]] = Counter()
    for moment, n in local.items():
        by_day[moment.date().isoformat()] += n
        grid[(moment.weekday(), moment.hour)] += n
    assert {label: v for label, v, _ in per_day if v} == {d: n for d, n in by_day.items() if n}
    cells = charts["Page views by weekday and hour (America/Chicago)"]["values"]
    assert [v for _, v, _ in cells] == [grid[(d, h)] for d in range(7) for h in range(24)]
    top = charts["Top pages by views"]["values"]
    assert [v for _, v, _ in top] == [t["page_views"] for t in totals[:10]]
    spread = charts["Users by their number of page views"]["values"]
    assert spread[0][:2] == ["0 (inactive)", len(inactive)]
    assert sum(v for _, v, _ in spread) == int(stats["roster"]["value"])


def test_batch_index_in_chromium(batch_world: World, tmp_path: Path) -> None:
    out = tmp_path / "out"
    harvest_into(batch_world, out, 1693, 169, 16930)
    page = out / "index.html"
    shot = screenshot(page, tmp_path / "index.png")
    assert shot.read_bytes().startswith(PNG)
    seen = measure(page)
    sparks = [c for c in seen["charts"] if c["kind"] == "sparkline"]
    assert len(sparks) == 3 and all(c["size"][0] > 0 and c["size"][1] > 0 for c in sparks)
    views = {s["row"]: int(s["value"]) for s in seen["stats"] if s["stat"] == "views" and s["row"]}
    assert views == {
        str(c): len(data(out / str(c), "user-pageviews", c)) for c in (1693, 169, 16930)
    }
    total = next(s for s in seen["stats"] if s["stat"] == "views" and s["row"] is None)
    assert total["shown"] == f"{sum(views.values()):,}"
    assert sorted(seen["links"]) == sorted(f"{c}/summary_{c}_{LABEL}.html" for c in views)
    assert all((out / link).is_file() for link in seen["links"])
