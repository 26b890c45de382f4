"""``python -m benchmarks`` (``make bench``): run the scenarios, print a table, write JSON."""

from __future__ import annotations

import argparse
import pstats
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .acceptance import judge, judge_batch
from .batch import BATCH_GROUPS, BatchRun
from .fake import FakeError
from .report import batch_table, explain, results_json, table, write_json
from .runs import Measurement, RunFailed, measure
from .scenarios import GROUPS, SCENARIOS, Scenario
from .truth import Truth, scenario_truth


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument(
        "--scenario",
        action="append",
        choices=(*GROUPS, *BATCH_GROUPS),
        help="run only these (repeatable)",
    )
    p.add_argument("--out", type=Path, default=Path("bench-out"), help="results directory")
    p.add_argument("--keep-reports", action="store_true", help="keep each run's report files")
    p.add_argument(
        "--profile", action="store_true", help="cProfile the cpu runs and print the top costs"
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when an acceptance point fails")
    return p.parse_args(argv)


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
    return truth, runs


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 1 if a run failed or its reports differ (--strict: any point fails)."""
    args = parse_args(argv)
    started = time.perf_counter()
    chosen = [s for s in SCENARIOS if args.scenario is None or s.group in args.scenario]
    done: list[tuple[Scenario, Truth]] = []
    runs: list[Measurement] = []
    failures: list[str] = []
    for scenario in chosen:
        truth, measured = run_scenario(scenario, args, failures)
        done.append((scenario, truth))
        runs += measured
    batch_runs: list[BatchRun] = []
    notes: list[str] = []
    for group, run in BATCH_GROUPS.items():
        if args.scenario is not None and group not in args.scenario:
            continue
        try:
            found, explained = run(args.out, args.keep_reports, say)
        except (RunFailed, FakeError) as exc:
            failures.append(f"{group}: {exc}")
            say(f"[{group}] FAILED: {exc}")
            continue
        batch_runs += found
        notes += explained
    total = time.perf_counter() - started
    verdicts = judge(runs) + judge_batch(batch_runs)
    if runs:
        say("")
        say(table(runs))
        say("")
        say("Lower bounds: max(bucket, in-flight, chain) seconds")
        for scenario, truth in done:
            say(explain(scenario, truth))
    if batch_runs:
        say("")
        say(batch_table(batch_runs))
        say("")
        say("\n".join(notes))
    say("")
    say("Acceptance")
    for v in verdicts:
        say(f"  {'PASS' if v.passed else 'FAIL'}  {v.name}: {v.measured} (required {v.required})")
    for failure in failures:
        say(f"  FAIL  {failure}")
    path = args.out / "results.json"
    data = results_json(done, runs, verdicts, failures, total)
    data["batch"] = {"runs": [m.to_json() for m in batch_runs], "notes": notes}
    write_json(path, data)
    say(f"\nbenchmark finished in {total:.0f}s; results in {path}")
    if failures or any(m.reports_error for m in runs) or any(m.reports_error for m in batch_runs):
        return 1
    return 1 if args.strict and not all(v.passed for v in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
