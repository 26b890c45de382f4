"""Rebuild a harvest's reports from the state store alone, without asking Canvas.

The reports come out as the harvest itself would have written them: a harvest
cut short writes nothing (its users are read only in part), and users that
failed are left out whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import IncompleteHarvestError, NoStoredHarvestError
from .harvest import HarvestOptions, check_writable, render_reports, run_key
from .progress import counted
from .store import FAILED, Store
from .storelock import store_lock


@dataclass(frozen=True, slots=True)
class RebuildResult:
    """What the rebuilt reports hold, and the users left out of them."""

    course_id: int
    records: int
    reports: dict[str, Path]
    failed_users: list[int]


def rebuild_reports(options: HarvestOptions) -> RebuildResult:
    """Render the reports of the newest stored harvest matching ``options``."""
    check_writable(options.out_dir)
    if not options.store_path.is_file():
        raise NoStoredHarvestError(
            f"no stored harvest: there is no state store at {options.store_path}"
        )
    with store_lock(options.store_path):
        return _rebuild_locked(options)


def _rebuild_locked(options: HarvestOptions) -> RebuildResult:
    store = Store(options.store_path, None)
    try:
        course_id = store.course_id(str(options.course))
        found = None if course_id is None else store.latest_run(run_key(course_id, options))
        if course_id is None or found is None:
            raise NoStoredHarvestError(
                f"no stored harvest: {options.store_path} holds no harvest of course "
                f"{options.course} for {options.time_range.label} with these enrollment filters"
            )
        run, _ = found
        unfinished = len(store.pending(run.run_id))
        if unfinished or not run.roster_complete:
            raise IncompleteHarvestError(
                f"that harvest did not finish ({counted(unfinished, 'fetch unit')} still to "
                "do), so no reports were written; run the harvest again to complete it"
            )
        failed = [user for user, state, _ in store.problems(run.run_id) if state == FAILED]
        totals = render_reports(store, run, options, leave_out=failed)
    finally:
        store.close()
    return RebuildResult(course_id, totals.records, totals.paths, failed)
