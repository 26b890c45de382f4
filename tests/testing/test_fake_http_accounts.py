"""An account's courses over HTTP: numbered pages, terms, sub-accounts, permissions."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from pageviews.testing import EMPTY_COURSE_ID, FakeConfig, World, serve
from pageviews.testing.accounts import account_chain, resolve_term

pytestmark = pytest.mark.anyio

NOT_FOUND = {"errors": [{"message": "The specified resource does not exist."}]}


async def _get(
    world: World, path: str, *, token: str | None = None, config: FakeConfig | None = None
) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"Bearer {token or world.admin_token}"}
    async with (
        serve(world, config or FakeConfig(throttle=None)) as fake,
        aiohttp.ClientSession(headers=headers) as session,
        session.get(fake.url(path)) as response,
    ):
        rels = {str(k): str(v["url"]) for k, v in response.links.items()}
        return response.status, await response.json(), rels


async def _walk(world: World, path: str) -> tuple[list[int], list[dict[str, str]]]:
    """Follow rel=next from ``path``; return the course ids and each page's links."""
    headers = {"Authorization": f"Bearer {world.admin_token}"}
    ids: list[int] = []
    pages: list[dict[str, str]] = []
    async with (
        serve(world, FakeConfig(throttle=None)) as fake,
        aiohttp.ClientSession(headers=headers) as session,
    ):
        url: str | None = fake.url(path)
        while url is not None:
            async with session.get(url) as response:
                assert response.status == 200, await response.text()
                rels = {str(k): str(v["url"]) for k, v in response.links.items()}
                page = await response.json()
            pages.append(rels)
            ids += [c["id"] for c in page]
            url = rels.get("next") if page else None  # stop on an empty page (see below)
    return ids, pages


async def test_root_account_lists_every_course_by_id_in_numbered_pages(batch_world: World) -> None:
    ids, pages = await _walk(batch_world, "/api/v1/accounts/1/courses?per_page=5")
    assert ids == batch_world.course_ids  # ascending id, the default order
    assert len(pages) == 5  # 24 courses: four full pages and a short one
    assert set(pages[0]) == {"current", "next", "first"}
    assert set(pages[1]) == {"current", "next", "prev", "first"}  # no count query: no last
    assert set(pages[-1]) == {"current", "prev", "first", "last"}
    assert pages[-1]["last"] == pages[-1]["current"]
    assert "page=5&per_page=5" in pages[-1]["current"]
    assert "page=4" in pages[-1]["prev"]
    assert "page=1" in pages[-1]["first"]


async def test_a_full_final_page_leads_to_empty_pages_that_never_know_the_end(
    batch_world: World,
) -> None:
    # 24 courses in pages of 6: page 4 is full, so nothing tells the end yet.
    status, page4, rels4 = await _get(batch_world, "/api/v1/accounts/1/courses?per_page=6&page=4")
    assert status == 200
    assert len(page4) == 6
    assert "page=5" in rels4["next"]
    status, page5, rels5 = await _get(batch_world, "/api/v1/accounts/1/courses?per_page=6&page=5")
    assert (status, page5) == (200, [])
    # An empty page past the first cannot know the total either (folio's ordinal page).
    assert set(rels5) == {"current", "next", "prev", "first"}
    status, page1, rels = await _get(batch_world, "/api/v1/accounts/3/courses?page=1&per_page=100")
    assert (status, bool(page1)) == (200, True)
    assert set(rels) == {"current", "first", "last"}  # a short first page knows the end


async def test_term_filter_and_its_forms(batch_world: World) -> None:
    by_term: dict[int, list[int]] = {}
    for course in batch_world.courses.values():
        by_term.setdefault(course.enrollment_term_id, []).append(course.id)
    for ref in ("2", "sis_term_id:2015SP", "3", "default"):
        term = resolve_term(ref)
        assert term is not None
        ids, pages = await _walk(
            batch_world, f"/api/v1/accounts/1/courses?enrollment_term_id={ref}&per_page=4"
        )
        assert ids == sorted(by_term[term])
        kept = [parse_qs(urlsplit(p["current"]).query)["enrollment_term_id"] for p in pages]
        assert kept == [[ref]] * len(pages)  # the filter rides along in every link
    assert EMPTY_COURSE_ID in by_term[resolve_term("default") or 0]
    for unknown in ("99", "sis_term_id:NOPE", ""):
        status, body, _ = await _get(
            batch_world, f"/api/v1/accounts/1/courses?enrollment_term_id={unknown}"
        )
        assert (status, body) == (404, NOT_FOUND)


async def test_sub_accounts_list_their_own_and_their_sub_accounts_courses(
    batch_world: World,
) -> None:
    for ref, account in (("2", 2), ("sis_account_id:SCI", 2), ("4", 4), ("self", 1)):
        ids, _ = await _walk(batch_world, f"/api/v1/accounts/{ref}/courses?per_page=100")
        expected = [
            c.id for c in batch_world.courses.values() if account in account_chain(c.account_id)
        ]
        assert ids == sorted(expected)
    science, _ = await _walk(batch_world, "/api/v1/accounts/2/courses?per_page=100")
    maths = [c.id for c in batch_world.courses.values() if c.account_id == 4]
    assert maths and set(maths) < set(science)


async def test_course_json_carries_account_and_term(batch_world: World) -> None:
    status, page, _ = await _get(batch_world, "/api/v1/accounts/4/courses")
    assert status == 200
    assert page
    assert all(c["account_id"] == 4 and c["root_account_id"] == 1 for c in page)
    course = page[0]
    status, single, _ = await _get(batch_world, f"/api/v1/courses/{course['id']}")
    assert single == course
    assert single["enrollment_term_id"] == batch_world.courses[course["id"]].enrollment_term_id


async def test_per_page_is_clamped_and_bad_pages_are_404(batch_world: World) -> None:
    status, page, rels = await _get(batch_world, "/api/v1/accounts/1/courses?per_page=1000")
    assert (status, len(page)) == (200, 24)
    assert "per_page=100" in rels["current"]
    for bad in ("0", "-1", "abc", ""):
        status, body, _ = await _get(batch_world, f"/api/v1/accounts/1/courses?page={bad}")
        assert (status, body) == (404, NOT_FOUND)


async def test_state_filter_defaults_to_all_but_deleted(batch_world: World) -> None:
    status, every, _ = await _get(batch_world, "/api/v1/accounts/1/courses?state[]=all&per_page=50")
    assert [c["id"] for c in every] == batch_world.course_ids
    status, none, _ = await _get(batch_world, "/api/v1/accounts/1/courses?state[]=deleted")
    assert (status, none) == (200, [])  # every course here is available


async def test_unknown_accounts_are_404(batch_world: World) -> None:
    for ref in ("99", "sis_account_id:NOPE", "abc"):
        status, body, _ = await _get(batch_world, f"/api/v1/accounts/{ref}/courses")
        assert (status, body) == (404, NOT_FOUND)


@pytest.mark.parametrize("code", [401, 403])
async def test_teachers_may_not_list_an_accounts_courses(batch_world: World, code: int) -> None:
    config = FakeConfig(throttle=None, auth_error_status=401 if code == 401 else 403)
    status, body, _ = await _get(
        batch_world, "/api/v1/accounts/1/courses", token=batch_world.teacher_token, config=config
    )
    assert status == code
    assert body == {
        "status": "unauthorized",
        "errors": [{"message": "user not authorized to perform that action"}],
    }
