"""The command line on a PostgreSQL state store: batch, incremental, resume, runs side by side."""

from __future__ import annotations

import signal
from pathlib import Path

import psycopg
import pytest

from pageviews.testing import FakeCanvas, FakeConfig, World, expected_reports, serve
from pageviews.testing.postgres_cluster import KEEPER_PASSWORD, Cluster
from pageviews.testing.report_files import assert_reports_exact

from .cli_process import SEED_ARGS, finish, run_cli, start_cli, write_token
from .harvesting import END, START, STUDENTS, truth_for
from .test_batch_cli import RANGE, assert_batch_exact, courses_of
from .test_nightly import NIGHTLY, json_lines, nightly_env, run_shell
from .test_resume import ARGS, page_view_pages

pytestmark = pytest.mark.anyio


def database_of(dsn: str) -> str:
    return dsn.rsplit("/", 1)[1]


def in_schema(dsn: str, schema: str) -> str:
    """The URL of ``schema`` in ``dsn``'s database, as libpq's options give it."""
    return f"{dsn}?options=-csearch_path%3D{schema}"


def files_named(root: Path, pattern: str) -> list[Path]:
    return list(root.glob(pattern))


def files_mention(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


async def test_a_batch_an_incremental_rerun_and_a_report_are_exact_and_never_show_the_password(
    batch_world: World, postgres_cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn = postgres_cluster.keeper_dsn(database_of(postgres_cluster.new_database()))
    monkeypatch.setenv("PAGEVIEWS_STATE", dsn)  # never on the command line
    shown = dsn.replace(f":{KEEPER_PASSWORD}@", "@")
    courses = courses_of(batch_world)
    (tmp_path / "courses.txt").write_text("".join(f"{c}\n" for c in courses))
    write_token(tmp_path, batch_world.admin_token)
    said = []
    async with serve(batch_world, FakeConfig(throttle=None)) as canvas:
        batch = ["batch", "--courses-file", "courses.txt", *RANGE]
        code, out, err = await run_cli(canvas, tmp_path, [*batch, "--out-dir", "full"])
        assert code == 0, err
        said.append(out + err)
        assert f"state in {shown}" in err
        full = page_view_pages(canvas)
        code, out, err = await run_cli(
            canvas, tmp_path, [*batch, "--out-dir", "nightly", "--incremental"]
        )
        assert code == 0, err
        said.append(out + err)
        assert page_view_pages(canvas) - full < full  # coverage spared most of the reads
    assert_batch_exact(batch_world, tmp_path / "full", courses)
    assert_batch_exact(batch_world, tmp_path / "nightly", courses)
    code, out, err = await run_cli(canvas, tmp_path, ["report", *SEED_ARGS, "--out-dir", "again"])
    assert code == 0, err
    truth = expected_reports(batch_world, 1693, START, END, enrollment_types=STUDENTS)
    assert_reports_exact(tmp_path / "again", truth, 1693, START, END)
    code, info, err = await run_cli(canvas, tmp_path, ["store", "info"])
    assert code == 0, err
    assert info.startswith(f"store {shown}: ") and "runs 2 (0 unfinished)" in info
    code, out, err = await run_cli(canvas, tmp_path, ["store", "prune", "--before", "2015-02-15"])
    assert code == 0, err
    said += [info, out + err]
    assert f"before 2015-02-15T00:00:00Z from {shown}; " in err
    with psycopg.connect(dsn) as db:
        left = db.execute("SELECT min(created), count(*) FROM views").fetchone()
    assert left is not None and left[0] >= "2015-02-15" and left[1] > 0
    assert not [text for text in said if KEEPER_PASSWORD in text]
    assert not files_mention(tmp_path, KEEPER_PASSWORD)


async def kill_after(canvas: FakeCanvas, cwd: Path, args: list[str], pages: int) -> int:
    """Start the CLI, SIGKILL it once the fake has served ``pages`` more pages."""
    target = page_view_pages(canvas) + pages
    process = await start_cli(canvas, cwd, args)
    async with process:
        await canvas.wait_until(lambda c: page_view_pages(c) >= target)
        process.send_signal(signal.SIGKILL)
        return (await finish(process))[0]


async def test_sigkills_then_resume_and_fresh_on_postgres_are_exact(
    test_world: World, postgres_dsn: str, tmp_path: Path
) -> None:
    write_token(tmp_path, test_world.admin_token)
    args = [*ARGS, "--state", postgres_dsn]
    async with serve(test_world, FakeConfig(latency=0.01)) as canvas:
        for pages in (40, 250):
            assert await kill_after(canvas, tmp_path, args, pages) == -signal.SIGKILL
        code, _, err = await run_cli(canvas, tmp_path, args)
        truth = truth_for(canvas)
        assert code == 0, err
        assert "resumed" in err
        assert_reports_exact(tmp_path, truth, 1693, START, END)
        with psycopg.connect(postgres_dsn) as db:  # the database held the run, no file did
            runs = db.execute("SELECT count(*), count(finished_at) FROM runs").fetchone()
        assert runs == (1, 1)
        killed = await kill_after(canvas, tmp_path, args, 40)
        code, _, err = await run_cli(canvas, tmp_path, [*args, "--fresh"])
    assert killed == -signal.SIGKILL
    assert code == 0, err
    assert "resumed" not in err  # --fresh starts over rather than resume the killed run
    assert_reports_exact(tmp_path, truth, 1693, START, END)
    with psycopg.connect(postgres_dsn) as db:
        runs = db.execute("SELECT count(*), count(finished_at) FROM runs").fetchone()
    assert runs == (3, 3)
    assert not files_named(tmp_path, "postgres*")


async def test_two_canvas_hosts_write_one_database_at_once_both_exact(
    test_world: World, small_world: World, postgres_cluster: Cluster, tmp_path: Path
) -> None:
    dsn = postgres_cluster.new_database("college_a", "college_b")
    worlds = {"college_a": test_world, "college_b": small_world}
    assert test_world.admin_token != small_world.admin_token
    async with (
        serve(test_world, FakeConfig(latency=0.005)) as canvas_a,
        serve(small_world, FakeConfig(latency=0.005)) as canvas_b,
    ):
        canvases = {"college_a": canvas_a, "college_b": canvas_b}
        processes = []
        for schema, canvas in canvases.items():
            (tmp_path / schema).mkdir()
            write_token(tmp_path / schema, worlds[schema].admin_token)
            args = [*ARGS, "--state", in_schema(dsn, schema)]
            processes.append(await start_cli(canvas, tmp_path / schema, args))
        results = []
        for process in processes:
            async with process:
                results.append(await finish(process))
        truths = {schema: truth_for(canvas) for schema, canvas in canvases.items()}
    for (code, err), schema in zip(results, canvases, strict=True):
        assert code == 0, err
        assert_reports_exact(tmp_path / schema, truths[schema], 1693, START, END)
    with psycopg.connect(dsn) as db:
        origins = db.execute(
            "SELECT (SELECT value FROM college_a.meta WHERE name = 'origin'),"
            " (SELECT value FROM college_b.meta WHERE name = 'origin')"
        ).fetchone()
    assert origins == (canvas_a.base_url, canvas_b.base_url)


async def test_different_selections_share_the_store_and_the_same_selection_is_refused(
    batch_world: World, postgres_dsn: str, tmp_path: Path
) -> None:
    courses = courses_of(batch_world)
    halves = {"first": courses[::2], "second": courses[1::2]}  # rosters overlap
    write_token(tmp_path, batch_world.admin_token)
    for name, half in halves.items():
        (tmp_path / f"{name}.txt").write_text("".join(f"{c}\n" for c in half))

    def batch(name: str, out: str) -> list[str]:
        return ["batch", "--courses-file", f"{name}.txt", *RANGE, "--out-dir", out,
                "--state", postgres_dsn]  # fmt: skip

    async with serve(batch_world, FakeConfig(latency=0.01, throttle=None)) as canvas:
        first = await start_cli(canvas, tmp_path, batch("first", "first"))
        second = await start_cli(canvas, tmp_path, batch("second", "second"))
        async with first, second:
            await canvas.wait_until(lambda c: page_view_pages(c) >= 20)
            # Both runs stay mid-harvest while the third tries and the store is read.
            with canvas.holding_page_views():
                code, out, again = await run_cli(canvas, tmp_path, batch("first", "again"))
                assert out == ""
                _, info, _ = await run_cli(
                    canvas, tmp_path, ["store", "info", "--state", postgres_dsn]
                )
            results = [await finish(first), await finish(second)]
    assert code == 13, again
    running = sorted(line for line in info.splitlines() if line.startswith("running now: "))
    pids = sorted(f"running now: pid {p.pid} on " for p in (first, second))
    assert [line[: len(pid)] for line, pid in zip(running, pids, strict=True)] == pids, info
    assert again.startswith("pageviews: error: another pageviews run (pid ")
    assert again.count("\n") == 1 and "is harvesting this selection" in again
    for (code, err), (name, half) in zip(results, halves.items(), strict=True):
        assert code == 0, err
        assert_batch_exact(batch_world, tmp_path / name, half)


def _no_driver(root: Path) -> dict[str, str]:
    """A PYTHONPATH where ``import psycopg`` fails, as where the extra is not installed."""
    package = root / "without" / "psycopg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('No module named psycopg')\n")
    return {"PYTHONPATH": str(root / "without")}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no extra", "a PostgreSQL state store needs the postgres extra: "
                     "pip install 'pageviews[postgres]'"),
        ("no server", "cannot reach the PostgreSQL server of the state store "
                      "postgresql://keeper@127.0.0.1:{port}/{db}: "),
        ("wrong password", "the PostgreSQL server refused the login to the state store "
                           "postgresql://keeper@127.0.0.1:{port}/{db}: password authentication "
                           'failed for user "keeper"'),
        ("no database", "cannot open the state store postgresql://keeper@127.0.0.1:{port}/{db}: "
                        'database "{db}" does not exist; create it'),
    ],
)  # fmt: skip
async def test_a_store_that_cannot_be_reached_is_one_line_naming_why(
    case: str,
    expected: str,
    small_world: World,
    postgres_cluster: Cluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, port, password = database_of(postgres_cluster.new_database()), postgres_cluster.port, None
    if case == "no extra":
        for name, value in _no_driver(tmp_path).items():
            monkeypatch.setenv(name, value)
    elif case == "no server":
        port += 1
    elif case == "wrong password":
        password = "not-the-password"
    else:
        db = "nowhere"
    dsn = postgres_cluster.keeper_dsn(db, password or KEEPER_PASSWORD)
    dsn = dsn.replace(f":{postgres_cluster.port}/", f":{port}/")
    monkeypatch.setenv("PAGEVIEWS_STATE", dsn)
    write_token(tmp_path, small_world.admin_token)
    async with serve(small_world) as canvas:
        code, out, err = await run_cli(canvas, tmp_path, SEED_ARGS)
        asked = list(canvas.requests)
    assert code == 10, err
    assert err.startswith("pageviews: error: " + expected.format(port=port, db=db)), err
    assert err.count("\n") == 1 and out == ""
    assert KEEPER_PASSWORD not in err and "not-the-password" not in err
    assert asked == []  # the store is opened before Canvas is asked anything


async def test_the_nightly_script_points_at_postgres_through_the_environment(
    small_world: World, postgres_cluster: Cluster, tmp_path: Path
) -> None:
    dsn = postgres_cluster.keeper_dsn(database_of(postgres_cluster.new_database()))
    token = write_token(tmp_path, small_world.admin_token)
    async with serve(small_world, FakeConfig(throttle=None)) as canvas:
        env = {**nightly_env(canvas, tmp_path, token), "PAGEVIEWS_STATE": dsn}
        nights = [await run_shell(str(NIGHTLY / "nightly.sh"), env, tmp_path) for _ in "12"]
    for code, err in nights:
        assert code == 0, err
        assert str(json_lines(err)[-1]["message"]).startswith("batch: 3 courses")
        assert KEEPER_PASSWORD not in err
    assert not files_named(tmp_path, "*.sqlite")
    with psycopg.connect(dsn) as db:
        runs = db.execute("SELECT count(*), count(finished_at) FROM runs").fetchone()
    assert runs == (2, 2)
