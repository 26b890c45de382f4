"""The curated public API and the runnable example."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

import pageviews
import pageviews.testing
from pageviews import BatchOptions, HarvestOptions, TimeRange
from pageviews.cli.parser import build_parser
from pageviews.testing import World, expected_reports

from .harvesting import END, START, STUDENTS

ROOT = Path(__file__).resolve().parent.parent


def test_all_is_sorted_and_every_name_is_documented() -> None:
    for module in (pageviews, pageviews.testing):
        names = module.__all__
        assert len(set(names)) == len(names)
        for name in names:
            assert getattr(module, name).__doc__, f"{module.__name__}.{name} has no docstring"
    assert pageviews.__all__ == sorted(pageviews.__all__)


def test_the_library_and_the_command_line_read_history_alike_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PAGEVIEWS_HISTORY", raising=False)
    dates = ["--start_time", "2015-01-26", "--end_time", "2015-03-12"]
    args = build_parser().parse_args(["1693", *dates])
    batch = build_parser(batch=True).parse_args(["1693", "169", *dates])
    window = TimeRange(datetime(2015, 1, 26, tzinfo=UTC), datetime(2015, 3, 12, tzinfo=UTC))
    library = HarvestOptions(course=1693, time_range=window).history
    assert args.history == batch.history == library == "auto"
    assert BatchOptions(courses=(1693,), time_range=window).history == library


def test_package_ships_its_type_marker() -> None:
    assert (Path(pageviews.__file__).parent / "py.typed").is_file()


def test_library_example_runs(small_world: World) -> None:
    truth = expected_reports(small_world, 1693, START, END, enrollment_types=STUDENTS)
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "library_usage.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    expected = f"course 1693: {len(truth.records)} page views of {len(truth.roster)} users"
    assert expected in done.stdout


def test_fewer_collections_restores_the_threshold() -> None:
    import gc

    from pageviews.gctune import fewer_collections

    before = gc.get_threshold()
    with fewer_collections(12_345):
        assert gc.get_threshold()[0] == 12_345
    assert gc.get_threshold() == before
