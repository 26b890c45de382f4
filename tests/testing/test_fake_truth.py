"""Ground truth, checked against a naive harvest over HTTP and by hand-picked cases."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from pageviews.testing import (
    MAIN_COURSE_ID,
    SIBLING_COURSE_ID,
    FakeConfig,
    World,
    expected_reports,
    serve,
)

START = datetime(2015, 1, 26, tzinfo=UTC)
END = datetime(2015, 3, 12, 23, 59, 59, tzinfo=UTC)


def _naive_course(view: dict[str, Any]) -> int | None:
    """Classify a view the slow, obvious way: context first, else split the URL path."""
    links = view.get("links") or {}
    if links.get("context") is not None:
        return links["context"] if view["context_type"] == "Course" else None
    parts = urlsplit(view["url"]).path.split("/")
    if parts[1:3] == ["api", "v1"]:
        parts = parts[2:]
    if len(parts) > 2 and parts[1] == "courses" and parts[2].isdigit():
        return int(parts[2])
    return None


async def _pages(session: aiohttp.ClientSession, url: str) -> list[Any]:
    items: list[Any] = []
    next_url: str | None = url
    while next_url:
        async with session.get(next_url) as response:
            assert response.status == 200
            items += await response.json()
            link = response.links.get("next")
            next_url = str(link["url"]) if link else None
    return items


@pytest.mark.anyio
async def test_truth_matches_a_naive_harvest_over_http(small_world: World) -> None:
    headers = {"Authorization": f"Bearer {small_world.admin_token}"}
    config = FakeConfig(throttle=None)
    async with serve(small_world, config) as fake, aiohttp.ClientSession(headers=headers) as s:
        async with s.get(fake.url("/api/v1/users/self")) as response:
            me = (await response.json())["id"]
        roster = await _pages(s, fake.url(f"/api/v1/courses/{MAIN_COURSE_ID}/enrollments"))
        users = sorted({e["user_id"] for e in roster} - {me})
        views: dict[str, tuple[int, dict[str, Any]]] = {}
        for uid in users:
            # Canvas compares to the millisecond: ask through the next midnight, and drop
            # what shows that midnight's second, to get all of 2015-03-12's last second.
            query = "start_time=2015-01-26T00:00:00Z&end_time=2015-03-13T00:00:00Z&per_page=100"
            for view in await _pages(s, fake.url(f"/api/v1/users/{uid}/page_views?{query}")):
                in_range = view["created_at"] < "2015-03-13T00:00:00Z"
                if in_range and _naive_course(view) == MAIN_COURSE_ID:
                    views[view["id"]] = (uid, view)
    truth = expected_reports(small_world, MAIN_COURSE_ID, START, END)
    assert truth.roster == users
    assert {r.id for r in truth.records} == set(views)
    totals = Counter(v["url"] for _, v in views.values())
    assert truth.totals == sorted(totals.items(), key=lambda t: (-t[1], t[0]))
    per_user = Counter((uid, v["url"]) for uid, v in views.values())
    assert sorted(truth.user_totals) == sorted((u, url, n) for (u, url), n in per_user.items())
    assert truth.user_names == {u: small_world.users[u].name for u in users}


def test_truth_handles_edges_lookalikes_and_the_token_user(small_world: World) -> None:
    truth = expected_reports(small_world, MAIN_COURSE_ID, START, END)
    stamps = {r.created_at for r in truth.records}
    assert "2015-01-26T00:00:00Z" in stamps
    assert "2015-03-12T23:59:59Z" in stamps
    assert "2015-03-13T00:00:00Z" not in stamps
    assert "2015-01-25T23:59:59Z" not in stamps
    assert all("/courses/1693" in r.url for r in truth.records)
    assert not any("/courses/169/" in r.url or "/courses/16930" in r.url for r in truth.records)
    assert small_world.admin_user_id not in truth.roster
    contextless = [
        v["id"]
        for uid in truth.roster
        for v in small_world.page_views(uid)
        if v.get("links") is None or v["links"]["context"] is None
    ]
    assert set(contextless) & {r.id for r in truth.records}
    keys = [(r.user_id, r.created_at, r.id) for r in truth.records]
    assert keys == sorted(keys)
    assert [n for _, n in truth.totals] == sorted((n for _, n in truth.totals), reverse=True)


def test_sibling_course_report_is_disjoint(small_world: World) -> None:
    main = expected_reports(small_world, MAIN_COURSE_ID, START, END)
    sibling = expected_reports(small_world, SIBLING_COURSE_ID, START, END)
    assert sibling.records
    assert not {r.id for r in main.records} & {r.id for r in sibling.records}
    assert all("/courses/169" in r.url and "/courses/1693" not in r.url for r in sibling.records)


def test_roster_filters_by_type_state_and_token(small_world: World) -> None:
    records = small_world.enrollment_records(MAIN_COURSE_ID)
    students = expected_reports(
        small_world, MAIN_COURSE_ID, START, END, enrollment_types=["StudentEnrollment"]
    )
    expected = {
        e.user_id
        for e in records
        if e.type == "StudentEnrollment"
        and e.workflow_state not in ("rejected", "completed", "deleted")
    }
    assert set(students.roster) == expected
    completed = expected_reports(
        small_world, MAIN_COURSE_ID, START, END, enrollment_states=["completed"]
    )
    assert set(completed.roster) == {e.user_id for e in records if e.workflow_state == "completed"}
    as_teacher = expected_reports(
        small_world, MAIN_COURSE_ID, START, END, token=small_world.teacher_token
    )
    assert small_world.teacher_user_id not in as_teacher.roster
    assert small_world.admin_user_id in as_teacher.roster
