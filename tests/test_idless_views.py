"""Views without an id cannot be told apart from repeats: their users are named, never dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from pageviews.cli import main
from pageviews.testing import FakeConfig, ListQuirks, World, serve
from pageviews.testing.report_files import assert_reports_exact, without_users

from .harvesting import END, START, harvest, truth_for

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("size", [10, 50])
async def test_a_user_with_views_without_an_id_is_incomplete_and_the_rest_exact(
    small_world: World, tmp_path: Path, size: int
) -> None:
    async with serve(small_world, FakeConfig(throttle=None)) as canvas:
        roster = truth_for(canvas).roster
    idless = frozenset(roster[:2])
    config = FakeConfig(throttle=None, quirks=ListQuirks(max_per_page=size, idless_users=idless))
    async with serve(small_world, config) as canvas:
        result = await harvest(canvas, tmp_path)
        truth = truth_for(canvas)
    assert not result.complete
    assert {user for user, _ in result.failed_users} == idless
    assert all("without an id" in why for _, why in result.failed_users)
    assert_reports_exact(tmp_path, without_users(truth, idless), 1693, START, END)


async def test_the_command_names_them_and_exits_9_again_on_a_rerun(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serve(small_world, FakeConfig(throttle=None)) as canvas:
        user = truth_for(canvas).roster[0]
    quirks = ListQuirks(max_per_page=10, idless_users=frozenset({user}))
    token = tmp_path / "token.txt"
    async with serve(small_world, FakeConfig(throttle=None, quirks=quirks)) as canvas:
        token.write_text(canvas.world.admin_token)
        token.chmod(0o600)
        argv = ["1693", "--start_time", "2015-01-26", "--end_time", "2015-03-12",
                "--enrollment_types", "StudentEnrollment", "--base-url", canvas.base_url,
                "--token-file", str(token), "--out-dir", str(tmp_path / "out"),
                "--retry-base-wait", "0.01", "--retry-max-wait", "0.02"]  # fmt: skip
        codes = []
        for _ in range(2):
            codes.append(await anyio_run(argv))
    err = capsys.readouterr().err
    assert codes == [9, 9], err
    assert err.count(f"INCOMPLETE user {user}: ") == 2
    assert "without an id" in err


async def anyio_run(argv: list[str]) -> int:
    import anyio.to_thread

    return await anyio.to_thread.run_sync(main, argv)
