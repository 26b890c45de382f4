"""Harvest many courses in one run: each user read once, every view routed to its course.

Shape: the planner lists the courses' rosters and feeds each distinct user's
fetch units to the engine; the engine's workers read them through a source into
the store; then each course's reports are rendered from the store. A single
course is a batch of one, written straight into the output directory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from .canvas.client import CanvasClient
from .engine import Engine, Progress
from .errors import IncompleteHarvestError, PageviewsError, UsageError, first_error
from .options import BatchOptions
from .outputs.batchindex import IndexEntry, write_index
from .outputs.folders import made_for
from .outputs.render import check_writable, render_course, selection_clash
from .planner import Planner, Selection
from .results import BatchResult, CourseResult
from .sources.history import HistorySource
from .sources.history_plan import Mode, check_reach, plan_sources
from .sources.history_service import absent_note, only_impossible, probe_history
from .sources.listing import ListSource
from .sources.mixed import MixedSource
from .sources.refusals import Refusals, TokenRights
from .store import LISTED, MISSING, Run, Store
from .timerange import TimeRange, canvas_timestamp


async def harvest_courses(
    client: CanvasClient,
    options: BatchOptions,
    *,
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BatchResult:
    """Harvest every course of ``options`` into its reports; resume an unfinished run.

    The state store is locked for the whole run: a second run on it fails at once. A
    run that fails before writing anything removes the empty folders it made.
    """
    state = options.state
    with made_for(options.out_dir, *state.folders):
        check_writable(options.out_dir)
        with state.run_lock(options.run_key()):
            return await _harvest_locked(client, options, progress or Progress(), now)


async def _harvest_locked(
    client: CanvasClient,
    options: BatchOptions,
    progress: Progress,
    now: Callable[[], datetime],
) -> BatchResult:
    started = time.monotonic()
    moment = now()
    requested = options.time_range
    if requested.start > moment:
        raise UsageError("the start time is in the future")
    mode: Mode = "only" if options.history == "only" else "auto"
    me = await client.whoami()  # a rejected token is told before anything else
    pinned = requested.clamp_end(moment)
    notes: list[str] = []
    absent = None
    if options.history != "never" and _reaches_history(options, pinned, moment, mode):
        # Ask Canvas before refusing a range: without history the list reads it all.
        absent = await probe_history(client)
        if absent is None:
            check_reach(requested.start, moment, mode)
        elif mode == "only":
            raise only_impossible(absent)
        else:
            notes.append(absent_note(absent, options.list_window_days))
    with_history = options.history != "never" and absent is None
    store = options.state.open(client.base_url)
    try:
        run = store.open_run(
            options.run_key(), requested.start_utc, pinned.end_utc, canvas_timestamp(moment)
        )
        if run.resumed and options.fresh:
            store.finish_run(run.run_id, canvas_timestamp(moment))
            run = store.open_run(
                options.run_key(), requested.start_utc, pinned.end_utc, canvas_timestamp(moment)
            )
        elif run.resumed:
            store.retry_failed(run.run_id)
        selection = Selection(
            options.refs,
            options.enrollment_types,
            options.enrollment_states,
            options.incremental,
            options.overlap,
            partial(plan_sources, now=moment, mode=mode, window_days=options.list_window_days)
            if with_history
            else None,
        )

        def clash(course_id: int) -> str | None:
            return selection_clash(options.course_dir(course_id), course_id, options)

        planner = Planner(client, store, run, selection, int(me["id"]), progress, clash)
        refusals, rights = Refusals(), TokenRights(client)
        history = HistorySource(
            client, mode=mode, refusals=refusals, rights=rights, wait=options.history_wait
        )
        left = store.started_queries(run.run_id)
        history.jobs.resume([qid for key, qid in left if store.group_units(run.run_id, key)])
        lister = ListSource(client, None, split=options.split_heavy_users)
        source = MixedSource({"list": lister, "history": history}, refusals, rights)
        engine = Engine(store, run, source, workers=options.workers, progress=progress)
        try:
            await engine.run_all(planner.produce)
        except BaseExceptionGroup as group:
            leaf = first_error(group)
            if isinstance(leaf, PageviewsError):
                raise leaf from None
            raise
        unfinished = store.pending(run.run_id)
        if unfinished:
            # Every unit ends done, split, missing or failed; one still to do means the
            # run was cut short, and its reports would silently lack pages.
            raise IncompleteHarvestError(
                f"the harvest stopped with {len(unfinished)} fetch units unfinished; "
                "run the same command again to resume"
            )
        if history.absent is not None:
            notes.append(absent_note(history.absent, options.list_window_days))
        # Without the History API the list endpoint read the whole range: a Canvas that
        # has none keeps every view there (self-hosted), so no day past its window is in doubt.
        whole = absent is not None or history.absent is not None
        courses = _render(store, run, options, list_reads_all=whole)
        if all(c.status != "incomplete" for c in courses):
            store.finish_run(run.run_id, canvas_timestamp(now()))
    finally:
        store.close()
    return BatchResult(
        courses=courses,
        state_path=options.state,
        resumed=run.resumed,
        stats=client.stats,
        peak_in_flight=client.gate.peak,
        seconds=time.monotonic() - started,
        users=progress.users_total,
        from_history=history.records,
        notes=notes,
    )


def _reaches_history(
    options: BatchOptions, pinned: TimeRange, moment: datetime, mode: Mode
) -> bool:
    """Whether the range needs history at all (``only`` always does)."""
    if mode == "only":
        return True
    want = (pinned.start_utc, pinned.end_utc)
    return plan_sources(want, moment, mode, options.list_window_days).history is not None


def _render(
    store: Store, run: Run, options: BatchOptions, *, list_reads_all: bool = False
) -> list[CourseResult]:
    problems = store.problems(run.run_id)
    results = []
    for ref, course in store.courses(run.run_id).items():
        if course.state != LISTED or course.course_id is None:
            results.append(
                CourseResult(ref, course.course_id, course.name, course.state, detail=course.detail)
            )
            continue
        roster = store.roster(run.run_id, course.course_id)
        missing = [(u, problems[u][1]) for u, _ in roster if problems.get(u, ("",))[0] == MISSING]
        failed = [
            (u, problems[u][1]) for u, _ in roster if u in problems and problems[u][0] != MISSING
        ]
        totals = render_course(
            store,
            run,
            course.course_id,
            roster,
            options,
            exclude={u for u, _ in failed},
            name=course.name,
            missing=missing,
            list_reads_all=list_reads_all,
        )
        results.append(
            CourseResult(
                ref,
                course.course_id,
                course.name,
                "incomplete" if failed else "complete",
                users=len(roster),
                records=totals.records,
                missing_users=missing,
                failed_users=failed,
                reports=totals.paths,
                inactive=totals.inactive,
                per_day=totals.per_day,
                warnings=list(totals.notes.warnings),
                notes=list(totals.notes.notes),
                days=list(totals.notes.days),
            )
        )
    # A run that read no course keeps the last good index (its summary goes beside it).
    if (
        options.course_dirs
        and options.summary
        and any(c.status in ("complete", "incomplete") for c in results)
    ):
        write_index(
            options.out_dir,
            options.time_range.label,
            [
                IndexEntry(c.ref, c.course_id, c.name, c.status, c.users, c.records, c.inactive,
                           c.per_day, c.reports.get("summary.html"))
                for c in results
            ],
        )  # fmt: skip
    return results
