"""The PageView History API over HTTP: the six calls, their states and errors (§9)."""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import orjson
import pytest

from pageviews.testing import (
    FakeCanvas,
    FakeConfig,
    FaultConfig,
    HistoryConfig,
    World,
    expected_history_ids,
    serve,
)

pytestmark = pytest.mark.anyio

NOW = datetime(2015, 4, 20, 12, tzinfo=UTC)
JAN, APR = date(2015, 1, 1), date(2015, 4, 1)
MONTHS = {"start_date": "2015-01-01", "end_date": "2015-04-01", "results_format": "csv"}
BATCH = "/api/v1/users/page_views/query"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def _busiest(world: World, n: int = 1) -> list[int]:
    return sorted(world.user_ids, key=world.page_view_count)[-n:]


@asynccontextmanager
async def _fake(
    world: World, history: HistoryConfig | None = None, **options: Any
) -> AsyncIterator[tuple[FakeCanvas, aiohttp.ClientSession]]:
    config = FakeConfig(history=history or HistoryConfig(), now=NOW, **options)
    headers = {"Authorization": f"Bearer {world.admin_token}"}
    # No automatic gunzip: the tests look at the bytes as sent.
    async with (
        serve(world, config) as fake,
        aiohttp.ClientSession(headers=headers, auto_decompress=False) as session,
    ):
        yield fake, session


def _advance(fake: FakeCanvas, seconds: float) -> None:
    assert fake.config.now is not None
    fake.config.now += timedelta(seconds=seconds)


async def _json(response: aiohttp.ClientResponse) -> Any:
    return orjson.loads(await response.read())


async def _start(
    fake: FakeCanvas, session: aiohttp.ClientSession, path: str, body: dict[str, Any]
) -> tuple[int, Any]:
    async with session.post(fake.url(path), json=body) as response:
        return response.status, await _json(response)


async def _get(fake: FakeCanvas, session: aiohttp.ClientSession, path: str) -> tuple[int, Any]:
    async with session.get(fake.url(path)) as response:
        return response.status, await _json(response)


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/users/5/page_views/query"),
        ("GET", f"/api/v1/users/5/page_views/query/{UNKNOWN_ID}"),
        ("GET", f"/api/v1/users/5/page_views/query/{UNKNOWN_ID}/results"),
        ("POST", BATCH),
        ("GET", f"{BATCH}/{UNKNOWN_ID}"),
        ("GET", f"{BATCH}/{UNKNOWN_ID}/results"),
    ],
)
async def test_without_history_all_six_calls_answer_404(
    small_world: World, method: str, path: str
) -> None:
    headers = {"Authorization": f"Bearer {small_world.admin_token}"}
    async with (
        serve(small_world) as fake,
        aiohttp.ClientSession(headers=headers) as session,
        session.request(method, fake.url(path), json=MONTHS) as response,
    ):
        assert response.status == 404
        body = await response.json()
        assert body == {"error": "Page views history is not available in this environment."}


@pytest.mark.parametrize(
    ("absent", "status", "content_type", "body"),
    [
        ("routes", 404, "application/json",
         b'{"errors":[{"message":"The specified resource does not exist."}]}'),
        ("proxy", 404, "text/plain", b"Not Found\n"),
        # The controller's source: an export service not configured raises, unrescued.
        ("raising", 500, "application/json",
         b'{"errors":[{"message":"An error occurred."}],"error_report_id":4245}'),
    ],
)  # fmt: skip
async def test_without_history_a_canvas_or_a_proxy_can_answer_its_own_way(
    small_world: World, absent: str, status: int, content_type: str, body: bytes
) -> None:
    headers = {"Authorization": f"Bearer {small_world.admin_token}"}
    config = FakeConfig(history_absent=absent)  # type: ignore[arg-type]
    async with serve(small_world, config) as fake, aiohttp.ClientSession(headers=headers) as s:
        for method, path in [("POST", BATCH), ("GET", f"{BATCH}/{UNKNOWN_ID}")]:
            async with s.request(method, fake.url(path), json=MONTHS) as response:
                assert response.status == status
                assert response.content_type == content_type
                assert await response.read() == body


async def test_a_user_query_runs_to_a_gzip_file_with_every_view(small_world: World) -> None:
    [uid] = _busiest(small_world)
    config = HistoryConfig(queue_seconds=2, run_seconds=5)
    async with _fake(small_world, config) as (fake, session):
        status, body = await _start(fake, session, f"/api/v1/users/{uid}/page_views/query", MONTHS)
        assert status == 201
        assert set(body) == {"poll_url"}
        poll_url = body["poll_url"]
        query_id = poll_url.rsplit("/", 1)[1]
        assert poll_url == f"/api/v1/users/{uid}/page_views/query/{query_id}"
        assert query_id == query_id.lower()
        states = []
        for _ in range(3):
            status, polled = await _get(fake, session, poll_url)
            assert status == 200
            states.append(polled["status"])
            _advance(fake, 4)
        assert states == ["queued", "running", "finished"]
        assert polled == {
            "query_id": query_id,
            "status": "finished",
            "format": "csv",
            "results_url": f"{poll_url}/results",
            "error_code": None,
        }
        async with session.get(fake.url(polled["results_url"])) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/csv"
            assert response.headers["Content-Encoding"] == "gzip"
            disposition = f'attachment; filename="page_views_{query_id}.csv.gz"'
            assert response.headers["Content-Disposition"] == disposition
            assert "Content-Length" not in response.headers  # streamed
            rows = _rows(gzip.decompress(await response.read()))
    assert {r["id"] for r in rows} == expected_history_ids(small_world, [uid], JAN, APR)


async def test_a_batch_file_is_gzip_without_the_header_and_warns_of_filtered_users(
    small_world: World,
) -> None:
    users = _busiest(small_world, 3)
    config = HistoryConfig(filtered_users=frozenset({users[0]}))
    async with _fake(small_world, config) as (fake, session):
        body = {**MONTHS, "user_ids": users, "results_format": "jsonl"}
        status, started = await _start(fake, session, BATCH, body)
        assert status == 201
        assert started["poll_url"].startswith(f"{BATCH}/")
        _advance(fake, 7)
        status, polled = await _get(fake, session, started["poll_url"])
        assert polled["warnings"] == [
            {
                "code": "USER_FILTERED",
                "message": f"Filtered out 1 user from batch query: {10**13 + users[0]}",
            }
        ]
        assert polled["format"] == "jsonl"
        async with session.get(fake.url(polled["results_url"])) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "application/jsonl"
            assert "Content-Encoding" not in response.headers
            assert response.headers["Content-Disposition"].endswith('.jsonl.gz"')
            data = await response.read()
    assert data[:2] == b"\x1f\x8b"
    rows = [orjson.loads(line) for line in gzip.decompress(data).splitlines()]
    assert {r["id"] for r in rows} == expected_history_ids(small_world, users[1:], JAN, APR)


async def test_a_batch_without_filtered_users_has_null_warnings(small_world: World) -> None:
    async with _fake(small_world) as (fake, session):
        _, started = await _start(
            fake, session, BATCH, {**MONTHS, "user_ids": _busiest(small_world)}
        )
        _, polled = await _get(fake, session, started["poll_url"])
    assert polled["warnings"] is None


async def test_a_form_body_and_uncompressed_files_work_too(small_world: World) -> None:
    users = _busiest(small_world, 2)
    async with _fake(small_world, HistoryConfig(compress=False)) as (fake, session):
        form = [*MONTHS.items(), *(("user_ids[]", str(u)) for u in users)]
        async with session.post(fake.url(BATCH), data=form) as response:
            assert response.status == 201
            poll_url = (await _json(response))["poll_url"]
        _advance(fake, 7)
        async with session.get(fake.url(f"{poll_url}/results")) as response:
            assert response.headers["Content-Disposition"].endswith('.csv"')
            rows = _rows(await response.read())
    assert {r["id"] for r in rows} == expected_history_ids(small_world, users, JAN, APR)
    assert fake.requests[0].history is not None
    assert fake.requests[0].history.user_ids == tuple(users)


async def test_a_query_without_rows_gives_204(small_world: World) -> None:
    [uid] = _busiest(small_world)
    async with _fake(small_world) as (fake, session):
        body = {**MONTHS, "start_date": "2014-06-01", "end_date": "2014-09-01"}
        _, started = await _start(fake, session, f"/api/v1/users/{uid}/page_views/query", body)
        _advance(fake, 7)
        async with session.get(fake.url(started["poll_url"] + "/results")) as response:
            assert response.status == 204
            assert await response.read() == b""


@pytest.mark.parametrize(
    ("change", "per_user", "batch"),
    [
        ({"start_date": None}, "Parameter start_date is missing.", None),
        ({"end_date": None}, "Parameter end_date is missing.", None),
        ({"start_date": "2015-01-02"}, None, "Only full-month intervals are supported"),
        ({"end_date": "2015-4-1"}, None, "Date must be in YYYY-MM-DD format"),
        ({"results_format": "xml"}, None, "Format must be one of csv, jsonl"),
        ({"start_date": "2015-03-01", "end_date": "2015-02-01"}, None,
         "Start date must be before or equal to end date"),
        ({"end_date": "2015-06-01"}, "end_date cannot be in a future month", None),
        ({"start_date": "2014-03-01"}, "The requested data cannot be older than 12 months",
         None),
    ],
)  # fmt: skip
async def test_start_refuses_bad_dates_and_formats(
    small_world: World, change: dict[str, str | None], per_user: str | None, batch: str | None
) -> None:
    [uid] = _busiest(small_world)
    body = {k: v for k, v in {**MONTHS, **change}.items() if v is not None}
    async with _fake(small_world) as (fake, session):
        alone = await _start(fake, session, f"/api/v1/users/{uid}/page_views/query", body)
        many = await _start(fake, session, BATCH, {**body, "user_ids": [uid]})
    generic = "Page Views received an invalid or malformed request."
    assert alone == (400, {"error": per_user or generic})
    assert many == (400, {"error": batch or per_user})


async def test_the_current_month_and_twelve_months_back_are_allowed(small_world: World) -> None:
    [uid] = _busiest(small_world)
    async with _fake(small_world) as (fake, session):
        body = {**MONTHS, "start_date": "2014-04-01", "end_date": "2015-05-01"}
        status, _ = await _start(fake, session, f"/api/v1/users/{uid}/page_views/query", body)
    assert status == 201


async def test_batch_user_ids_are_checked(small_world: World) -> None:
    users = small_world.user_ids
    async with _fake(small_world) as (fake, session):
        many = await _start(fake, session, BATCH, {**MONTHS, "user_ids": users[:12]})
        twice = await _start(fake, session, BATCH, {**MONTHS, "user_ids": [users[0], users[0]]})
        none = await _start(fake, session, BATCH, MONTHS)
        unknown = await _start(fake, session, BATCH, {**MONTHS, "user_ids": [users[0], 999999]})
    assert many == (400, {"error": "Too many user IDs. Maximum: 10, provided: 12"})
    assert twice == (400, {"error": f"Duplicate user ID found: {users[0]}"})
    assert none == (400, {"error": "Parameter user_ids is missing."})
    assert unknown[0] == 404


@pytest.mark.parametrize("auth_status", [401, 403])
async def test_a_token_without_view_statistics_is_refused(
    small_world: World, auth_status: int
) -> None:
    [uid] = _busiest(small_world)
    headers = {"Authorization": f"Bearer {small_world.teacher_token}"}
    async with (
        _fake(small_world, auth_error_status=auth_status) as (fake, _),
        aiohttp.ClientSession(headers=headers) as teacher,
    ):
        alone = await _start(fake, teacher, f"/api/v1/users/{uid}/page_views/query", MONTHS)
        many = await _start(fake, teacher, BATCH, {**MONTHS, "user_ids": [uid, 999999]})
        poll = await _get(fake, teacher, f"{BATCH}/{UNKNOWN_ID}")
        missing = await _start(fake, teacher, "/api/v1/users/999999/page_views/query", MONTHS)
    refusal = {
        "status": "unauthorized",
        "errors": [{"message": "user not authorized to perform that action"}],
    }
    # The batch stops at its first user, before reaching the unknown one.
    assert alone == many == poll == (auth_status, refusal)
    assert missing == (404, {"errors": [{"message": "The specified resource does not exist."}]})


async def test_a_batch_stops_at_its_first_hidden_user(small_world: World) -> None:
    users = _busiest(small_world, 3)
    config = HistoryConfig(hidden_users=frozenset({users[1]}))
    async with _fake(small_world, config, auth_error_status=403) as (fake, session):
        many = await _start(fake, session, BATCH, {**MONTHS, "user_ids": [*users, 999999]})
        unknown_first = await _start(fake, session, BATCH, {**MONTHS, "user_ids": [999999, *users]})
        alone = await _start(fake, session, f"/api/v1/users/{users[1]}/page_views/query", MONTHS)
        others = await _start(fake, session, BATCH, {**MONTHS, "user_ids": [users[0], users[2]]})
    assert many[0] == alone[0] == 403
    assert many[1]["errors"] == [{"message": "user not authorized to perform that action"}]
    assert unknown_first[0] == 404
    assert others[0] == 201


async def test_deleted_and_refused_users_stop_a_batch_and_refuse_the_list_too(
    small_world: World,
) -> None:
    users = _busiest(small_world, 4)
    gone, outside = users[1], users[2]
    faults = FaultConfig(missing_users=frozenset({gone}), refused_users=frozenset({outside}))
    async with _fake(small_world, faults=faults, throttle=None) as (fake, session):
        first_gone = await _start(fake, session, BATCH, {**MONTHS, "user_ids": users})
        first_outside = await _start(
            fake, session, BATCH, {**MONTHS, "user_ids": [users[0], outside, gone]}
        )
        alone = await _start(fake, session, f"/api/v1/users/{gone}/page_views/query", MONTHS)
        others = await _start(fake, session, BATCH, {**MONTHS, "user_ids": [users[0], users[3]]})
        listed = []
        for user in users:
            async with session.get(fake.url(f"/api/v1/users/{user}/page_views")) as response:
                listed.append(response.status)
    missing = (404, {"errors": [{"message": "The specified resource does not exist."}]})
    assert first_gone == alone == missing
    assert first_outside[0] == 401
    assert others[0] == 201
    assert listed == [200, 404, 401, 200]


async def test_a_job_may_never_finish(small_world: World) -> None:
    [uid] = _busiest(small_world)
    config = HistoryConfig(queue_seconds=0, run_seconds=math.inf, max_jobs_per_requester=1)
    async with _fake(small_world, config) as (fake, session):
        _, started = await _start(fake, session, f"/api/v1/users/{uid}/page_views/query", MONTHS)
        _advance(fake, 10**6)  # eleven days
        _, polled = await _get(fake, session, started["poll_url"])
        refused, _ = await _start(fake, session, BATCH, {**MONTHS, "user_ids": [uid]})
    assert polled["status"] == "running"
    assert refused == 429


async def test_poll_and_results_know_only_valid_live_ids_of_their_route(
    small_world: World,
) -> None:
    [uid] = _busiest(small_world)
    other = small_world.user_ids[0]
    user_path = f"/api/v1/users/{uid}/page_views/query"
    async with _fake(small_world, HistoryConfig(expiry_seconds=60)) as (fake, session):
        _, started = await _start(fake, session, user_path, MONTHS)
        query_id = started["poll_url"].rsplit("/", 1)[1]
        bad = await _get(fake, session, f"{user_path}/{query_id.upper()}")
        unknown = await _get(fake, session, f"{user_path}/{UNKNOWN_ID}")
        unknown_file = await _get(fake, session, f"{user_path}/{UNKNOWN_ID}/results")
        on_batch = await _get(fake, session, f"{BATCH}/{query_id}")
        on_other = await _get(fake, session, f"/api/v1/users/{other}/page_views/query/{query_id}")
        early = await _get(fake, session, f"{user_path}/{query_id}/results")
        _advance(fake, 7 + 60)
        expired = await _get(fake, session, f"{user_path}/{query_id}")
        expired_file = await _get(fake, session, f"{user_path}/{query_id}/results")
    assert bad == (400, {"error": "Invalid query ID"})
    assert (
        unknown == on_batch == on_other == expired == (404, {"error": "The query was not found."})
    )
    assert unknown_file == expired_file == (404, {"error": "The result for query was not found."})
    assert early == (400, {"error": "The query has not finished."})


async def test_starting_is_refused_while_jobs_run_and_at_capacity(small_world: World) -> None:
    users = _busiest(small_world, 3)
    config = HistoryConfig(max_jobs_per_requester=2, capacity=2, queue_seconds=1, run_seconds=1)
    # Without the bucket: five starts at 150 units each would overrun it.
    async with _fake(small_world, config, throttle=None) as (fake, session):
        statuses = [
            (await _start(fake, session, BATCH, {**MONTHS, "user_ids": [u]}))[0] for u in users
        ]
        _, refused = await _start(fake, session, BATCH, {**MONTHS, "user_ids": users[:1]})
        fake.config.history = replace(config, max_jobs_per_requester=5)
        full = await _start(fake, session, BATCH, {**MONTHS, "user_ids": users[:1]})
        _advance(fake, 2)
        again, _ = await _start(fake, session, BATCH, {**MONTHS, "user_ids": users[:1]})
    assert statuses == [201, 201, 429]
    assert refused == {"error": "Page Views rate limit exceeded. Please wait and try again."}
    assert full == (503, {"error": "Query queue is at capacity. Please wait and try again."})
    assert again == 201


async def test_failed_jobs_and_broken_downloads_can_be_injected(small_world: World) -> None:
    [uid] = _busiest(small_world)
    path = f"/api/v1/users/{uid}/page_views/query"
    count = small_world.page_view_count(uid)
    config = HistoryConfig(max_rows=count - 1, result_errors=(500, 400))
    async with _fake(small_world, config) as (fake, session):
        _, too_big = await _start(fake, session, path, MONTHS)
        _advance(fake, 7)
        _, failed = await _get(fake, session, too_big["poll_url"])
        _, fits = await _start(fake, session, path, {**MONTHS, "end_date": "2015-02-01"})
        _advance(fake, 7)
        first = await _get(fake, session, fits["poll_url"] + "/results")
        second = await _get(fake, session, fits["poll_url"] + "/results")
        async with session.get(fake.url(fits["poll_url"] + "/results")) as response:
            third = response.status
    assert failed["status"] == "failed"
    assert failed["error_code"] == "RESULT_SIZE_LIMIT_EXCEEDED"
    assert failed["results_url"] is None
    assert first == (500, {"error": "An unexpected error occurred."})
    assert second == (400, {"error": "The result file could not be read."})
    assert third == 200


async def test_running_can_be_named_processing(small_world: World) -> None:
    [uid] = _busiest(small_world)
    config = HistoryConfig(running_status="processing")
    async with _fake(small_world, config) as (fake, session):
        _, started = await _start(fake, session, f"/api/v1/users/{uid}/page_views/query", MONTHS)
        _advance(fake, 3)
        _, polled = await _get(fake, session, started["poll_url"])
    assert polled["status"] == "processing"


async def test_history_calls_cost_extra_and_list_pages_can_too(small_world: World) -> None:
    [uid] = _busiest(small_world)
    throttle = FakeConfig().throttle
    assert throttle is not None
    priced = replace(throttle, list_cost_per_page_size=0.4)
    async with _fake(small_world, throttle=priced) as (fake, session):
        costs = []
        async with session.post(
            fake.url(f"/api/v1/users/{uid}/page_views/query"), json=MONTHS
        ) as response:
            poll_url = (await _json(response))["poll_url"]
            costs.append(response.headers["X-Request-Cost"])
        _advance(fake, 7)
        for path in (poll_url, poll_url + "/results"):
            async with session.get(fake.url(path)) as response:
                await response.read()
                costs.append(response.headers["X-Request-Cost"])
        url = fake.url(f"/api/v1/users/{uid}/page_views?per_page=100&start_time=2015-03-01")
        async with session.get(url) as response:
            costs.append(response.headers["X-Request-Cost"])
            served = len(await _json(response))
    assert costs[:3] == ["150.05", "5.05", "50.05"]
    # The list's extra cost follows per_page, not the rows served.
    assert 0 < served < 100
    assert float(costs[3]) == pytest.approx(40.05 + 0.002 * served)


async def test_the_log_names_each_history_call(small_world: World) -> None:
    users = _busiest(small_world, 2)
    async with _fake(small_world) as (fake, session):
        _, started = await _start(fake, session, BATCH, {**MONTHS, "user_ids": users})
        await _get(fake, session, started["poll_url"])
        await _get(fake, session, f"/api/v1/users/{users[0]}/page_views/query/{UNKNOWN_ID}")
        _, logged = await _get(fake, session, "/__fake__/requests")
    assert logged[0]["history"]["kind"] == "start"
    assert logged[0]["history"]["user_ids"] == users
    calls = [r.history for r in fake.requests]
    query_id = started["poll_url"].rsplit("/", 1)[1]
    assert [(c.kind, c.batch, c.query_id) for c in calls if c] == [
        ("start", True, query_id),
        ("poll", True, query_id),
        ("poll", False, UNKNOWN_ID),
    ]
    assert calls[0] is not None and calls[1] is not None
    assert calls[0].user_ids == calls[1].user_ids == tuple(users)
    assert (calls[0].start_date, calls[0].end_date) == ("2015-01-01", "2015-04-01")
    assert fake.requests[2].user_id == users[0]


async def test_head_checks_a_result_and_a_broken_body_is_refused(small_world: World) -> None:
    [uid] = _busiest(small_world)
    path = f"/api/v1/users/{uid}/page_views/query"
    async with _fake(small_world) as (fake, session):
        headers = {"Content-Type": "application/json"}
        async with session.post(fake.url(path), data=b"{oops", headers=headers) as response:
            broken = response.status, await _json(response)
        _, started = await _start(fake, session, path, MONTHS)
        _advance(fake, 7)
        # The Canvas UI asks with HEAD whether a download is ready (asyncPageviewExport.ts).
        async with session.head(fake.url(started["poll_url"] + "/results")) as response:
            assert response.status == 200
            assert response.headers["Content-Disposition"].endswith('.csv.gz"')
            assert await response.read() == b""
    assert broken == (400, {"error": "Page Views received an invalid or malformed request."})


async def test_history_reaches_past_the_list_endpoints_retention(small_world: World) -> None:
    [uid] = _busiest(small_world)
    async with _fake(small_world, retention_days=30) as (fake, session):
        url = fake.url(f"/api/v1/users/{uid}/page_views?per_page=100&start_time=2015-01-01T00:00Z")
        async with session.get(url) as response:
            listed = await _json(response)
        _, started = await _start(fake, session, "/api/v1/users/self/page_views/query", MONTHS)
        assert started["poll_url"].startswith(f"/api/v1/users/{small_world.admin_user_id}/")
        _, started = await _start(fake, session, f"/api/v1/users/{uid}/page_views/query", MONTHS)
        _advance(fake, 7)
        async with session.get(fake.url(started["poll_url"] + "/results")) as response:
            rows = _rows(gzip.decompress(await response.read()))
    cutoff = (NOW - timedelta(days=30)).isoformat()
    assert all(v["created_at"] >= cutoff[:19] for v in listed)
    assert len({r["id"] for r in rows}) == small_world.page_view_count(uid) > len(listed)


async def test_without_a_fake_now_jobs_run_on_real_time(small_world: World) -> None:
    [uid] = _busiest(small_world)
    config = FakeConfig(history=HistoryConfig(queue_seconds=0, run_seconds=0, max_months=1000))
    headers = {"Authorization": f"Bearer {small_world.admin_token}"}
    async with (
        serve(small_world, config) as fake,
        aiohttp.ClientSession(headers=headers) as session,
    ):
        status, started = await _start(
            fake, session, f"/api/v1/users/{uid}/page_views/query", MONTHS
        )
        _, polled = await _get(fake, session, started["poll_url"])
        async with session.get(fake.url(polled["results_url"])) as response:
            rows = _rows(await response.read())  # gunzipped by aiohttp: Content-Encoding
    assert status == 201
    assert polled["status"] == "finished"
    assert {r["id"] for r in rows} == expected_history_ids(small_world, [uid], JAN, APR)
