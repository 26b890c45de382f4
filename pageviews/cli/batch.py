"""``pageviews batch``: many courses in one run, each user read once; a summary per course."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from ..batch import harvest_courses
from ..canvas.client import CanvasClient
from ..courselist import course_ref, courses_file, unique
from ..engine import Progress
from ..errors import (
    AccountNotFoundError,
    CoursesFailedError,
    IncompleteHarvestError,
    NotFoundError,
    UsageError,
)
from ..interrupts import Terminated
from ..jsonlog import emit
from ..options import BatchOptions
from ..outputs.batchsummary import SUMMARY_STEM, refused, write_summary
from ..results import BatchResult
from ..wording import counted
from .invocation import Invocation, resolve_client, selected
from .parser import build_parser
from .session import run_job
from .shell import json_lines, say


def batch_options(args: argparse.Namespace) -> BatchOptions:
    """The courses named on the command line or in a file, and the shared selection.

    Courses of ``--account``/``--term`` are listed from Canvas when the run starts;
    until then the options hold a placeholder that :func:`_account_courses` replaces.
    """
    refs = [course_ref(c) for c in args.courses]
    if args.courses_file is not None:
        try:
            text = args.courses_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not text"
            raise UsageError(
                f"cannot read the courses file {args.courses_file}: {reason}"
            ) from None
        refs += courses_file(text, str(args.courses_file))
    if (args.account is None) != (args.term is None):
        raise UsageError("--account and --term go together")
    if args.account is not None and refs:
        raise UsageError("name courses, or --account with --term, not both")
    if args.account is None and not refs:
        raise UsageError("no courses: name them, give --courses-file, or --account and --term")
    time_range, settings = selected(args)
    return BatchOptions(
        courses=unique(refs) or ("(account)",),
        time_range=time_range,
        course_dirs=True,
        **settings.settings(),
    )


async def _account_courses(client: CanvasClient, account: str, term: str) -> tuple[str, ...]:
    refs: list[str] = []
    try:
        async for page in client.account_courses(account, term):
            refs += [str(course["id"]) for course in page.data if isinstance(course, dict)]
    except NotFoundError:
        # Canvas answers 404 for an unknown account and for an unknown term alike
        # (api_find in AccountsController#courses_api): ask once more without the term.
        if not await client.account_known(account):
            raise AccountNotFoundError(
                f"--account {account} not found on {client.base_url}"
            ) from None
        raise AccountNotFoundError(
            f"--term {term} not found on {client.base_url} (account {account} is known)"
        ) from None
    if not refs:
        raise UsageError(f"account {account} has no courses in term {term}")
    return unique(refs)


def batch_main(args: list[str], holder: list[Invocation]) -> int:
    """Run a batch; exit 9 when users are incomplete, 15 when courses failed, else 0."""
    parsed = build_parser(batch=True).parse_args(args)
    options = batch_options(parsed)
    inv = resolve_client(parsed, os.environ, options)
    holder.append(inv)
    moment = inv.now
    clock = (lambda: datetime.now(UTC)) if moment is None else (lambda: moment)

    async def job(client: CanvasClient, progress: Progress) -> BatchResult:
        chosen = options
        if parsed.account is not None:
            refs = await _account_courses(client, parsed.account, parsed.term)
            chosen = replace(options, courses=refs)
        return await harvest_courses(client, chosen, progress=progress, now=clock)

    result, terminated = run_job(inv, job)
    courses = tuple(c.ref for c in result.courses)
    done = replace(options, courses=courses) if courses else options
    paths = write_summary(result, done)
    if terminated:
        raise Terminated
    if not parsed.quiet:
        _summarize(result, paths["json"])
    incomplete = [c for c in result.courses if c.status == "incomplete"]
    if incomplete:
        users = sum(len(c.failed_users) for c in incomplete)
        raise IncompleteHarvestError(
            f"{counted(users, 'user')} incomplete in {counted(len(incomplete), 'course')} "
            "(named above), reports written without them; run the same command again to "
            "retry them"
        )
    if refused(result):
        raise CoursesFailedError(
            f"none of {counted(len(result.courses), 'course')} could be read (named above); "
            f"see {paths['json']}; the last good summary is kept in {SUMMARY_STEM}.json"
        )
    if result.failed_courses:
        raise CoursesFailedError(
            f"{counted(len(result.failed_courses), 'course')} of "
            f"{len(result.courses)} could not be read (named above); the others' reports "
            f"are written; see {paths['json']}"
        )
    return 0


def _summarize(result: BatchResult, summary: Path) -> None:
    stats = result.stats
    for course in result.courses:
        name = f" ({course.name})" if course.name else ""
        label = course.course_id if course.course_id is not None else course.ref
        if course.status in ("complete", "incomplete"):
            folder = next(iter(course.reports.values())).parent if course.reports else "?"
            line = (
                f"course {label}{name}: {counted(course.records, 'page view')} of "
                f"{counted(course.users, 'user')}; reports in {folder}/"
            )
        else:
            line = f"course {label}{name}: {course.status} ({course.detail})"
        if json_lines():
            emit(
                sys.stderr,
                line,
                course=course.course_id,
                ref=course.ref,
                status=course.status,
                records=course.records,
                users=course.users,
            )
        else:
            say(line)
        for user_id, detail in course.failed_users:
            say(f"INCOMPLETE user {user_id} of course {label}: {detail}")
    # As the single-course command says them, after the courses' outcomes; the batch's
    # totals stay the last line (log collectors read it as the run's outcome).
    for line in _notes_said(result):
        say(line)
    say(
        f"batch: {counted(len(result.courses), 'course')}, {counted(result.users, 'user')} "
        f"read once each, {counted(sum(c.records for c in result.courses), 'page view')} in "
        f"{result.seconds:.1f}s ({counted(stats.requests, 'request')}, {stats.throttled} "
        f"throttled, {counted(stats.retries, 'retry')}"
        f"{', resumed' if result.resumed else ''}); summary in {summary}, state in "
        f"{result.state_path}"
    )


def _notes_said(result: BatchResult) -> list[str]:
    """Each course's warnings, then notes, each distinct text once naming its courses."""
    lines: list[str] = []
    for level in ("warning", "note"):
        texts: dict[str, list[str]] = {}
        for course in result.courses:
            label = str(course.course_id if course.course_id is not None else course.ref)
            for text in course.warnings if level == "warning" else course.notes:
                texts.setdefault(text, []).append(label)
        for text, labels in texts.items():
            who = f"course {labels[0]}" if len(labels) == 1 else f"courses {', '.join(labels)}"
            lines.append(f"{level}: {who}: {text}")
    return lines + [f"note: {text}" for text in result.notes]  # the run's, for every course
