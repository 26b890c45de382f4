"""What a run remembers about shapes stays bounded however many distinct ones it stores.

A shape carries the context and asset ids, so on a real Canvas the number of
distinct shapes grows with the views. Memory is counted with tracemalloc
(Python's own allocations, exactly), never timed.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from pageviews.sources.records import course_rows
from pageviews.store import open_store

ORIGIN = "https://c.example.edu"
START, END = "2015-01-26T00:00:00Z", "2015-03-12T23:59:59Z"
AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/40.0.2214.111 Safari/537.36"
)
MB = 2**20


def page(first: int) -> list[dict[str, Any]]:
    """A page of 100 views parsed as the client parses one, each view of a shape of its own."""
    views = [
        {
            "id": f"v{i}", "url": f"https://c.example.edu/courses/1693/pages/p{i}",
            "context_type": "Course", "asset_type": "WikiPage", "controller": "wiki_pages",
            "action": "show", "interaction_seconds": 1.5, "created_at": "2015-02-01T12:00:00Z",
            "user_request": True, "render_time": 0.1, "user_agent": AGENT,
            "participated": False, "http_method": "get", "remote_ip": "203.0.113.9",
            "contributed": False, "app_name": None,
            "links": {"user": 5, "context": 1693, "asset": i, "real_user": None, "account": 1},
        }
        for i in range(first, first + 100)
    ]  # fmt: skip
    parsed: list[dict[str, Any]] = orjson.loads(orjson.dumps(views))
    return parsed


@contextmanager
def traced() -> Iterator[None]:
    gc.collect()
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def test_memory_for_shapes_stays_flat_as_distinct_shapes_grow(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.sqlite", ORIGIN)
    run = store.open_run("key", START, END, START)
    (unit,) = store.add_units(run.run_id, 5, [(START, END)], "list")

    def harvest(pages: range) -> int:
        """Store ``pages`` as a harvest does; return the most Python memory held meanwhile."""
        tracemalloc.reset_peak()
        for n in pages:
            rows, _ = course_rows(page(100 * n), {1693}, START, END)
            store.save_page(run.run_id, unit, rows, f"https://c.example.edu/next/{n}", (None, True))
        return tracemalloc.get_traced_memory()[1]

    with traced():
        before = tracemalloc.get_traced_memory()[0]
        first = harvest(range(100))  # 10,000 distinct shapes
        then = harvest(range(100, 400))  # 30,000 more
    store.close()
    assert first - before < 6 * MB, f"{(first - before) / MB:.1f} MB for 10,000 shapes"
    assert then - first < 1 * MB, f"{(then - first) / MB:.1f} MB more for 30,000 more shapes"
