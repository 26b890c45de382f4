"""``pageviews batch`` through the real command line, against the fake's batch world."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import orjson
import pytest

from pageviews.store.schema import GROUP_PAGES
from pageviews.testing import FakeCanvas, FakeConfig, World, WorldSpec, expected_reports, serve
from pageviews.testing.report_files import assert_reports_exact
from pageviews.testing.truth import batch_roster

from .cli_process import FAST_RETRIES, finish, run_cli, start_cli, write_token
from .harvesting import END, START, STUDENTS

pytestmark = pytest.mark.anyio
RANGE = ["--start_time", "2015-01-26", "--end_time", "2015-03-12",
         "--enrollment_types", "StudentEnrollment", *FAST_RETRIES]  # fmt: skip
FULL_RANGE = "start_time=2015-01-26T00:00:00Z&end_time=2015-03-13T00:00:00Z"
MISSING = 999_999
CONCURRENCY = 8


@pytest.fixture(scope="module")
def batch_world() -> World:
    return World.generate(WorldSpec.preset("batch"))


def courses_of(world: World) -> list[int]:
    return [c for c in world.course_ids if c != MISSING]


def full_reads(canvas: FakeCanvas) -> Counter[int]:
    """First pages of a user's whole range: one per read of a user (windows excluded)."""
    return Counter(
        r.user_id
        for r in canvas.requests
        if r.user_id is not None and r.status == 200 and FULL_RANGE in r.query
        and "bookmark" not in r.query
    )  # fmt: skip


def assert_batch_exact(world: World, out: Path, courses: list[int]) -> None:
    for course in courses:
        truth = expected_reports(world, course, START, END, enrollment_types=STUDENTS)
        assert_reports_exact(out / str(course), truth, course, START, END)


async def test_a_batch_reads_each_user_once_and_every_course_is_exact(
    batch_world: World, tmp_path: Path
) -> None:
    courses = courses_of(batch_world)
    assert len(courses) >= 20 and {17, 170, 1700} <= set(courses) and {169, 1693} <= set(courses)
    (tmp_path / "courses.txt").write_text(
        "# the batch world, and one course Canvas does not know\n"
        + "".join(f"{c}\n" for c in courses)
        + f"{MISSING}   # gone\n"
    )
    write_token(tmp_path, batch_world.admin_token)
    async with serve(batch_world, FakeConfig(throttle=None)) as canvas:
        code, out, err = await run_cli(
            canvas, tmp_path, ["batch", "--courses-file", "courses.txt", *RANGE, "--out-dir", "out"]
        )
        reads = full_reads(canvas)
    assert code == 15, err  # one course failed; the others are complete
    assert out == ""
    assert f"course {MISSING}: not found" in err
    assert_batch_exact(batch_world, tmp_path / "out", courses)
    users = batch_roster(batch_world, courses, enrollment_types=STUDENTS)
    assert set(reads) == set(users) and set(reads.values()) == {1}
    summary = orjson.loads((tmp_path / "out" / "batch-summary.json").read_bytes())
    rows = {row["course"]: row for row in summary["courses"]}
    assert rows[str(MISSING)]["status"] == "not found"
    assert [r["status"] for r in rows.values()].count("complete") == len(courses)
    empty = [r for r in rows.values() if r["status"] == "complete" and r["users"] == 0]
    assert empty, "the batch world has a course with no students"
    assert summary["totals"]["users"] == len(users)
    assert (tmp_path / "out" / "batch-summary.csv").read_text().count("\n") == len(courses) + 2


async def test_sigkill_mid_batch_then_the_same_command_is_exact(
    batch_world: World, tmp_path: Path
) -> None:
    courses = courses_of(batch_world)
    args = ["batch", *map(str, courses), *RANGE, "--out-dir", "out",
            "--concurrency", str(CONCURRENCY)]  # fmt: skip
    write_token(tmp_path, batch_world.admin_token)
    async with serve(batch_world, FakeConfig(latency=0.005, throttle=None)) as canvas:
        process = await start_cli(canvas, tmp_path, args)
        async with process:
            await canvas.wait_until(
                lambda c: sum("/page_views" in r.path for r in c.requests) > 150
            )
            process.send_signal(signal.SIGKILL)
            killed, _ = await finish(process)
        code, _, err = await run_cli(canvas, tmp_path, args)
        served = Counter(
            (r.path, r.query)
            for r in canvas.requests
            if r.status == 200 and "/page_views" in r.path
        )
    assert killed == -signal.SIGKILL
    assert code == 0, err
    assert "resumed" in err
    assert_batch_exact(batch_world, tmp_path / "out", courses)
    # Only pages in flight at the kill, or stored since the store's last commit (a group
    # of GROUP_PAGES), may be asked for again.
    assert sum(n - 1 for n in served.values() if n > 1) <= CONCURRENCY + GROUP_PAGES


async def test_an_account_and_term_name_the_courses(batch_world: World, tmp_path: Path) -> None:
    write_token(tmp_path, batch_world.admin_token)
    async with serve(batch_world, FakeConfig(throttle=None)) as canvas:
        code, _, err = await run_cli(
            canvas,
            tmp_path,
            ["batch", "--account", "1", "--term", "sis_term_id:2015WI", *RANGE, "--out-dir", "o"],
        )
    winter = [c.id for c in batch_world.courses.values() if c.enrollment_term_id == 3]
    assert winter, "the batch world has courses in the winter term"
    assert code == 0, err
    assert sorted(int(p.name) for p in (tmp_path / "o").iterdir() if p.is_dir()) == sorted(winter)
    assert_batch_exact(batch_world, tmp_path / "o", winter)


async def test_fresh_starts_one_selection_over_and_keeps_another_courses_harvest(
    batch_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, batch_world.admin_token)
    async with serve(batch_world, FakeConfig(throttle=None)) as canvas:
        first = await run_cli(canvas, tmp_path, ["1693", *RANGE, "-q"])
        second = await run_cli(canvas, tmp_path, ["169", *RANGE, "-q", "--fresh"])
        (tmp_path / "again").mkdir()
        rebuilt = await run_cli(
            canvas,
            tmp_path,
            [
                "report",
                "1693",
                *RANGE[:6],
                "--state",
                "pageviews-state.sqlite",
                "--out-dir",
                "again",
            ],
        )
    assert (first[0], second[0], rebuilt[0]) == (0, 0, 0), (first, second, rebuilt)
    truth = expected_reports(batch_world, 1693, START, END, enrollment_types=STUDENTS)
    assert_reports_exact(tmp_path / "again", truth, 1693, START, END)


def report_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.glob("*pageviews_*")}


async def test_reports_of_another_selection_are_never_replaced(
    batch_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, batch_world.admin_token)
    teachers = [*RANGE[:4], "--enrollment_types", "TeacherEnrollment"]
    async with serve(batch_world, FakeConfig(throttle=None)) as canvas:
        students = await run_cli(canvas, tmp_path, ["1693", *RANGE, "-q"])
        before = report_bytes(tmp_path)
        code, _, err = await run_cli(canvas, tmp_path, ["1693", *teachers, "-q"])
        batched = await run_cli(canvas, tmp_path, ["batch", "1693", *teachers, "-q"])
    assert students[0] == 0
    assert code == 12, err
    assert err.splitlines() == [
        "pageviews: error: user-pageviews_1693_2015-01-26-2015-03-12.json "
        "holds reports of another selection (2015-01-26T00:00:00+00:00 to "
        "2015-03-12T23:59:59+00:00, enrollment_types StudentEnrollment, enrollment_states "
        "(all)); this run selects 2015-01-26T00:00:00+00:00 to 2015-03-12T23:59:59+00:00, "
        "enrollment_types TeacherEnrollment, enrollment_states (all): use another --out-dir, "
        "or remove those files"
    ]
    assert report_bytes(tmp_path) == before
    assert batched[0] == 0  # a batch writes into 1693/, where nothing clashes


async def test_a_refused_batch_keeps_the_last_good_summary_and_writes_its_own_beside(
    batch_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, batch_world.admin_token)
    out = tmp_path / "out"
    kept = ["batch-summary.json", "batch-summary.csv", "index.html"]
    students = ["batch", "1693", "169", *RANGE, "--out-dir", "out", "-q"]
    teachers = [*students[:7], "--enrollment_types", "TeacherEnrollment", *students[9:]]
    async with serve(batch_world, FakeConfig(throttle=None)) as canvas:
        good = await run_cli(canvas, tmp_path, students)
        before = {name: (out / name).read_bytes() for name in kept}
        code, _, err = await run_cli(canvas, tmp_path, teachers)
        after = {name: (out / name).read_bytes() for name in kept}
        refused = orjson.loads((out / "batch-summary-refused.json").read_bytes())
        refused_rows = (out / "batch-summary-refused.csv").read_text().count("\n")
        again = await run_cli(canvas, tmp_path, students)
    assert good[0] == 0, good
    assert code == 15, err  # both courses hold reports of another selection
    assert after == before
    assert [(row["course"], row["status"]) for row in refused["courses"]] == [
        ("1693", "conflict"),
        ("169", "conflict"),
    ]
    assert refused["selection"]["enrollment_types"] == ["TeacherEnrollment"]
    assert refused_rows == 2 + 1
    assert f"see {Path('out') / 'batch-summary-refused.json'}" in err
    assert "the last good summary is kept" in err
    assert again[0] == 0, again
    assert not (out / "batch-summary-refused.json").exists()
    assert not (out / "batch-summary-refused.csv").exists()
