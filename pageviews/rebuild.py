"""Rebuild a harvest's reports from the state store alone, without asking Canvas."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import StateError
from .harvest import HarvestOptions, check_writable, render_reports, run_key
from .store import FAILED, Store
from .storelock import store_lock


@dataclass(frozen=True, slots=True)
class RebuildResult:
    """What the rebuilt reports hold, and whether the harvest behind them was complete."""

    course_id: int
    records: int
    reports: dict[str, Path]
    finished: bool
    unfinished_units: int
    problem_users: list[int]


def rebuild_reports(options: HarvestOptions, course_id: int) -> RebuildResult:
    """Render the reports of the newest stored harvest matching ``options``."""
    check_writable(options.out_dir)
    with store_lock(options.store_path):
        return _rebuild_locked(options, course_id)


def _rebuild_locked(options: HarvestOptions, course_id: int) -> RebuildResult:
    store = Store(options.store_path, None)
    try:
        found = store.latest_run(run_key(course_id, options))
        if found is None:
            raise StateError(
                f"{options.store_path} holds no harvest of course {course_id} for "
                f"{options.time_range.label} with these enrollment filters"
            )
        run, finished = found
        problems = [user for user, state, _ in store.problems(run.run_id) if state == FAILED]
        totals = render_reports(store, run, options, leave_out=problems)
        unfinished = len(store.pending(run.run_id))
    finally:
        store.close()
    return RebuildResult(course_id, totals.records, totals.paths, finished, unfinished, problems)
