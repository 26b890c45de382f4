"""The command line's defaults are the library's: every setting, compared field by field."""

from __future__ import annotations

import inspect
from dataclasses import fields
from pathlib import Path

import pytest

from pageviews import BatchOptions, CanvasClient, HarvestOptions, RetryPolicy
from pageviews.cli.batch import batch_options
from pageviews.cli.harvest import resolve
from pageviews.cli.invocation import Invocation, resolve_client, selection
from pageviews.cli.parser import build_parser
from pageviews.options import RunSettings

DATES = ["--start_time", "2015-01-26", "--end_time", "2015-03-12"]


@pytest.fixture
def environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A user who set the address and the token, and nothing else."""
    monkeypatch.delenv("PAGEVIEWS_HISTORY", raising=False)
    return {"CANVAS_BASE_URL": "https://canvas.example.edu", "CANVAS_TOKEN": "secret"}


def same_settings(cli: RunSettings, library: RunSettings) -> None:
    """Every field the two share holds the same value (named when one differs)."""
    shared = {f.name for f in fields(cli)} & {f.name for f in fields(library)}
    assert {f.name for f in fields(RunSettings)} <= shared
    for name in sorted(shared):
        assert getattr(cli, name) == getattr(library, name), name


def same_client(inv: Invocation) -> None:
    """The retry policy, the concurrency, the timeout and the body bound of a bare client."""
    client = inspect.signature(CanvasClient).parameters
    assert inv.retry == RetryPolicy()
    assert inv.concurrency == client["concurrency"].default == inv.options.workers
    assert inv.timeout == client["timeout"].default
    assert inv.max_body == client["max_body"].default
    assert inv.now is None
    assert not (inv.verbose or inv.quiet)


def test_a_course_harvest_defaults_to_the_librarys_options(environ: dict[str, str]) -> None:
    inv = resolve(build_parser().parse_args(["1693", *DATES]), environ)
    assert isinstance(inv.options, HarvestOptions)
    library = HarvestOptions(course="1693", time_range=inv.options.time_range)
    same_settings(inv.options, library)
    assert inv.options == library
    same_client(inv)


def test_a_batch_defaults_to_the_librarys_options(environ: dict[str, str]) -> None:
    parsed = build_parser(batch=True).parse_args(["1693", "169", *DATES])
    options = batch_options(parsed)
    library = BatchOptions(courses=("1693", "169"), time_range=options.time_range)
    same_settings(options, library)
    assert options == library
    same_client(resolve_client(parsed, environ, options))


def test_a_report_defaults_to_the_librarys_options(environ: dict[str, str]) -> None:
    options = selection(build_parser(report=True).parse_args(["1693", *DATES]))
    library = HarvestOptions(course="1693", time_range=options.time_range)
    same_settings(options, library)
    assert options.as_batch() == library.as_batch()


def test_one_course_and_a_batch_of_it_share_every_setting() -> None:
    parsed = build_parser().parse_args(["1693", *DATES, "--history", "never", "--excel"])
    one = selection(parsed)
    batch = one.as_batch()
    same_settings(batch, one)
    assert (batch.courses, batch.time_range) == (("1693",), one.time_range)
    assert not batch.course_dirs


def test_pageviews_history_sets_only_the_command_lines_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAGEVIEWS_HISTORY", "never")
    assert build_parser().parse_args(["1693", *DATES]).history == "never"
    assert build_parser(batch=True).parse_args(["1693", *DATES]).history == "never"
    assert RunSettings().history == "auto"
