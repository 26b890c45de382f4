"""A Canvas without the History API is asked, not assumed: the seed's own command just works.

The seed invocation reaches back to 2015, past history's twelve months and the
list's thirty days. A self-hosted Canvas keeps every view in its list endpoint
and has no export service: the default (``--history auto``) must read the range
from the list endpoint, say so once, and exit 0.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from pageviews.cli import main
from pageviews.testing import FakeCanvas, FakeConfig, HistoryConfig, World, serve
from pageviews.testing.report_files import assert_reports_exact

from .cli_process import FAST_RETRIES, SEED_ARGS, finish, start_cli, write_token
from .harvesting import END, START, truth_for
from .test_history import END as H_END
from .test_history import START as H_START
from .test_history import fake_config, truth

pytestmark = pytest.mark.anyio

NOTE = (
    "note: Canvas's page-view history is not available here ({said}): the whole "
    "range was read from the list endpoint, which on a self-hosted Canvas keeps every view"
)
PROBE = "00000000-0000-4000-8000-000000000000"  # the query id the probe polls
SAID = {
    "unconfigured": "HTTP 404: Page views history is not available in this environment.",
    "routes": "HTTP 404: The specified resource does not exist.",
    "proxy": "HTTP 404: Not Found",
    "raising": "HTTP 500 every time it was asked: An error occurred.",
}


def history_calls(canvas: FakeCanvas) -> list[str]:
    return [r.path for r in canvas.requests if "/page_views/query" in r.path]


async def cli(canvas: FakeCanvas, tmp_path: Path, *args: str) -> int:
    write_token(tmp_path, canvas.world.admin_token)
    argv = [*SEED_ARGS, "--base-url", canvas.base_url, "--out-dir", str(tmp_path),
            "--token-file", str(tmp_path / "oauthtoken.txt"), *FAST_RETRIES, *args]  # fmt: skip
    return await anyio.to_thread.run_sync(main, argv)


@pytest.fixture
def default_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings a new user has: ``--history`` at its default."""
    monkeypatch.delenv("PAGEVIEWS_HISTORY", raising=False)


@pytest.mark.usefixtures("default_history")
@pytest.mark.parametrize("absent", ["unconfigured", "routes", "proxy", "raising"])
async def test_the_seed_command_reads_a_self_hosted_canvas_with_default_settings(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], absent: str
) -> None:
    config = FakeConfig(history_absent=absent)  # type: ignore[arg-type]
    async with serve(small_world, config) as canvas:
        code = await cli(canvas, tmp_path)
        want = truth_for(canvas)
        probes = history_calls(canvas)
    err = capsys.readouterr().err
    assert code == 0, err
    assert_reports_exact(tmp_path, want, 1693, START, END)
    assert err.count("note: Canvas's page-view history is not available") == 1, err
    assert NOTE.format(said=SAID[absent]) in err
    assert "warning" not in err and "not found" not in err
    # Asked once, remembered for the run (a 500 is asked again once, as any fault is).
    assert len(probes) == (2 if absent == "raising" else 1)


@pytest.mark.usefixtures("default_history")
async def test_only_on_a_canvas_without_history_stops_with_exit_7_before_listing(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serve(small_world, FakeConfig(history_absent="proxy")) as canvas:
        code = await cli(canvas, tmp_path, "--history", "only")
        asked = [r.path for r in canvas.requests]
    err = capsys.readouterr().err
    assert code == 7, err
    assert err.splitlines() == [
        "pageviews: error: Canvas's page-view history is not available here (HTTP 404: Not "
        "Found); --history only cannot read anything here: use --history auto, which reads "
        "the whole range from the list endpoint"
    ]
    assert asked == ["/api/v1/users/self", "/api/v1/users/page_views/query/" + PROBE]


@pytest.mark.usefixtures("default_history")
async def test_a_bad_token_is_told_before_the_range(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serve(small_world, FakeConfig(history=HistoryConfig())) as canvas:
        write_token(tmp_path, "not-a-token")
        argv = [*SEED_ARGS, "--base-url", canvas.base_url, "--out-dir", str(tmp_path),
                "--token-file", str(tmp_path / "oauthtoken.txt")]  # fmt: skip
        code = await anyio.to_thread.run_sync(main, argv)
    assert code == 3
    assert "error: Canvas rejected the token: Invalid access token." in capsys.readouterr().err


@pytest.mark.usefixtures("default_history")
async def test_a_canvas_with_history_refuses_a_range_past_its_reach_naming_the_first_day(
    small_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = FakeConfig(history=HistoryConfig(), now=None)
    async with serve(small_world, config) as canvas:
        code = await cli(canvas, tmp_path, "--now", "2016-02-10T00:00:00Z")
        asked = [r.path for r in canvas.requests]
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("pageviews: error: the range starts before 2015-02-01: Canvas's ")
    assert asked == ["/api/v1/users/self", "/api/v1/users/page_views/query/" + PROBE]


async def test_history_withdrawn_mid_run_is_read_from_the_list_and_no_user_is_not_found(
    small_world: World, tmp_path: Path
) -> None:
    # Canvas answers the probe, then its export service goes away: every history call
    # answers a proxy's bare 404 for users the list endpoint has just served.
    config = fake_config(retention_days=None)
    write_token(tmp_path, small_world.admin_token)
    args = ["1693", "--start_time", "2015-01-01", "--end_time", "2015-04-19",
            "--enrollment_types", "StudentEnrollment", "--history", "auto",
            "--now", "2015-04-20T12:00:00Z", *FAST_RETRIES]  # fmt: skip
    async with serve(small_world, config) as canvas:
        process = await start_cli(canvas, tmp_path, args)
        async with process:
            await canvas.wait_until(lambda c: bool(history_calls(c)))
            canvas.config.history = None
            canvas.config.history_absent = "proxy"
            code, err = await finish(process)
        starts = [r.status for r in canvas.requests if r.path.endswith("/page_views/query")]
    assert code == 0, err
    assert_reports_exact(tmp_path, truth(small_world), 1693, H_START, H_END)
    assert starts and set(starts) == {404}
    assert NOTE.format(said="HTTP 404: Not Found") in err
    assert "skipped user" not in err and "INCOMPLETE" not in err
