"""A refused or deleted user costs its history group a few starts, not ten, and only itself.

Canvas's batch start stops at the first user it refuses (401/403) or does not
know (404) without naming it. Users the run already knows are refused or gone
never go into a group; a refused group is halved until they stand alone.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from pageviews.cli import main
from pageviews.testing import FakeCanvas, FaultConfig, World, serve
from pageviews.testing.report_files import assert_reports_exact, without_users

from .cli_process import FAST_RETRIES, write_token
from .test_history import END, INSTANT, START, fake_config, truth

pytestmark = pytest.mark.anyio

ARGS = ["1693", "--start_time", "2015-01-01", "--end_time", "2015-04-19",
        "--enrollment_types", "StudentEnrollment", "--now", "2015-04-20T12:00:00Z",
        *FAST_RETRIES]  # fmt: skip


def starts(canvas: FakeCanvas) -> list[tuple[int, tuple[int, ...]]]:
    """Every history start: its status and the users of those Canvas accepted."""
    return [
        (r.status, r.history.user_ids)
        for r in canvas.requests
        if r.history is not None and r.history.kind == "start"
    ]


async def cli(canvas: FakeCanvas, tmp_path: Path, *args: str) -> int:
    write_token(tmp_path, canvas.world.admin_token)
    argv = [*ARGS, "--base-url", canvas.base_url, "--out-dir", str(tmp_path),
            "--token-file", str(tmp_path / "oauthtoken.txt"), *args]  # fmt: skip
    return await anyio.to_thread.run_sync(main, argv)


def two_with_old_views(world: World) -> tuple[int, int]:
    """Two students with views older than the list's 30 days (history must read them)."""
    want = truth(world)
    old = sorted({r.user_id for r in want.records if r.created_at < "2015-03-01T00:00:00Z"})
    return old[0], old[1]


@pytest.mark.parametrize("auth_status", [401, 403])
async def test_users_the_list_found_refused_or_gone_never_join_a_history_group(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], auth_status: int
) -> None:
    outside, deleted = two_with_old_views(small_world)
    faults = FaultConfig(refused_users=frozenset({outside}), missing_users=frozenset({deleted}))
    config = fake_config(INSTANT, faults=faults, auth_error_status=auth_status)
    async with serve(small_world, config) as canvas:
        code = await cli(canvas, tmp_path, "--history", "auto")
        started = starts(canvas)
    err = capsys.readouterr().err
    assert code == 9, err
    assert f"INCOMPLETE user {outside}: permission denied: " in err
    assert f"skipped user {deleted}: not found" in err
    assert err.count("INCOMPLETE") == 1 and err.count("skipped user") == 1
    want = without_users(truth(small_world), {outside, deleted})
    assert_reports_exact(tmp_path, want, 1693, START, END)
    assert started and {status for status, _ in started} == {201}
    assert not {outside, deleted} & {u for _, users in started for u in users}


async def test_without_list_reads_one_view_each_tells_refused_and_gone_users_first(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --history only reads no list pages: one view of each user from the list endpoint
    # (half a unit on hosted Canvas) tells who is refused or gone before any start.
    outside, deleted = two_with_old_views(small_world)
    faults = FaultConfig(refused_users=frozenset({outside}), missing_users=frozenset({deleted}))
    async with serve(small_world, fake_config(INSTANT, faults=faults)) as canvas:
        code = await cli(canvas, tmp_path, "--history", "only")
        started = starts(canvas)
        asked = [r for r in canvas.requests if r.path.endswith("/page_views")]
    err = capsys.readouterr().err
    assert code == 9, err
    assert f"INCOMPLETE user {outside}: permission denied: " in err
    assert f"skipped user {deleted}: not found" in err
    want = without_users(truth(small_world), {outside, deleted})
    assert_reports_exact(tmp_path, want, 1693, START, END)
    assert {status for status, _ in started} == {201}
    assert not {outside, deleted} & {u for _, users in started for u in users}
    roster = set(truth(small_world).roster)
    assert {r.user_id for r in asked} - {small_world.admin_user_id} == roster
    assert all(r.query.endswith("per_page=1") for r in asked)


async def test_a_refused_batch_is_halved_so_one_refused_user_costs_a_few_starts(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Users the export service refuses though the list endpoint serves them: only the
    # batch start can tell, and it stops at the first without naming it.
    hidden = frozenset(two_with_old_views(small_world))
    async with serve(small_world, fake_config(replace(INSTANT, hidden_users=hidden))) as canvas:
        code = await cli(canvas, tmp_path, "--history", "only")
        started = starts(canvas)
    err = capsys.readouterr().err
    assert code == 9, err
    for user in hidden:
        assert f"INCOMPLETE user {user}: permission denied: " in err
    assert err.count("INCOMPLETE") == 2
    assert_reports_exact(tmp_path, without_users(truth(small_world), hidden), 1693, START, END)
    refused = [users for status, users in started if status != 201]
    # Each refused user: its halving, about ceil(log2 10) + 1 refused starts, not ten.
    assert 0 < len(refused) <= 2 * 5
    groups = -(-len(truth(small_world).roster) // 10)
    assert len(started) - groups <= 2 * 8
