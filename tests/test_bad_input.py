"""Every row of the README's bad-input table, run through the real command line.

Each case gets one line on stderr (a warning or an error), the documented exit
code, no traceback, and nothing already harvested lost. A final test checks the
README table and this list match one to one.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest

from pageviews.cli import main
from pageviews.harvest import STATE_FILE
from pageviews.store import open_store
from pageviews.store.lock import store_lock
from pageviews.testing import (
    FakeConfig,
    FaultConfig,
    HistoryConfig,
    ListQuirks,
    World,
    expected_reports,
    serve,
)

from .cli_process import FAST_RETRIES, SEED_ARGS
from .harvesting import END, START, STUDENTS
from .hostile import (
    Hostile,
    Reply,
    as_object,
    gone_on_page,
    inflating,
    linking,
    serving,
    throttled,
    trickling,
    unusable_records,
    views,
)

README = Path(__file__).resolve().parent.parent / "README.md"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass(frozen=True)
class Case:
    """One bad input: what to run, the exit code and the words the user sees."""

    name: str
    code: int
    says: str
    args: tuple[str, ...] = ()
    token_text: str | None = "{admin}\n"  # None: no token file at all
    token_mode: int = 0o600
    fake: Callable[[World], FakeConfig] = field(default=lambda world: FakeConfig())
    before_any_request: bool = False
    hostile: Callable[[], Hostile] | None = None  # serve this instead of the fake
    store_locked: bool = False  # another run holds the state store
    report: bool = False  # `pageviews report` with the seed selection instead of a harvest


def hostile_users(reply: Reply) -> Callable[[], Hostile]:
    """Users 11 and 12 (two pages) on a :class:`Hostile` Canvas answering with ``reply``."""
    return lambda: Hostile({11: views(11, 30), 12: views(12, 130)}, reply=reply)


def broken_user(world: World) -> FakeConfig:
    truth = expected_reports(world, 1693, START, END, enrollment_types=STUDENTS)
    victim = truth.records[0].user_id
    return FakeConfig(faults=FaultConfig(broken_users=frozenset({victim})))


def late_views_on_page_2(world: World) -> FakeConfig:
    heavy = max(world.user_ids, key=world.page_view_count)
    return FakeConfig(quirks=ListQuirks(late_pages=frozenset({(heavy, 2)})))


CASES = [
    Case("missing token file", 11, "error: token file {tmp}/oauthtoken.txt not found",
         token_text=None, before_any_request=True),
    Case("empty token file", 11, "is empty", token_text="  \n", before_any_request=True),
    Case("unreadable token file", 11, "cannot read token file", token_text="<dir>",
         before_any_request=True),
    Case("token with a trailing newline or spaces", 0, "page views of",
         token_text="  {admin}  \n\n"),
    Case("token file readable by others", 0, "warning: token file", token_mode=0o644),
    Case("bad token", 3, "error: Canvas rejected the token: Invalid access token.",
         token_text="wrong-token\n"),
    Case("token without admin rights", 4, "needs an account-admin token with the "
         "view_statistics permission", token_text="{teacher}\n"),
    Case("unknown course", 5, "error: course 424242 not found", args=("424242",)),
    Case("course with no matching enrollments", 0, "note: no enrollments matched",
         args=("--enrollment_types", "DesignerEnrollment", "--enrollment_states", "completed")),
    Case("bad date", 2, "error: --start_time: '2015-02-30' is not a date",
         args=("--start_time", "2015-02-30"), before_any_request=True),
    Case("end before start", 2, "error: --end_time is before --start_time",
         args=("--end_time", "2015-01-01"), before_any_request=True),
    Case("start in the future", 2, "error: --start_time is in the future",
         args=("--start_time", "2999-01-01", "--end_time", "2999-02-01"),
         before_any_request=True),
    Case("range past the 30-day list window, --history never", 0,
         "warning: page views from 2015-01-26T00:00:00Z through 2015-03-12T23:59:59Z may be "
         "missing on hosted Canvas"),
    Case("range older than history reaches", 2,
         "error: the range starts before", args=("--history", "auto"),
         fake=lambda world: FakeConfig(history=HistoryConfig())),
    Case("range past the list window, Canvas without page-view history", 0,
         "note: Canvas's page-view history is not available here (HTTP 404: Not Found): the "
         "whole range was read from the list endpoint", args=("--history", "auto"),
         fake=lambda world: FakeConfig(history_absent="proxy")),
    Case("--history only on a Canvas without page-view history", 7,
         "error: Canvas's page-view history is not available here (HTTP 404: Page views history "
         "is not available in this environment.); --history only cannot read anything here",
         args=("--history", "only")),
    Case("--overlap negative or past a year", 2, "error: --overlap must be 0 to 527,040 minutes",
         args=("--overlap=-5",), before_any_request=True),
    Case("--concurrency, --retries, --retry-time, --timeout or --max-body-mb not positive", 2,
         "error: --concurrency must be positive, not 0",
         args=("--concurrency", "0", "--retries", "3"), before_any_request=True),
    Case("unknown time zone", 2, "error: unknown time zone 'Mars/Base'",
         args=("--timezone", "Mars/Base"), before_any_request=True),
    Case("unknown enrollment type or state", 2, "error: unknown enrollment state 'actve'",
         args=("--enrollment_states", "actve"), before_any_request=True),
    Case("non-numeric course id", 2, "must be a numeric id or sis_course_id:<id>",
         args=("16 93",), before_any_request=True),
    Case("unknown flag", 2, "error: unrecognized arguments: --frobnicate",
         args=("--frobnicate",), before_any_request=True),
    Case("missing base URL", 2, "error: no Canvas address", args=("--base-url", ""),
         before_any_request=True),
    Case("base URL without scheme", 2, "needs a scheme and host",
         args=("--base-url", "canvas.example.edu"), before_any_request=True),
    Case("base URL with a path", 2, "must be only scheme and host",
         args=("--base-url", "https://canvas.example.edu/api/v1"), before_any_request=True),
    Case("http:// to a remote host", 2, "refusing to send the token over plain http",
         args=("--base-url", "http://canvas.example.edu"), before_any_request=True),
    Case("unreachable host", 6, "error: cannot connect to http://127.0.0.1:",
         args=("--base-url", "http://127.0.0.1:{port}"), before_any_request=True),
    Case("HTML instead of JSON (a login page)", 7, "answered with text/html, not JSON",
         fake=lambda world: FakeConfig(html_everywhere=True)),
    Case("output directory not writable", 12, "error: output directory",
         args=("--out-dir", "{tmp}/blocker/out"), before_any_request=True),
    Case("output directory is a file", 12, "error: output directory {tmp}/blocker is a file",
         args=("--out-dir", "{tmp}/blocker"), before_any_request=True),
    Case("state store of another Canvas", 10, "holds data from https://other.example.edu",
         args=("--state", "{tmp}/other.sqlite")),
    Case("state store where none can be made", 10,
         "error: cannot open the state store {tmp}/blocker/state.sqlite: {tmp}/blocker is a file",
         args=("--state", "{tmp}/blocker/state.sqlite"), before_any_request=True),
    Case("state store in use by another run", 13, "is in use by another pageviews run (pid ",
         store_locked=True, before_any_request=True),
    Case("pagination link to another host", 8, "refusing to send the token there",
         fake=lambda world: FakeConfig(
             faults=FaultConfig(foreign_link_users=frozenset(world.user_ids)))),
    Case("report of a selection never harvested", 14,
         "error: no stored harvest: there is no state store at pageviews-state.sqlite",
         report=True, before_any_request=True),
    Case("a user whose page views always fail", 9,
         "error: 1 user incomplete (named above), reports written without them", fake=broken_user,
         args=("--retries", "2")),
    Case("a 404 part-way through a user's page views", 9,
         "INCOMPLETE user 12: Canvas answered 404 part-way",
         hostile=hostile_users(gone_on_page(2))),
    Case("a 404 after a full page of a server paging by 10 or 50", 9,
         "INCOMPLETE user 12: Canvas answered 404 part-way",
         hostile=lambda: Hostile({11: views(11, 30), 12: views(12, 130)}, per_page=10,
                                 reply=gone_on_page(2))),
    Case("a chain whose pages stop coming newest first", 0, "page views of",
         fake=late_views_on_page_2),
    Case("page views without an id or a created_at", 9,
         "INCOMPLETE user 11: Canvas sent 5 page views without an id or a readable time",
         hostile=lambda: Hostile({11: unusable_records(30)})),
    Case("a reply slower than --timeout, body included", 9,
         "INCOMPLETE user 12: gave up after retries: Canvas did not answer within 0.3 s",
         args=("--timeout", "0.3", "--retries", "2"), hostile=hostile_users(trickling)),
    Case("a Retry-After longer than --retry-time", 9,
         "Canvas asked to wait 999999 s (Retry-After), more than the",
         args=("--retry-time", "5"), hostile=hostile_users(throttled("999999"))),
    Case("a response larger than --max-body-mb", 9,
         "INCOMPLETE user 12: Canvas sent a response larger than 1 MiB (--max-body-mb)",
         args=("--max-body-mb", "1"), hostile=hostile_users(inflating(8))),
    Case("pagination link with credentials", 8, "carries credentials (user:password@host)",
         hostile=hostile_users(linking("evil:pw@127.0.0.1:{port}"))),
    Case("malformed pagination link", 7, "Canvas sent a malformed pagination link",
         hostile=hostile_users(linking("127.0.0.1:{port} "))),
    Case("JSON object where Canvas sends a list", 7,
         "expected a JSON list from /api/v1/users/11/page_views",
         hostile=hostile_users(as_object)),
    Case("batch without courses", 2,
         "error: no courses: name them, give --courses-file, or --account and --term",
         args=("batch",), before_any_request=True),
    Case("courses file with a bad line", 2,
         "error: {tmp}/courses.txt line 2: course '16 93' must be a numeric id or "
         "sis_course_id:<id>", args=("batch", "--courses-file", "{tmp}/courses.txt"),
         before_any_request=True),
    Case("batch with a course Canvas does not know", 15,
         "error: 1 course of 2 could not be read (named above)", args=("batch", "1693", "424242")),
    Case("unknown --account", 16, "error: --account 999 not found on http://127.0.0.1:",
         args=("batch", "--account", "999", "--term", "default")),
    Case("unknown --term", 16, " (account 1 is known)",
         args=("batch", "--account", "1", "--term", "999")),
]  # fmt: skip


@asynccontextmanager
async def canvas_for(case: Case, world: World) -> AsyncIterator[tuple[str, Callable[[], int]]]:
    """The Canvas a case runs against: its base URL and a count of requests it was sent."""
    if case.hostile is not None:
        async with serving(case.hostile()) as hostile:
            yield hostile.base_url, lambda: len(hostile.asked)
    else:
        async with serve(world, case.fake(world)) as fake:
            yield fake.base_url, lambda: len(fake.requests)


def prepare(case: Case, world: World, tmp: Path) -> Path:
    """Lay out the token file and the other props a case needs; return the token path."""
    (tmp / "blocker").write_text("a file where a directory should be")
    (tmp / "courses.txt").write_text("1693\n16 93\n")
    open_store(tmp / "other.sqlite", "https://other.example.edu").close()
    token_path = tmp / "oauthtoken.txt"
    if case.token_text == "<dir>":
        token_path.mkdir()
    elif case.token_text is not None:
        text = case.token_text.format(admin=world.admin_token, teacher=world.teacher_token)
        token_path.write_text(text)
        token_path.chmod(case.token_mode)
    return token_path


@pytest.mark.anyio
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_bad_input(
    case: Case,
    small_world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CANVAS_TOKEN", raising=False)
    monkeypatch.delenv("CANVAS_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    token_path = prepare(case, small_world, tmp_path)
    port = free_port()
    async with canvas_for(case, small_world) as (base_url, sent):
        base = [*SEED_ARGS, "--base-url", base_url, "--token-file", str(token_path),
                *FAST_RETRIES]  # fmt: skip
        extra = [a.format(tmp=tmp_path, port=port) for a in case.args]
        if extra[:1] and not extra[0].startswith("-"):
            base[0], extra = extra[0], extra[1:]  # a course id replaces 1693
        argv = ["report", *SEED_ARGS] if case.report else [*base, *extra]
        with store_lock(tmp_path / STATE_FILE) if case.store_locked else nullcontext():
            code = await anyio.to_thread.run_sync(main, argv)
        requests = sent()
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code == case.code, err
    assert case.says.format(tmp=tmp_path) in err
    lines = err.splitlines()
    if case.code:
        assert lines[-1].startswith("pageviews: error: "), err
        assert sum(line.startswith("pageviews: error: ") for line in lines) == 1
    if case.code not in (0, 9, 15):  # one mistake, one line (9 and 15 follow a summary)
        assert len(lines) == 1, err
    if case.before_any_request:
        assert requests == 0


def test_readme_table_matches_the_cases() -> None:
    text = README.read_text(encoding="utf-8")
    table = text.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([^|]+?) \| `?(\d+)`? \|", table, flags=re.MULTILINE)
    assert [(name, int(code)) for name, code in rows] == [(c.name, c.code) for c in CASES]
