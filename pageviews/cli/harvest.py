"""``pageviews COURSE --start_time ... --end_time ...``: the seed-compatible harvest."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime

from ..canvas.client import CanvasClient
from ..engine import Progress
from ..errors import IncompleteHarvestError
from ..harvest import HarvestOptions, HarvestResult, harvest_course
from ..interrupts import Terminated
from ..progress import summary_lines
from ..wording import counted
from .invocation import Invocation, resolve_client, selection
from .parser import build_parser
from .session import run_job
from .shell import say


def resolve(args: argparse.Namespace, environ: dict[str, str] | os._Environ[str]) -> Invocation:
    """Validate the parsed arguments and gather the run's inputs."""
    return resolve_client(args, environ, selection(args))


def harvest_main(args: list[str], holder: list[Invocation]) -> int:
    """Harvest one course; exit 9 when users are incomplete, else 0."""
    inv = resolve(build_parser().parse_args(args), os.environ)
    holder.append(inv)
    options = inv.options
    assert isinstance(options, HarvestOptions)
    moment = inv.now
    clock = (lambda: datetime.now(UTC)) if moment is None else (lambda: moment)

    async def job(client: CanvasClient, progress: Progress) -> HarvestResult:
        return await harvest_course(client, options, progress=progress, now=clock)

    result, terminated = run_job(inv, job)
    if terminated:  # it landed after the last await: the reports are complete
        raise Terminated
    if not inv.quiet:
        for line in summary_lines(result):
            say(line)
    if not result.complete:
        raise IncompleteHarvestError(
            f"{counted(len(result.failed_users), 'user')} incomplete (named above), "
            "reports written without them; run the same command again to retry them"
        )
    return 0
