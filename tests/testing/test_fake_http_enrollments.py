"""Course enrollments over HTTP: filters, default states and bookmark pagination."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from pageviews.testing import MAIN_COURSE_ID, World, serve

pytestmark = pytest.mark.anyio

ROSTER = f"/api/v1/courses/{MAIN_COURSE_ID}/enrollments"


async def _all(world: World, query: str, token: str | None = None) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token or world.admin_token}"}
    rows: list[dict[str, Any]] = []
    async with serve(world) as fake, aiohttp.ClientSession(headers=headers) as session:
        url: str | None = fake.url(f"{ROSTER}?{query}")
        while url is not None:
            async with session.get(url) as response:
                assert response.status == 200, await response.text()
                rels = {str(k): str(v["url"]) for k, v in response.links.items()}
                assert set(rels) <= {"current", "next", "first"}
                page = await response.json()
                assert page or not rows  # no trailing empty page on this endpoint
                rows += page
            url = rels.get("next")
    return rows


def _expected(world: World, states: set[str], types: set[str] | None = None) -> list[int]:
    return [
        e.id
        for e in world.enrollment_records(MAIN_COURSE_ID)
        if e.workflow_state in states and (types is None or e.type in types)
    ]


async def test_default_states_include_inactive_for_admins(small_world: World) -> None:
    rows = await _all(small_world, "per_page=7")
    visible = {"active", "invited", "creation_pending", "inactive"}
    assert [r["id"] for r in rows] == _expected(small_world, visible)
    assert all("user" in r and "login_id" in r["user"] for r in rows)
    keys = [(r["type"], r["user"]["sortable_name"], r["id"]) for r in rows]
    assert keys == sorted(keys)


async def test_type_and_state_filters(small_world: World) -> None:
    students = await _all(small_world, "type[]=StudentEnrollment&per_page=100")
    assert {r["type"] for r in students} == {"StudentEnrollment"}
    assert {r["enrollment_state"] for r in students} <= {
        "active",
        "invited",
        "creation_pending",
        "inactive",
    }
    both = await _all(small_world, "state[]=active&state[]=completed&per_page=100")
    assert [r["id"] for r in both] == _expected(small_world, {"active", "completed"})
    assert await _all(small_world, "state[]=actve") == []  # matched literally


async def test_role_names_and_unknown_role(small_world: World) -> None:
    by_role = await _all(small_world, "role[]=TaEnrollment&type[]=StudentEnrollment&per_page=50")
    assert {r["type"] for r in by_role} == {"TaEnrollment"}  # type[] ignored with a role
    headers = {"Authorization": f"Bearer {small_world.admin_token}"}
    async with (
        serve(small_world) as fake,
        aiohttp.ClientSession(headers=headers) as session,
        session.get(fake.url(f"{ROSTER}?role[]=Wizard")) as response,
    ):
        assert response.status == 400


async def test_user_id_filter_defaults_to_active_and_invited(small_world: World) -> None:
    records = small_world.enrollment_records(MAIN_COURSE_ID)
    doubled = next(e.user_id for e in records if sum(r.user_id == e.user_id for r in records) > 1)
    rows = await _all(small_world, f"user_id={doubled}")
    expected = [
        e.id for e in records if e.user_id == doubled and e.workflow_state in ("active", "invited")
    ]
    assert [r["id"] for r in rows] == expected


async def test_malformed_bookmark_restarts_at_the_first_page(small_world: World) -> None:
    first = (await _all(small_world, "per_page=100"))[:10]
    headers = {"Authorization": f"Bearer {small_world.admin_token}"}
    async with (
        serve(small_world) as fake,
        aiohttp.ClientSession(headers=headers) as session,
        session.get(fake.url(f"{ROSTER}?page=bookmark:%25%25")) as response,
    ):
        assert await response.json() == first
