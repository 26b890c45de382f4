"""The nightly examples (script, cron line, systemd unit) run against the fake; store upkeep."""

from __future__ import annotations

import os
import shlex
import sqlite3
import sys
from pathlib import Path

import anyio
import orjson
import pytest

from pageviews.testing import FakeCanvas, FakeConfig, World, serve

from .cli_process import SEED_ARGS, run_cli, write_token

pytestmark = pytest.mark.anyio
NIGHTLY = Path(__file__).resolve().parent.parent / "examples" / "nightly"


def nightly_env(canvas: FakeCanvas, home: Path, token: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CANVAS_", "PAGEVIEWS"))}
    env.update(
        CANVAS_BASE_URL=canvas.base_url,
        PAGEVIEWS_TOKEN_FILE=str(token),
        PAGEVIEWS_HOME=str(home),
        PAGEVIEWS=str(Path(sys.executable).parent / "pageviews"),
    )
    return env


async def run_shell(command: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    done = await anyio.run_process(["sh", "-c", command], env=env, cwd=cwd, check=False)
    return done.returncode, done.stderr.decode()


def json_lines(err: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in err.splitlines()]


async def test_the_nightly_script_runs_twice_with_json_logs(
    small_world: World, tmp_path: Path
) -> None:
    token = write_token(tmp_path, small_world.admin_token)
    async with serve(small_world, FakeConfig(throttle=None)) as canvas:
        env = nightly_env(canvas, tmp_path, token)
        first = await run_shell(str(NIGHTLY / "nightly.sh"), env, tmp_path)
        second = await run_shell(str(NIGHTLY / "nightly.sh"), env, tmp_path)
    for code, err in (first, second):
        assert code == 0, err
        events = json_lines(err)  # every line on stderr is one JSON object
        assert str(events[-1]["message"]).startswith("batch: 3 courses")
    summary = orjson.loads((tmp_path / "reports" / "batch-summary.json").read_bytes())
    assert summary["incremental"] is True
    assert {row["status"] for row in summary["courses"]} == {"complete"}


def cron_command(home: Path, base_url: str) -> str:
    """The example cron line's command, with this test's folder for /srv/pageviews."""
    lines = [ln for ln in (NIGHTLY / "pageviews.cron").read_text().splitlines() if ln[:1].isdigit()]
    (line,) = lines
    command = line.split(None, 5)[5]
    return command.replace("/srv/pageviews", str(home)).replace(
        "https://canvas.example.edu", base_url
    )


def installed(tmp_path: Path) -> Path:
    """The example as the cron line expects it: /srv/pageviews with its .venv and token."""
    home = tmp_path / "srv"
    home.mkdir()
    for name in ("nightly.sh", "courses.txt"):
        (home / name).write_bytes((NIGHTLY / name).read_bytes())
    (home / "nightly.sh").chmod(0o755)
    (home / ".venv").symlink_to(Path(sys.executable).parent.parent)
    return home


def cron_env(home: Path) -> dict[str, str]:
    """What cron gives a job: no CANVAS_ or PAGEVIEWS variables, PATH=/usr/bin:/bin."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "SHELL": "/bin/sh", "LOGNAME": "pv"}


async def test_the_cron_line_and_the_systemd_unit_run_the_script_as_shipped(
    small_world: World, tmp_path: Path
) -> None:
    home = installed(tmp_path)
    write_token(home, small_world.admin_token)
    service = (NIGHTLY / "pageviews-nightly.service").read_text()
    settings = dict(
        line.split("=", 1) for line in service.splitlines() if "=" in line and line[:1].isupper()
    )
    async with serve(small_world, FakeConfig(throttle=None)) as canvas:
        cron = await run_shell(cron_command(home, canvas.base_url), cron_env(home), tmp_path)
        unit_env = cron_env(home) | dict(
            e.replace("/srv/pageviews", str(home)).split("=", 1)
            for e in service_environment(service)
        )
        unit_env["CANVAS_BASE_URL"] = canvas.base_url
        exec_start = settings["ExecStart"].replace("/srv/pageviews", str(home))
        unit = await run_shell(shlex.quote(exec_start), unit_env, home)
        (home / ".venv").unlink()  # nor on PATH: the script says so, as a shell would
        gone = await run_shell(str(home / "nightly.sh"), cron_env(home), home)
    assert cron[0] == 0, (home / "nightly.log").read_text()
    assert "batch: 3 courses" in (home / "nightly.log").read_text()
    assert unit[0] == 0, unit[1]
    assert "OnCalendar=" in (NIGHTLY / "pageviews-nightly.timer").read_text()
    assert gone == (127, f"nightly.sh: pageviews not found on PATH (/usr/bin:/bin) nor in "
                         f"{home}/.venv: set PAGEVIEWS\n")  # fmt: skip
    header = (NIGHTLY / "nightly.sh").read_text().split("set -eu")[0]
    for name in ("CANVAS_BASE_URL", "PAGEVIEWS_TOKEN_FILE", "PAGEVIEWS", "PAGEVIEWS_COURSES",
                 "PAGEVIEWS_START", "PAGEVIEWS_KEEP"):  # fmt: skip
        assert f"#   {name} " in header, name
        assert f"{name}=" in cron_command(home, "x") and f"Environment={name}=" in service


async def test_the_nightly_script_keeps_the_newest_nights(
    small_world: World, tmp_path: Path
) -> None:
    home = installed(tmp_path)
    token = write_token(home, small_world.admin_token)
    course = home / "reports" / "1693"
    course.mkdir(parents=True)
    older = ["2020-01-01-2020-01-03", "2020-01-02-2020-01-04", "2019-12-31-2020-01-02"]
    for label in older:
        for name in (f"user-pageviews_1693_{label}.csv", f"summary_1693_{label}.html"):
            (course / name).write_text("an earlier night's\n")
    (course / "notes.txt").write_text("not a report\n")
    async with serve(small_world, FakeConfig(throttle=None)) as canvas:
        env = dict(cron_env(home), CANVAS_BASE_URL=canvas.base_url,
                   PAGEVIEWS_TOKEN_FILE=str(token), PAGEVIEWS_KEEP="2")  # fmt: skip
        code, err = await run_shell(str(home / "nightly.sh"), env, home)
    assert code == 0, err
    tonight = {p.name.rsplit("_", 1)[1].split(".")[0] for p in course.glob("user-pageviews_*")}
    assert len(tonight - set(older)) == 1  # tonight's, and the newest earlier night
    assert tonight == (tonight - set(older)) | {"2020-01-02-2020-01-04"}
    assert (course / "summary_1693_2020-01-02-2020-01-04.html").exists()
    assert not list(course.glob("*_2020-01-01-2020-01-03.*"))
    assert not list(course.glob("*_2019-12-31-2020-01-02.*"))
    assert (course / "notes.txt").exists()


def service_environment(service: str) -> list[str]:
    return [line.removeprefix("Environment=") for line in service.splitlines()
            if line.startswith("Environment=")]  # fmt: skip


async def test_store_info_and_prune(small_world: World, tmp_path: Path) -> None:
    write_token(tmp_path, small_world.admin_token)
    async with serve(small_world, FakeConfig(throttle=None)) as canvas:
        code, _, err = await run_cli(canvas, tmp_path, [*SEED_ARGS, "-q"])
        assert code == 0, err
        store = tmp_path / "pageviews-state.sqlite"
        with sqlite3.connect(store) as db:
            views = db.execute("SELECT COUNT(*) FROM views").fetchone()[0]
            early = db.execute(
                "SELECT COUNT(*) FROM views WHERE created < '2015-02-15T00:00:00Z'"
            ).fetchone()[0]
        code, out, err = await run_cli(canvas, tmp_path, ["store", "info", "--state", str(store)])
        assert code == 0, err
        assert f"page views {views:,}" in out and "coverage from 2015-01-26T00:00:00Z" in out
        code, _, err = await run_cli(
            canvas, tmp_path, ["store", "prune", "--before", "2015-02-15", "--state", str(store)]
        )
    assert code == 0, err
    assert f"pruned {early:,} page views" in err
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM views").fetchone()[0] == views - early
        assert db.execute("SELECT MIN(start) FROM coverage").fetchone()[0] == "2015-02-15T00:00:00Z"
