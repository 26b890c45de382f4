"""What the reports hold at the edges: users read only in part, and spreadsheet-hostile text."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from pageviews.outputs.textcodec import FORMULA_STARTS
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
    """The small world with students, and a course, named as a spreadsheet formula."""
    world = World.generate(WorldSpec.preset("small"))
    students = expected_reports(world, 1693, START, END, enrollment_types=STUDENTS).roster
    for user_id, name in zip(sorted(students), FORMULAS, strict=False):
        world.users[user_id] = replace(world.users[user_id], name=name)
    world.courses[1693] = replace(world.courses[1693], name=FORMULAS[0])
    return world


#: Every output there is: each CSV the tool can write is written.
EVERY_OUTPUT = ["--format", "csv,json,jsonl,parquet", "--records-dataset", "--include-ip"]
BOM = b"\xef\xbb\xbf"
_HARVESTED = re.compile(rb"Harvested [^<]*\.")


def csv_cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def assert_excel_variant(plain_dir: Path, excel_dir: Path) -> list[str]:
    """``--excel`` changed every CSV only as it promises and nothing else; return the CSVs.

    Each CSV gains a byte-order mark and a ``'`` before exactly the text cells that
    start as a formula; every other file is the same bytes (but for the times of
    the run: when the summary says it started, what the batch summary says it took).
    """
    plain = {p.relative_to(plain_dir): p for p in plain_dir.rglob("*") if _output(p)}
    excel = {p.relative_to(excel_dir): p for p in excel_dir.rglob("*") if _output(p)}
    assert set(plain) == set(excel)
    csvs = []
    for name, path in sorted(plain.items()):
        before, after = path.read_bytes(), excel[name].read_bytes()
        if name.suffix == ".csv":
            csvs.append(name.name)
            assert not before.startswith(BOM) and after.startswith(BOM), name
            assert after.count(b"\n") == before.count(b"\n"), name  # line endings kept
            for row, guarded in zip(csv_cells(before), csv_cells(after[3:]), strict=True):
                assert guarded == [
                    "'" + cell if cell.startswith(FORMULA_STARTS) else cell for cell in row
                ], name
        elif name.name == "batch-summary.json":
            runtime = ("requests", "throttled", "retries", "seconds")
            first, second = orjson.loads(before), orjson.loads(after)
            for document in (first, second):
                for key in runtime:
                    del document["totals"][key]
            assert first == second
        elif name.suffix == ".html":  # the summary names when its run started
            assert _HARVESTED.sub(b"", after) == _HARVESTED.sub(b"", before), name
        else:
            assert after == before, name
    return csvs


def _output(path: Path) -> bool:
    return path.is_file() and "pageviews-state" not in path.name


async def test_excel_guards_formula_cells_in_every_csv_and_the_default_does_not(
    tmp_path: Path,
) -> None:
    world = hostile_world()
    write_token(tmp_path, world.admin_token)
    batch = ["batch", "1693", *SEED_ARGS[1:], *EVERY_OUTPUT]
    async with serve(world) as canvas:
        for args, out in (
            ([*SEED_ARGS, *EVERY_OUTPUT], "plain"),
            ([*SEED_ARGS, *EVERY_OUTPUT, "--excel"], "xl"),
            (batch, "batch-plain"),
            ([*batch, "--excel"], "batch-xl"),
        ):
            code, _, err = await run_cli(canvas, tmp_path, [*args, "--out-dir", out])
            assert code == 0, err
        truth = truth_for(canvas)
    assert_reports_exact(tmp_path / "plain", truth, 1693, START, END)
    csvs = assert_excel_variant(tmp_path / "plain", tmp_path / "xl")
    kinds = ("total-pageviews", "total-user-pageviews", "user-pageviews", "inactive-users",
             "page-views")  # fmt: skip
    assert sorted(csvs) == sorted(f"{kind}_{LABEL}.csv" for kind in kinds)
    batch_csvs = assert_excel_variant(tmp_path / "batch-plain", tmp_path / "batch-xl")
    assert sorted(batch_csvs) == sorted([*csvs, "batch-summary.csv"])
    # The hostile names reach every CSV that names users, and the course's the summary.
    for kind in ("total-user-pageviews", "user-pageviews", "page-views"):
        assert b",'+1" in (tmp_path / "xl" / f"{kind}_{LABEL}.csv").read_bytes()
        assert b",+1" in (tmp_path / "plain" / f"{kind}_{LABEL}.csv").read_bytes()
    assert b",\"'=HYPERLINK(" in (tmp_path / "batch-xl" / "batch-summary.csv").read_bytes()


def test_excel_cells() -> None:
    from pageviews.outputs.textcodec import excel_field

    assert [excel_field(v) for v in ("=1+1", "+1", "-2", "@SUM(A1)", "a=b", "", "x,=y")] == [
        "'=1+1", "'+1", "'-2", "'@SUM(A1)", "a=b", "", '"x,=y"'
    ]  # fmt: skip
    assert excel_field('=HYPERLINK("x","y")') == '"\'=HYPERLINK(""x"",""y"")"'
