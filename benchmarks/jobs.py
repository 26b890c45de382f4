"""Run the chosen groups: the ones that wait side by side, the CPU-bound ones alone.

Most groups' runs wait on latency or on a throttle's bucket and barely use the
CPU: they run side by side, each client against its own fake, so their waits
overlap. The CPU-bound groups then run one at a time, alone but for the batch's
one-at-a-time loop, which waits minutes on its own bucket while using a few
percent of one core. This keeps ``make bench`` near ten minutes on two cores.
"""

from __future__ import annotations

import argparse
import pstats
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pageviews.errors import PageviewsError

from . import export_memory, history
from .batch import BATCH_CLIENTS, BATCH_GROUPS, BatchRun, run_batch
from .fake import FakeError
from .runs import Measurement, RunFailed, measure
from .scenarios import SCENARIOS, Scenario
from .truth import Truth, scenario_truth

#: Groups whose runs wait rather than compute: run side by side.
SIDE_BY_SIDE = frozenset({"latency-bound", "throttle-bound", "throttle-tiny", "batch", "history"})
#: The loop of single-course harvests: minutes of waiting, so it runs throughout.
THROUGHOUT = "batch/one-at-a-time"


@dataclass(slots=True)
class Found:
    """What one job measured."""

    scenarios: list[tuple[Scenario, Truth]] = field(default_factory=list)
    runs: list[Measurement] = field(default_factory=list)
    batch: list[BatchRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    export: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Job:
    """One group, or one client of the batch group."""

    name: str
    group: str
    run: Callable[[], Found]


def say(text: str) -> None:
    """Print a progress line at once."""
    print(text, flush=True)


def run_scenario(
    scenario: Scenario, args: argparse.Namespace, failures: list[str]
) -> tuple[Truth, list[Measurement]]:
    """Compute the truth, then measure each client on a fresh fake."""
    started = time.perf_counter()
    truth = scenario_truth(scenario)
    say(
        f"[{scenario.name}] ground truth: {len(truth.reports.records):,} records of "
        f"{len(truth.reports.roster)} users, {truth.workload.requests:,} minimal requests "
        f"({time.perf_counter() - started:.1f}s)"
    )
    runs: list[Measurement] = []
    for client in scenario.clients:
        say(f"[{scenario.name}] {client.label}: running ...")
        profile = None
        if args.profile and scenario.group == "cpu":
            profile = args.out / scenario.name / f"{client.label}.prof"
        try:
            m = measure(
                scenario, client, truth, args.out, keep_reports=args.keep_reports, profile=profile
            )
        except (RunFailed, FakeError) as exc:
            # One broken client should not cost the other scenarios' numbers.
            failures.append(f"{scenario.name}/{client.label}: {exc}")
            say(f"[{scenario.name}] {client.label}: FAILED: {exc}")
            continue
        runs.append(m)
        check = "reports exact" if m.reports_error is None else f"REPORTS DIFFER: {m.reports_error}"
        say(
            f"[{scenario.name}] {client.label}: {m.wall_seconds:.2f}s wall, "
            f"{m.requests:,} requests, {m.throttled} throttled, {m.ratio:.2f}x the bound, {check}"
        )
        if m.bucket is not None:
            b = m.bucket
            say(
                f"[{scenario.name}] {client.label}: over the bound's "
                f"{m.bound.bucket:.1f}s: {b.extra_work:.1f}s of extra cost "
                f"({b.actual_cost:,.1f} units charged), {b.unused_headroom:.1f}s of headroom "
                f"left at the end, {b.empty:.1f}s of outflow lost to an empty bucket, "
                f"{m.wall_seconds - b.span:.1f}s before the first request and after the last"
            )
        if (m.requests, m.throttled) != (m.fake_requests, m.fake_throttled):
            say(
                f"[{scenario.name}] {client.label}: the fake counted {m.fake_requests:,} "
                f"requests and {m.fake_throttled} throttled"
            )
        if profile is not None and profile.exists():
            say(f"[{scenario.name}] {client.label}: top costs (cProfile, tottime)")
            pstats.Stats(str(profile), stream=sys.stdout).sort_stats("tottime").print_stats(20)
    return truth, runs


def _scenario_job(scenario: Scenario, args: argparse.Namespace, failures: list[str]) -> Found:
    truth, runs = run_scenario(scenario, args, failures)
    return Found(scenarios=[(scenario, truth)], runs=runs)


def _batch_job(
    group: str,
    run: Callable[..., tuple[list[BatchRun], list[str]]],
    args: argparse.Namespace,
    failures: list[str],
) -> Found:
    try:
        runs, notes = run(args.out, args.keep_reports, say)
    except (RunFailed, FakeError) as exc:
        failures.append(f"{group}: {exc}")
        say(f"[{group}] FAILED: {exc}")
        return Found()
    return Found(batch=runs, notes=notes)


def _history_job(failures: list[str]) -> Found:
    try:
        return Found(history=history.run(say))
    except PageviewsError as exc:
        failures.append(f"history: {exc}")
        say(f"[history] FAILED: {exc}")
        return Found()


def _export_job(args: argparse.Namespace, failures: list[str]) -> Found:
    try:
        return Found(export=export_memory.run(args.out, say))
    except (RunFailed, FakeError) as exc:
        failures.append(f"export-memory: {exc}")
        say(f"[export-memory] FAILED: {exc}")
        return Found()


def jobs(chosen: set[str], args: argparse.Namespace, failures: list[str]) -> list[Job]:
    """The chosen groups' jobs in the order of their tables; the batch's clients apart."""
    found = [
        Job(s.name, s.group, partial(_scenario_job, s, args, failures))
        for s in SCENARIOS
        if s.group in chosen
    ]
    for group, run in BATCH_GROUPS.items():
        if group not in chosen:
            continue
        if run is run_batch:
            for client in BATCH_CLIENTS:
                one = partial(run_batch, clients=(client,))
                found.append(
                    Job(
                        f"batch/{client[0]}", group, partial(_batch_job, group, one, args, failures)
                    )
                )
        else:
            found.append(Job(group, group, partial(_batch_job, group, run, args, failures)))
    if "history" in chosen:
        found.append(Job("history", "history", partial(_history_job, failures)))
    if "export-memory" in chosen:
        found.append(Job("export-memory", "export-memory", partial(_export_job, args, failures)))
    return found


def run_all(chosen: set[str], args: argparse.Namespace, failures: list[str]) -> Found:
    """Run the chosen groups' jobs (see the module's docstring); merge what they found."""
    planned = jobs(chosen, args, failures)
    throughout = [j for j in planned if j.name == THROUGHOUT]
    side = [j for j in planned if j.group in SIDE_BY_SIDE and j not in throughout]
    alone = [j for j in planned if j not in side and j not in throughout]
    results: dict[str, Found] = {}
    with ThreadPoolExecutor(max_workers=max(1, len(side) + len(throughout))) as pool:
        waiting = {j.name: pool.submit(j.run) for j in throughout + side}
        for job in side:
            results[job.name] = waiting[job.name].result()
        for job in alone:
            results[job.name] = job.run()
        for job in throughout:
            results[job.name] = waiting[job.name].result()
    merged = Found()
    for job in planned:
        part = results[job.name]
        merged.scenarios += part.scenarios
        merged.runs += part.runs
        merged.batch += part.batch
        merged.notes += [note for note in part.notes if note not in merged.notes]
        merged.history += part.history
        merged.export += part.export
    return merged
