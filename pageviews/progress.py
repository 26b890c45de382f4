"""A one-line live progress display for terminals, and the end-of-run summary."""

from __future__ import annotations

import time
from typing import Any, TextIO

import anyio

from .canvas.client import ClientStats
from .canvas.limiter import Gate
from .harvest import HarvestResult, Progress
from .jsonlog import emit
from .outlook import Work, describe, seconds_left
from .wording import counted

#: The calls of an export job, whose costs make up what a job costs.
JOB_CALLS = ("history-start", "history-poll", "history-results")
#: Polls a job is assumed to take before one has been seen to end.
POLLS_PER_JOB = 2
#: A unit's share read is taken as at least this, so its first page predicts no more
#: than fifty in all.
MIN_SHARE = 0.02


def outlook(progress: Progress, gate: Gate, now: float) -> Work:
    """What the run has done and has left, from its counters and the gate's bucket."""
    jobs = progress.job_counts()
    costs, pacer = gate.costs, gate.pacer
    start = costs.expected("history-start") or 0.0
    if jobs["done"]:
        job_cost = sum(gate.spent.get(kind, 0.0) for kind in JOB_CALLS) / jobs["done"]
    else:
        poll = (costs.expected("history-poll") or 0.0) * POLLS_PER_JOB
        job_cost = start + poll + (costs.expected("history-results") or 0.0)
    seconds = progress.job_seconds
    listed = progress.units_ended["list"]
    reading = progress.reading.values()
    read = sum(pages for pages, _ in reading)
    return Work(
        elapsed=now - progress.started,
        list_done=listed,
        list_left=progress.units_planned["list"] - listed,
        list_spent=sum(v for kind, v in gate.spent.items() if kind not in JOB_CALLS),
        list_pages=progress.pages_ended + read,
        reading=len(progress.reading),
        reading_pages=read,
        # Its share read so far predicts a unit's pages (and the empty page pv4 ends on).
        reading_total=sum(pages / max(share, MIN_SHARE) + 1 for pages, share in reading),
        jobs_queued=jobs["queued"],
        jobs_running=jobs["running"],
        jobs_done=jobs["done"],
        job_cost=job_cost,
        job_start_cost=start,
        job_seconds=sum(seconds) / len(seconds) if seconds else None,
        spent=sum(gate.spent.values()),
        outflow=pacer.outflow_seen,
        # The pacer keeps a charge and its margin free: only the rest is room to spend.
        room=0.0 if pacer.remaining is None else pacer.remaining - pacer.need,
    )


def progress_fields(
    progress: Progress, stats: ClientStats, gate: Gate, now: float
) -> dict[str, Any]:
    """The live counters and the estimate, as the progress line and JSON lines give them."""
    jobs = progress.job_counts()
    left = seconds_left(outlook(progress, gate, now))
    return {
        "users_done": progress.users_done,
        "users_total": progress.users_total,
        "roster_complete": progress.roster_complete,
        "jobs_done": jobs["done"],
        "jobs_running": jobs["running"],
        "jobs_queued": jobs["queued"],
        "records": progress.records,
        "requests": stats.requests,
        "throttled": stats.throttled,
        "retries": stats.retries,
        "elapsed_seconds": round(now - progress.started, 1),
        "seconds_left": None if left is None else round(left, 1),
    }


def progress_line(progress: Progress, stats: ClientStats, now: float, gate: Gate) -> str:
    """Render the live counters and the estimate as one line."""
    f = progress_fields(progress, stats, gate, now)
    elapsed = max(now - progress.started, 1e-9)
    total = f"{progress.users_total}" + ("" if progress.roster_complete else "+")
    jobs = ""
    if progress.jobs:
        jobs = (
            f"history jobs {f['jobs_done']} done, {f['jobs_running']} running, "
            f"{f['jobs_queued']} queued · "
        )
    left = describe(f["seconds_left"])
    if f["seconds_left"] is not None and not progress.roster_complete:
        left = "at least " + left  # users still to list will add to it
    return (
        f"users {progress.users_done}/{total} · {jobs}page views {progress.records:,} · "
        f"{stats.requests / elapsed:,.0f} req/s · throttled {stats.throttled} · "
        f"retries {stats.retries} · {elapsed:,.0f}s · {left}"
    )


async def show_progress(
    progress: Progress,
    stats: ClientStats,
    gate: Gate,
    stream: TextIO,
    done: anyio.Event,
    interval: float = 0.25,
) -> None:
    """Redraw the progress line until ``done`` is set (or the task is cancelled), then clear it.

    An event, not the caller cancelling this task, ends it: a cancel scope cancelled
    on the way out could take a Ctrl-C's cancellation for its own and swallow it.
    """
    try:
        while not done.is_set():
            line = progress_line(progress, stats, time.monotonic(), gate)
            stream.write("\r\x1b[K" + line)
            stream.flush()
            with anyio.move_on_after(interval):
                await done.wait()
    finally:
        stream.write("\r\x1b[K")
        stream.flush()


async def log_progress(
    progress: Progress,
    stats: ClientStats,
    gate: Gate,
    stream: TextIO,
    done: anyio.Event,
    interval: float,
) -> None:
    """``--log-format json``: a progress line every ``interval`` seconds until ``done``."""
    while True:
        with anyio.move_on_after(interval):
            await done.wait()
        if done.is_set():
            return
        fields = progress_fields(progress, stats, gate, time.monotonic())
        emit(stream, "progress", event="progress", **fields)


def summary_lines(result: HarvestResult) -> list[str]:
    """The end-of-run summary: one line, then a line per user missing or incomplete."""
    stats = result.stats
    name = f" ({result.course_name})" if result.course_name else ""
    folder = next(iter(result.reports.values())).parent if result.reports else "."
    lines = [
        f"course {result.course_id}{name}: {counted(result.records, 'page view')} of "
        f"{counted(result.users, 'user')} in {result.seconds:.1f}s "
        f"({counted(stats.requests, 'request')}, {stats.throttled} throttled, "
        f"{counted(stats.retries, 'retry')}{', resumed' if result.resumed else ''}); "
        f"reports in {folder}/, state in {result.state_path}"
    ]
    # After the outcome, never in front of an error: a run that failed has no summary.
    lines += [f"warning: {warning}" for warning in result.warnings]
    lines += [f"note: {note}" for note in result.notes]
    if result.users == 0:
        lines.append("note: no enrollments matched; the reports are empty")
    for user_id, detail in result.missing_users:
        lines.append(f"skipped user {user_id}: not found ({detail})")
    for user_id, detail in result.failed_users:
        lines.append(f"INCOMPLETE user {user_id}: {detail}")
    return lines
