"""Run the chosen groups: a few light, waiting runs in the background, the rest alone.

Some runs wait on latency or on a small bucket for a minute or more while using
a few percent of one core: the batch's one-at-a-time loop, one request at a
time (the sequential client), the smallest fixed pools, the tiny buckets. They
run in the background, the loop on its own and the others one after another,
each against its own fake, while every other run goes one at a time in the
foreground, the runs whose figures are counts and memory first.
Runs whose wall time is judged against a tight bound (the Canvas bucket, the
batch, concurrency against the best fixed pools) go last, when the background
is done: the two that wait on the bucket side by side (:data:`SIDE_BY_SIDE`).
"""

from __future__ import annotations

import argparse
import pstats
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pageviews.errors import PageviewsError

from . import export_memory, history
from .batch import BATCH_CLIENTS, BATCH_GROUPS, BatchRun, run_batch
from .fake import FakeError
from .runs import Measurement, RunFailed, measure
from .scenarios import SCENARIOS, Client, Scenario
from .truth import Truth, scenario_truth

#: Light runs that mostly wait, (scenario or group, client): in the background, the loop
#: on its own and the others one after another, so at most two run beside the foreground.
BACKGROUND = (
    ("batch", "one-at-a-time"),
    ("latency-bound", "sequential"),
    ("latency-bound", "static-4"),
    ("latency-bound", "static-8"),
    ("throttle-tiny", "pageviews"),
    ("throttle-tiny-heavy", "pageviews"),
)
#: The order of the foreground: counts and memory first, tight wall-time bounds last. The
#: history rows run here, not in the background: beside the PostgreSQL run they made it a
#: third slower than the SQLite run it is judged against, which ran beside lighter work.
FOREGROUND = ("incremental", "export-memory", "history", "batch-large", "batch-large-postgres",
              "cpu", "batch", "throttle-bound")  # fmt: skip
#: Foreground runs that wait on Canvas's bucket with a few percent of a core each: they
#: go side by side, after the rest of the foreground, when the background is done.
SIDE_BY_SIDE = (("batch", "batch"), ("throttle-bound", "pageviews"))


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
    """One client of a scenario or of the batch group, or one other group."""

    group: str
    scenario: str
    client: str
    run: Callable[[], Found]

    @property
    def background(self) -> bool:
        """Whether the job runs in the background (see BACKGROUND)."""
        return (self.scenario, self.client) in BACKGROUND

    @property
    def rank(self) -> int:
        """Its place in the background, or in the foreground (groups not named there last)."""
        if self.background:
            return BACKGROUND.index((self.scenario, self.client))
        return FOREGROUND.index(self.group) if self.group in FOREGROUND else len(FOREGROUND)


class Truths:
    """Each scenario's ground truth, computed once for all its clients' jobs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: dict[str, Truth] = {}

    def of(self, scenario: Scenario) -> Truth:
        """The scenario's truth, computed by the first job that asks."""
        with self._lock:
            if scenario.name not in self._found:
                started = time.perf_counter()
                truth = self._found[scenario.name] = scenario_truth(scenario)
                say(
                    f"[{scenario.name}] ground truth: {len(truth.reports.records):,} records of "
                    f"{len(truth.reports.roster)} users, {truth.workload.requests:,} minimal "
                    f"requests ({time.perf_counter() - started:.1f}s)"
                )
            return self._found[scenario.name]


def say(text: str) -> None:
    """Print a progress line at once."""
    print(text, flush=True)


def run_clients(
    scenario: Scenario,
    clients: Sequence[Client],
    truth: Truth,
    args: argparse.Namespace,
    failures: list[str],
) -> list[Measurement]:
    """Measure each client on a fresh fake against the scenario's truth."""
    runs: list[Measurement] = []
    for client in clients:
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
        checks = m.estimate_checks()
        if checks:
            shares = "/".join(f"{share:.0%}".rstrip("%") for share, _, _ in checks)
            guessed = "/".join("?" if g is None else f"{g:.0f}" for _, _, g in checks)
            actual = "/".join(f"{left:.0f}" for _, left, _ in checks)
            say(
                f"[{scenario.name}] {client.label}: time left as the progress line "
                f"estimated it at {shares} % of the run: {guessed} s; actually {actual} s"
            )
        if (m.requests, m.throttled) != (m.fake_requests, m.fake_throttled):
            say(
                f"[{scenario.name}] {client.label}: the fake counted {m.fake_requests:,} "
                f"requests and {m.fake_throttled} throttled"
            )
        if profile is not None and profile.exists():
            say(f"[{scenario.name}] {client.label}: top costs (cProfile, tottime)")
            pstats.Stats(str(profile), stream=sys.stdout).sort_stats("tottime").print_stats(20)
    return runs


def _scenario_job(
    scenario: Scenario,
    client: Client,
    truths: Truths,
    args: argparse.Namespace,
    failures: list[str],
) -> Found:
    truth = truths.of(scenario)
    return Found(
        scenarios=[(scenario, truth)], runs=run_clients(scenario, [client], truth, args, failures)
    )


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
    """The chosen groups' jobs, in the order of their tables."""
    truths = Truths()
    found = [
        Job(s.group, s.name, c.label, partial(_scenario_job, s, c, truths, args, failures))
        for s in SCENARIOS
        if s.group in chosen
        for c in s.clients
    ]
    for group, run in BATCH_GROUPS.items():
        if group not in chosen:
            continue
        clients = BATCH_CLIENTS if run is run_batch else (("", ""),)
        for client in clients:
            one = partial(run_batch, clients=(client,)) if run is run_batch else run
            job = partial(_batch_job, group, one, args, failures)
            found.append(Job(group, group, client[0], job))
    if "history" in chosen:
        found.append(Job("history", "history", "", partial(_history_job, failures)))
    if "export-memory" in chosen:
        found.append(
            Job("export-memory", "export-memory", "", partial(_export_job, args, failures))
        )
    return found


def run_all(chosen: set[str], args: argparse.Namespace, failures: list[str]) -> Found:
    """Run the chosen groups' jobs (see the module's docstring); merge what they found."""
    planned = jobs(chosen, args, failures)
    background = sorted((job for job in planned if job.background), key=lambda j: j.rank)
    foreground = sorted((job for job in planned if not job.background), key=lambda j: j.rank)
    results: dict[int, Found] = {}
    paired = [job for job in foreground if (job.scenario, job.client) in SIDE_BY_SIDE]
    with ThreadPoolExecutor(max_workers=2) as pool:
        waiting = {id(job): pool.submit(job.run) for job in background}
        for job in foreground:
            if job not in paired:
                results[id(job)] = job.run()
        for job in background:
            results[id(job)] = waiting[id(job)].result()
        with ThreadPoolExecutor(max_workers=max(1, len(paired))) as side:
            pairs = {id(job): side.submit(job.run) for job in paired}
        results.update({key: future.result() for key, future in pairs.items()})
    merged = Found()
    for job in planned:
        part = results[id(job)]
        seen = {s.name for s, _ in merged.scenarios}
        merged.scenarios += [(s, t) for s, t in part.scenarios if s.name not in seen]
        merged.runs += part.runs
        merged.batch += part.batch
        merged.notes += [note for note in part.notes if note not in merged.notes]
        merged.history += part.history
        merged.export += part.export
    return merged
