"""Rebuild a course's reports from the state store alone, without asking Canvas."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from ..errors import IncompleteHarvestError, NoStoredHarvestError
from ..options import BatchOptions
from ..store import FAILED, LISTED, LISTING, MISSING, Run, RunCourse, Store
from ..wording import counted
from .render import check_writable, render_course


@dataclass(frozen=True, slots=True)
class RebuildResult:
    """What the rebuilt reports hold."""

    course_id: int
    records: int
    reports: dict[str, Path]
    failed_users: list[int]


def rebuild_reports(options: BatchOptions) -> RebuildResult:
    """Render the reports of the newest stored harvest of ``options``' one course.

    The course may be named as the harvest named it or by its numeric id. Nothing
    is written for a harvest that did not finish: its reports would be short.
    """
    check_writable(options.out_dir)
    state = options.state
    state.require()
    with state.reader_lock():
        store = state.open(None)
        try:
            run, course, finished = _find(store, options)
            if not finished:
                pending = len(store.pending(run.run_id))
                raise IncompleteHarvestError(
                    f"that harvest did not finish (course {course.course_id}, "
                    f"{counted(pending, 'fetch unit')} pending): no reports were written; run "
                    "the harvest again to complete it"
                )
            assert course.course_id is not None
            roster = store.roster(run.run_id, course.course_id)
            problems = store.problems(run.run_id)
            failed = [u for u, _ in roster if problems.get(u, ("",))[0] == FAILED]
            missing = [
                (u, problems[u][1]) for u, _ in roster if problems.get(u, ("",))[0] == MISSING
            ]
            totals = render_course(
                store, run, course.course_id, roster, options, exclude=failed, name=course.name,
                missing=missing,
            )  # fmt: skip
        finally:
            store.close()
    return RebuildResult(course.course_id, totals.records, totals.paths, failed)


def _find(store: Store, options: BatchOptions) -> tuple[Run, RunCourse, bool]:
    """The newest run over this range and filter that listed the course."""
    (ref,) = options.refs
    wanted = orjson.loads(options.run_key())[1:5]
    for run, finished in store.runs():
        key = orjson.loads(run.key)
        if key[1:5] != wanted:
            continue
        for course in store.courses(run.run_id).values():
            named = course.ref == ref or str(course.course_id) == ref
            if named and course.state in (LISTING, LISTED) and course.course_id is not None:
                return run, course, finished
    raise NoStoredHarvestError(
        f"no stored harvest: {options.state} holds no harvest of course {ref} for "
        f"{options.time_range.label} with these enrollment filters"
    )
