"""Authentication, permissions, canned errors and the SSO-page switch over HTTP."""

from __future__ import annotations

import aiohttp
import pytest

from pageviews.testing import MAIN_COURSE_ID, SIBLING_COURSE_ID, FakeConfig, World, serve

pytestmark = pytest.mark.anyio

UNAUTHORIZED = {
    "status": "unauthorized",
    "errors": [{"message": "user not authorized to perform that action"}],
}
NOT_FOUND = {"errors": [{"message": "The specified resource does not exist."}]}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_users_self_identifies_each_token(small_world: World) -> None:
    async with serve(small_world) as fake, aiohttp.ClientSession() as session:
        for token, uid in small_world.tokens.items():
            async with session.get(fake.url("/api/v1/users/self"), headers=_bearer(token)) as r:
                assert r.status == 200
                assert r.headers["Content-Type"] == "application/json; charset=utf-8"
                data = await r.json()
                assert data["id"] == uid
                assert {"name", "sortable_name", "short_name", "login_id"} <= data.keys()


async def test_access_token_query_parameter_is_the_fallback(small_world: World) -> None:
    async with serve(small_world) as fake, aiohttp.ClientSession() as session:
        params = {"access_token": small_world.admin_token}
        async with session.get(fake.url("/api/v1/users/self"), params=params) as response:
            assert (await response.json())["id"] == small_world.admin_user_id


async def test_missing_and_invalid_credentials(small_world: World) -> None:
    async with serve(small_world) as fake, aiohttp.ClientSession() as session:
        async with session.get(fake.url("/api/v1/users/self")) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"] == 'Bearer realm="canvas-lms"'
            assert await response.json() == {
                "status": "unauthenticated",
                "errors": [{"message": "user authorization required"}],
            }
        async with session.get(fake.url("/api/v1/users/self"), headers=_bearer("1~nope")) as r:
            assert r.status == 401
            assert r.headers["WWW-Authenticate"] == 'Bearer realm="canvas-lms"'
            assert await r.json() == {"errors": [{"message": "Invalid access token."}]}
    assert [r.token_ok for r in fake.requests] == [False, False]


@pytest.mark.parametrize("status", [401, 403])
async def test_teacher_may_not_read_page_views(small_world: World, status: int) -> None:
    config = FakeConfig(auth_error_status=403 if status == 403 else 401)
    uid = small_world.user_ids[5]
    async with serve(small_world, config) as fake, aiohttp.ClientSession() as session:
        url = fake.url(f"/api/v1/users/{uid}/page_views")
        async with session.get(url, headers=_bearer(small_world.teacher_token)) as response:
            assert response.status == status
            assert "WWW-Authenticate" not in response.headers
            assert await response.json() == UNAUTHORIZED


async def test_teacher_reads_own_roster_only(small_world: World) -> None:
    headers = _bearer(small_world.teacher_token)
    async with serve(small_world) as fake, aiohttp.ClientSession(headers=headers) as session:
        async with session.get(fake.url(f"/api/v1/courses/{MAIN_COURSE_ID}/enrollments")) as ok:
            assert ok.status == 200
            assert all("login_id" not in e["user"] for e in await ok.json())
        url = fake.url(f"/api/v1/courses/{SIBLING_COURSE_ID}/enrollments")
        async with session.get(url) as refused:
            assert refused.status == 401
            assert await refused.json() == UNAUTHORIZED


async def test_courses_by_id_and_sis_id(small_world: World) -> None:
    headers = _bearer(small_world.admin_token)
    async with serve(small_world) as fake, aiohttp.ClientSession(headers=headers) as session:
        async with session.get(fake.url(f"/api/v1/courses/{MAIN_COURSE_ID}")) as by_id:
            course = await by_id.json()
        assert course["id"] == MAIN_COURSE_ID
        assert set(course) == {
            "id",
            "name",
            "course_code",
            "sis_course_id",
            "workflow_state",
            "account_id",
            "root_account_id",
            "enrollment_term_id",
        }
        sis_url = fake.url(f"/api/v1/courses/sis_course_id:{course['sis_course_id']}")
        async with session.get(sis_url) as by_sis:
            assert await by_sis.json() == course
        for path in ("/api/v1/courses/999", "/api/v1/courses/sis_course_id:NOPE", "/api/v1/nope"):
            async with session.get(fake.url(path)) as missing:
                assert missing.status == 404
                assert await missing.json() == NOT_FOUND


async def test_html_everywhere_answers_a_login_page(small_world: World) -> None:
    config = FakeConfig(html_everywhere=True)
    headers = _bearer(small_world.admin_token)
    async with (
        serve(small_world, config) as fake,
        aiohttp.ClientSession(headers=headers) as session,
    ):
        for path in ("/api/v1/users/self", f"/api/v1/courses/{MAIN_COURSE_ID}/enrollments"):
            async with session.get(fake.url(path)) as response:
                assert response.status == 200
                assert response.content_type == "text/html"
                assert "<html>" in await response.text()
        fake.config.html_everywhere = False  # live switch
        async with session.get(fake.url("/api/v1/users/self")) as response:
            assert response.content_type == "application/json"


async def test_control_endpoints_report_stats_and_requests(small_world: World) -> None:
    async with serve(small_world) as fake, aiohttp.ClientSession() as session:
        async with session.get(fake.url("/api/v1/users/self")) as response:
            assert response.status == 401
        async with session.get(fake.url("/__fake__/stats")) as response:
            stats = await response.json()
        async with session.get(fake.url("/__fake__/requests")) as response:
            records = await response.json()
    assert stats["requests"] == 1
    assert stats["by_status"] == {"401": 1}
    assert records[0]["path"] == "/api/v1/users/self"
    assert records[0]["status"] == 401
