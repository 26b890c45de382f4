"""Ground truth for a scenario, and the check that a run's reports equal it exactly."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import orjson

from pageviews.testing import ExpectedReports, PageViewRow, World, WorldSpec, expected_reports
from pageviews.testing.report_files import assert_reports_exact, expected_files

from .bounds import Workload, minimal_workload
from .scenarios import COURSE_ID, END, START, Scenario


@dataclass(frozen=True, slots=True)
class Truth:
    """The expected reports of a scenario and the minimal work to produce them."""

    world: World
    reports: ExpectedReports
    workload: Workload


def scenario_truth(scenario: Scenario) -> Truth:
    """Generate the fake's world in this process (same spec, same world) and its truth."""
    world = World.generate(WorldSpec.preset(scenario.fake.preset))
    states = scenario.enrollment_states
    reports = expected_reports(world, COURSE_ID, START, END, enrollment_states=states)
    workload = minimal_workload(world, COURSE_ID, reports.roster, START, END, states)
    return Truth(world, reports, workload)


def load_sequential(path: Path) -> ExpectedReports:
    """Rebuild the sequential client's in-memory reports from its JSON dump."""
    data = orjson.loads(path.read_bytes())
    return ExpectedReports(
        roster=list(data["roster"]),
        user_names={int(k): v for k, v in data["user_names"].items()},
        records=[PageViewRow(*row) for row in data["records"]],
        totals=[(url, n) for url, n in data["totals"]],
        user_totals=[(u, url, n) for u, url, n in data["user_totals"]],
    )


def check_reports(mode: str, out_dir: Path, truth: Truth) -> str | None:
    """Compare a run's reports with the truth; return what differs, or None."""
    if mode == "floor":
        return None  # it writes no reports: it only measures fetching and parsing
    try:
        if mode == "sequential":
            # It asks for Canvas's default selection, as the truth does; the JSON header
            # records that selection, which the dump does not carry.
            dumped = load_sequential(out_dir / "sequential.json")
            got = expected_files(
                replace(dumped, selection=truth.reports.selection), COURSE_ID, START, END
            )
            want = expected_files(truth.reports, COURSE_ID, START, END)
            for name in want:
                assert got[name] == want[name], f"{name} differs from the ground truth"
        else:
            assert_reports_exact(out_dir, truth.reports, COURSE_ID, START, END)
    except (AssertionError, OSError, KeyError, ValueError) as exc:
        return str(exc) or type(exc).__name__
    return None
