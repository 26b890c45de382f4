"""What the reports hold at the edges: users read only in part, and spreadsheet-hostile text."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from pageviews.testing import (
    FakeConfig,
    FaultConfig,
    FaultKind,
    World,
    WorldSpec,
    expected_reports,
    serve,
)
from pageviews.testing.report_files import assert_reports_exact, without_users

from .cli_process import FAST_RETRIES, SEED_ARGS, run_cli, write_token
from .harvesting import END, START, STUDENTS, truth_for

pytestmark = pytest.mark.anyio
LABEL = "1693_2015-01-26-2015-03-12"
FORMULAS = ('=HYPERLINK("http://evil.example","x")', "+1", "-2+3", "@SUM(A1)")
# Some pages answer 500 every time: a user whose second or later page is one of
# them has pages stored and is still incomplete.
STUBBORN_500S = FaultConfig(seed=3, rate=0.05, kinds=(FaultKind.HTTP_500,), max_consecutive=1_000)


async def test_a_user_read_only_in_part_is_left_out_of_the_reports_whole(
    test_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, test_world.admin_token)
    async with serve(test_world, FakeConfig(faults=STUBBORN_500S)) as canvas:
        code, _, err = await run_cli(
            canvas, tmp_path, [*SEED_ARGS, *FAST_RETRIES, "--retries", "2", "--no-split"]
        )
        truth = truth_for(canvas)
    assert code == 9, err
    failed = {int(user) for user in re.findall(r"INCOMPLETE user (\d+)", err)}
    with sqlite3.connect(tmp_path / "pageviews-state.sqlite") as db:
        read_in_part = {
            user for (user,) in db.execute("SELECT DISTINCT user_id FROM units WHERE pages > 0")
        } & failed
    assert read_in_part, "the faults should cut some user off after a stored page"
    assert_reports_exact(tmp_path, without_users(truth, failed), 1693, START, END)
    assert "reports written without them" in err


def hostile_world() -> World:
    """The small world with students whose names a spreadsheet would run as formulas."""
    world = World.generate(WorldSpec.preset("small"))
    students = expected_reports(world, 1693, START, END, enrollment_types=STUDENTS).roster
    for user_id, name in zip(sorted(students), FORMULAS, strict=False):
        world.users[user_id] = replace(world.users[user_id], name=name)
    return world


async def test_excel_guards_formula_cells_and_the_default_does_not(tmp_path: Path) -> None:
    world = hostile_world()
    write_token(tmp_path, world.admin_token)
    async with serve(world) as canvas:
        code, _, err = await run_cli(canvas, tmp_path, [*SEED_ARGS, "--out-dir", "plain"])
        assert code == 0, err
        code, _, err = await run_cli(canvas, tmp_path, [*SEED_ARGS, "--excel", "--out-dir", "xl"])
        assert code == 0, err
        truth = truth_for(canvas)
    assert_reports_exact(tmp_path / "plain", truth, 1693, START, END)
    for kind in ("total-pageviews", "total-user-pageviews", "user-pageviews"):
        plain = (tmp_path / "plain" / f"{kind}_{LABEL}.csv").read_bytes()
        excel = (tmp_path / "xl" / f"{kind}_{LABEL}.csv").read_bytes()
        assert not plain.startswith(b"\xef\xbb\xbf")
        assert excel.startswith(b"\xef\xbb\xbf")
        # Only cells that a spreadsheet would run as a formula change: they gain a quote.
        assert excel[3:].replace(b",'", b",").replace(b",\"'", b',"') == plain
        if kind != "total-pageviews":
            assert b",'+1" in excel and b",+1" in plain
        assert (tmp_path / "xl" / f"{kind}_{LABEL}.json").read_bytes() == (
            tmp_path / "plain" / f"{kind}_{LABEL}.json"
        ).read_bytes()


def test_excel_cells() -> None:
    from pageviews.outputs.textcodec import excel_field

    assert [excel_field(v) for v in ("=1+1", "+1", "-2", "@SUM(A1)", "a=b", "", "x,=y")] == [
        "'=1+1", "'+1", "'-2", "'@SUM(A1)", "a=b", "", '"x,=y"'
    ]  # fmt: skip
    assert excel_field('=HYPERLINK("x","y")') == '"\'=HYPERLINK(""x"",""y"")"'
