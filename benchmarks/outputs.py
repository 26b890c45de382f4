"""What the analyst outputs cost: the cpu-1m harvest with and without summary and Parquet.

``python -m benchmarks.outputs [--runs N]`` starts the bench-cpu fake once, then
harvests its ~1M records as the seed does (CSV and JSON, no summary) and with
the summary HTML and Parquet added, in alternating order, and prints the median
CPU of each (the harvester's own, as ``make bench`` counts it) and the overhead.
Acceptance (issue 11): at most 20 %.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import orjson

from pageviews.testing import ENROLLMENT_STATES

from .fake import FakeSetup, running_fake
from .scenarios import COURSE_ID, RANGE_END, RANGE_START

VARIANTS = {
    "seed formats, no summary": ["--format", "csv,json", "--no-summary"],
    "+ summary and Parquet": ["--format", "csv,json,parquet"],
}
LIMIT = 0.20


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print; exit 1 when the overhead is above the limit."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.outputs", description=__doc__)
    p.add_argument("--runs", type=int, default=2, help="harvests per variant (default 2)")
    p.add_argument("--preset", default="bench-cpu")
    args = p.parse_args(argv)
    cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with (
        tempfile.TemporaryDirectory(prefix="pageviews-outputs-") as work,
        running_fake(FakeSetup(args.preset), Path(work) / "fake") as fake,
    ):
        for run in range(args.runs):
            # Alternate which variant goes first, so warm-up favours neither.
            order = list(VARIANTS.items())
            for name, flags in order if run % 2 == 0 else order[::-1]:
                out = Path(work) / f"out-{run}-{len(cpu[name])}-{flags[1]}"
                command = [
                        sys.executable, "-m", "benchmarks.harvester", "--mode", "pageviews",
                        "--base-url", fake.base_url, "--token-file", str(fake.token_file),
                        "--out-dir", str(out), "--course", str(COURSE_ID),
                        "--start", RANGE_START, "--end", RANGE_END, *flags,
                    ]  # fmt: skip
                for state in ENROLLMENT_STATES:
                    command += ["--state", state]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                line = orjson.loads(done.stdout.strip().splitlines()[-1])
                cpu[name].append(line["cpu_seconds"])
                print(f"{name}: {line['records']:,} records, {line['cpu_seconds']:.2f}s CPU")
    base, full = (statistics.median(cpu[name]) for name in VARIANTS)
    overhead = full / base - 1
    print(f"median CPU {base:.2f}s -> {full:.2f}s: +{100 * overhead:.1f}% (limit {LIMIT:.0%})")
    return 0 if overhead <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
