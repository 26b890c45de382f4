"""``python -m benchmarks`` (``make bench``): run every group, print tables, write JSON.

``--docs`` then writes the tables into docs/performance.md and the README's headline
(see :mod:`benchmarks.docs`); ``--strict`` exits 1 when an acceptance point fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import export_memory, history
from .acceptance import Verdict, judge, judge_batch
from .batch import BATCH_GROUPS
from .docs import ROOT, DocsError, write_docs
from .jobs import run_all, say
from .provenance import code_state, describe
from .report import batch_table, explain, results_json, table, write_json
from .scenarios import GROUPS, Scenario
from .truth import Truth

#: Every group, in the order a full run takes them.
ALL_GROUPS = (*GROUPS, *BATCH_GROUPS, "history", "export-memory")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument(
        "--scenario",
        action="append",
        choices=ALL_GROUPS,
        help="run only these (repeatable); --docs needs them all",
    )
    p.add_argument("--out", type=Path, default=Path("bench-out"), help="results directory")
    p.add_argument("--keep-reports", action="store_true", help="keep each run's report files")
    p.add_argument(
        "--profile", action="store_true", help="cProfile the cpu runs and print the top costs"
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when an acceptance point fails")
    p.add_argument(
        "--docs",
        action="store_true",
        help="write the tables into docs/performance.md and the README (every group must run)",
    )
    args = p.parse_args(argv)
    if args.docs and args.scenario is not None and set(args.scenario) != set(ALL_GROUPS):
        p.error("--docs writes every group's tables from one run: leave out --scenario")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 1 if a run failed or its reports differ (--strict: any point fails)."""
    args = parse_args(argv)
    chosen = set(args.scenario or ALL_GROUPS)
    code = code_state(ROOT)  # before the run, so a later edit cannot be credited to it
    say(f"measuring {describe(code)}")
    started = time.perf_counter()
    failures: list[str] = []
    found = run_all(chosen, args, failures)
    done, runs, batch_runs, notes = found.scenarios, found.runs, found.batch, found.notes
    history_rows, export_runs = found.history, found.export
    total = time.perf_counter() - started
    single = [m.to_json() for m in runs]
    batch = [m.to_json() for m in batch_runs]
    verdicts = judge(runs) + judge_batch(batch_runs)
    verdicts += history.judge(history_rows) if history_rows else []
    verdicts += export_memory.judge(export_runs) if export_runs else []
    _print_tables(done, single, batch, notes, history_rows, export_runs)
    _print_acceptance(verdicts, failures)
    path = args.out / "results.json"
    data = results_json(done, runs, verdicts, failures, total)
    data["code"] = code
    data["finished_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    data["batch"] = {"runs": batch, "notes": notes}
    data["history"] = history_rows
    data["export_memory"] = export_runs
    write_json(path, data)
    say(f"\nbenchmark finished in {total:.0f}s; results in {path}")
    if args.docs:
        try:
            for written in write_docs(data):
                say(f"wrote the tables into {written}")
        except DocsError as exc:
            say(f"the docs were left as they were: {exc}")
            return 1
    if failures or any(m.reports_error for m in runs) or any(m.reports_error for m in batch_runs):
        return 1
    return 1 if args.strict and not all(v.passed for v in verdicts) else 0


def _print_tables(
    done: list[tuple[Scenario, Truth]],
    single: list[dict[str, Any]],
    batch: list[dict[str, Any]],
    notes: list[str],
    history_rows: list[dict[str, Any]],
    export_runs: list[dict[str, Any]],
) -> None:
    if single:
        say("")
        say(table(single))
        say("")
        say("Lower bounds: max(bucket, in-flight, chain) seconds")
        for scenario, truth in done:
            say(explain(scenario, truth))
    if batch:
        say("")
        say(batch_table(batch))
        say("")
        say("\n".join(notes))
    if history_rows:
        say("")
        say(history.table(history_rows))
    if export_runs:
        say("")
        say(export_memory.table(export_runs))


def _print_acceptance(verdicts: list[Verdict], failures: list[str]) -> None:
    say("")
    say("Acceptance")
    for v in verdicts:
        say(f"  {'PASS' if v.passed else 'FAIL'}  {v.name}: {v.measured} (required {v.required})")
    for failure in failures:
        say(f"  FAIL  {failure}")


if __name__ == "__main__":
    sys.exit(main())
