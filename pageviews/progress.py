"""A one-line live progress display for terminals, and the end-of-run summary."""

from __future__ import annotations

import time
from typing import TextIO

import anyio

from .canvas.client import ClientStats
from .harvest import HarvestResult, Progress


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``1 user``, ``2 users``, ``1 retry``, ``3 retries``: a count with its noun agreeing."""
    if plural is None:
        plural = singular[:-1] + "ies" if singular.endswith("y") else singular + "s"
    return f"{n:,} {singular if n == 1 else plural}"


def progress_line(progress: Progress, stats: ClientStats, now: float) -> str:
    """Render the live counters as one line."""
    elapsed = max(now - progress.started, 1e-9)
    total = f"{progress.users_total}" + ("" if progress.roster_complete else "+")
    return (
        f"users {progress.users_done}/{total} · page views {progress.records:,} · "
        f"{stats.requests / elapsed:,.0f} req/s · throttled {stats.throttled} · "
        f"retries {stats.retries} · {elapsed:,.0f}s"
    )


async def show_progress(
    progress: Progress,
    stats: ClientStats,
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
            stream.write("\r\x1b[K" + progress_line(progress, stats, time.monotonic()))
            stream.flush()
            with anyio.move_on_after(interval):
                await done.wait()
    finally:
        stream.write("\r\x1b[K")
        stream.flush()


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
