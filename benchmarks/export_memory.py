"""Memory while one large history export streams in: ``python -m benchmarks.export_memory``.

Two worlds alike but for their size (``bench-export-quarter`` and
``bench-export``: ten students, one month of heavy use) are harvested with
``--history only`` by the harvester in its own process, against the fake in
another. Each harvest reads one batch query's file, so the file is four times
larger in the second run; its peak RSS should not be. The reports are checked
against the ground truth's record count.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pageviews.testing import World, WorldSpec, expected_history_ids, expected_reports

from . import baseline
from .acceptance import Verdict, records_exact
from .fake import FakeSetup, running_fake
from .runs import RunFailed, run_harvester

NOW = datetime(2015, 4, 20, 12, tzinfo=UTC)
START, END = "2015-03-01", "2015-03-31"
PRESETS = ("bench-export-quarter", "bench-export")


@dataclass(frozen=True, slots=True)
class ExportRun:
    """One harvest of a world's month through history."""

    preset: str
    records: int
    expected: int
    file_rows: int  # rows of the export file, views of all contexts
    wall_seconds: float
    cpu_seconds: float
    max_rss_mb: float
    code: str = "shipped"  # or the baseline's label (benchmarks.baseline)


def truth(preset: str) -> tuple[int, int]:
    """Report records of the range and rows of its export file (all contexts)."""
    world = World.generate(WorldSpec.preset(preset))
    start = datetime(2015, 3, 1, tzinfo=UTC)
    end = datetime(2015, 3, 31, 23, 59, 59, tzinfo=UTC)
    want = expected_reports(world, 1693, start, end)
    rows = expected_history_ids(world, want.roster, date(2015, 3, 1), date(2015, 4, 1))
    return len(want.records), len(rows)


def measure(preset: str, work_dir: Path, *, old: bool = False) -> ExportRun:
    """Harvest ``preset``'s month through history and return the harvester's figures.

    ``old``: with the code before the structural step (benchmarks.baseline).
    """
    # Absolute: the baseline runs from its own tree, where a relative path means another place.
    run_dir = (work_dir / (f"{preset}-{baseline.BASELINE}" if old else preset)).resolve()
    cwd = baseline.tree(work_dir) if old else None
    if old and cwd is None:
        raise RunFailed(f"commit {baseline.BASELINE} is not in this copy's history")
    with running_fake(FakeSetup(preset, now=NOW, history=True), run_dir) as fake:
        command = [
            sys.executable, "-m", "benchmarks.harvester", "--mode", "pageviews",
            "--base-url", fake.base_url, "--token-file", str(fake.token_file),
            "--out-dir", str(run_dir / "reports"), "--start", START, "--end", END,
            "--history", "only", "--now", NOW.isoformat(), "--no-summary",
        ]  # fmt: skip
        line = run_harvester(command, run_dir, cwd)
    shutil.rmtree(run_dir / "reports", ignore_errors=True)
    expected, file_rows = truth(preset)
    return ExportRun(
        preset=preset,
        records=line["records"],
        expected=expected,
        file_rows=file_rows,
        wall_seconds=line["wall_seconds"],
        cpu_seconds=line["cpu_seconds"],
        max_rss_mb=line["max_rss_mb"],
        code=baseline.LABEL if old else "shipped",
    )


#: The larger file's peak RSS over the smaller's: memory must not grow with the file.
RSS_GROWTH = 0.10
#: The harvester's CPU per row of the larger file (parsing it, the same checks as a list
#: page, storing, the reports), in µs: the structural step's target. An absolute figure:
#: the export path has no floor measured beside it (the code before that step runs
#: beside it instead, benchmarks.baseline).
US_PER_FILE_ROW = 25.0


def table(runs: Sequence[Mapping[str, Any]]) -> str:
    """The runs (as ``asdict(ExportRun)``) as a table, with the growth of peak RSS."""
    lines = [
        f"{'world':<22} {'code':<17} {'file rows':>9} {'records':>9} {'exact':>5} "
        f"{'wall s':>7} {'cpu s':>6} {'us/row':>6} {'peak RSS':>9}"
    ]
    for run in runs:
        exact = "yes" if run["records"] == run["expected"] else "NO"
        lines.append(
            f"{run['preset']:<22} {run.get('code', 'shipped'):<17} {run['file_rows']:>9,} "
            f"{run['records']:>9,} {exact:>5} "
            f"{run['wall_seconds']:>7.1f} {run['cpu_seconds']:>6.1f} {us_per_file_row(run):>6.1f} "
            f"{run['max_rss_mb']:>6.0f} MB"
        )
    first, last = shipped(runs)[0], shipped(runs)[-1]
    lines.append(
        f"file rows x{last['file_rows'] / max(first['file_rows'], 1):.1f}, "
        f"peak RSS {last['max_rss_mb'] / first['max_rss_mb'] - 1:+.0%}"
    )
    return "\n".join(lines)


def shipped(runs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The runs of the shipped code, smaller file first."""
    return [r for r in runs if r.get("code", "shipped") == "shipped"]


def us_per_file_row(run: Mapping[str, Any]) -> float:
    """The harvester's CPU microseconds per row of the export file."""
    return 1e6 * float(run["cpu_seconds"]) / max(1, int(run["file_rows"]))


def judge(runs: Sequence[Mapping[str, Any]]) -> list[Verdict]:
    """Each harvest exact; the larger file's peak RSS within RSS_GROWTH of the smaller's,
    and its CPU per file row at most US_PER_FILE_ROW."""
    out = [
        records_exact(f"export-memory {r['preset']} ({r.get('code', 'shipped')})", r["records"],
                      r["expected"])
        for r in runs
    ]  # fmt: skip
    first, last = shipped(runs)[0], shipped(runs)[-1]
    cost = us_per_file_row(last)
    out.append(
        Verdict(
            f"export-memory {last['preset']}: harvester CPU per file row",
            f"{cost:.1f} us",
            f"<= {US_PER_FILE_ROW:.0f} us",
            cost <= US_PER_FILE_ROW,
        )
    )
    growth = last["max_rss_mb"] / first["max_rss_mb"] - 1
    out.append(
        Verdict(
            f"export-memory: peak RSS with a file x{last['file_rows'] / first['file_rows']:.0f}",
            f"{last['max_rss_mb']:.0f} MB vs {first['max_rss_mb']:.0f} MB ({growth:+.0%})",
            f"within {RSS_GROWTH:.0%}",
            abs(growth) <= RSS_GROWTH,
        )
    )
    return out


def run(out: Path, say: Callable[[str], None]) -> list[dict[str, Any]]:
    """The group as ``python -m benchmarks`` runs it, in ``out``."""
    shutil.rmtree(out / "export-memory", ignore_errors=True)
    runs = []
    for preset in PRESETS:
        say(f"[export-memory] {preset}: running ...")
        runs.append(asdict(measure(preset, out / "export-memory")))
    # The larger file again with the code before the structural step, beside it.
    say(f"[export-memory] {PRESETS[-1]} with {baseline.LABEL}: running ...")
    try:
        runs.append(asdict(measure(PRESETS[-1], out / "export-memory", old=True)))
    except RunFailed as exc:
        say(f"[export-memory] {baseline.LABEL}: left out: {exc}")
    return runs


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="pageviews-export-") as work:
        runs = run(Path(work), lambda _: None)
    print(table(runs), flush=True)
    for verdict in judge(runs):
        print(f"{'PASS' if verdict.passed else 'FAIL'}  {verdict.name}: {verdict.measured}")


if __name__ == "__main__":
    main()
