"""Write one benchmark run's figures into docs/performance.md and the README's headline.

Everything between a pair of markers, ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``,
is generated from one ``results.json`` of a run of every group, naming the commit
it measured; the prose around the markers is left alone. ``make bench`` writes
them; ``python -m benchmarks.docs`` writes them again from an existing results file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from . import export_memory, history
from .provenance import describe
from .report import batch_table, table

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
README = ROOT / "README.md"


class DocsError(ValueError):
    """The results cannot be written: a group is missing, or a marker is."""


def _fenced(text: str) -> str:
    return f"```\n{text}\n```"


def _scenarios(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    scenarios: list[Mapping[str, Any]] = data.get("scenarios") or []
    return scenarios


def _runs(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [run for s in _scenarios(data) for run in s["runs"]]


def _batch(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    runs: list[Mapping[str, Any]] = (data.get("batch") or {}).get("runs") or []
    return runs


def check_complete(data: Mapping[str, Any]) -> None:
    """Raise DocsError unless ``data`` holds every group of one run."""
    # Imported here: the scenario lists import the fake's worlds, which a reader of a
    # results file does not otherwise need.
    from .batch import BATCH_GROUPS
    from .scenarios import SCENARIOS

    have = {s["name"] for s in _scenarios(data) if s["runs"]}
    have |= {run["scenario"] for run in _batch(data)}
    have |= {"history"} if data.get("history") else set()
    have |= {"export-memory"} if data.get("export_memory") else set()
    want = [s.name for s in SCENARIOS] + [*BATCH_GROUPS, "history", "export-memory"]
    missing = [name for name in want if name not in have]
    if missing:
        raise DocsError(
            f"the results lack {', '.join(missing)}: the docs take every group from one run "
            "(make bench, or python -m benchmarks --docs without --scenario)"
        )


def run_line(data: Mapping[str, Any]) -> str:
    """Which code, machine and day the figures come from."""
    machine = data.get("machine") or {}
    minutes, seconds = divmod(round(data.get("total_seconds") or 0), 60)
    finished = data.get("finished_at", "at an unknown time")
    return (
        f"Every figure between the markers below comes from one `make bench` run of "
        f"{describe(data.get('code') or {})}, finished {finished}"
        f" on {machine.get('cpus', '?')} CPUs with Python {machine.get('python', '?')}; the "
        f"whole run took {minutes} min {seconds:02d} s. They are written by the run itself "
        "(`benchmarks/docs.py`); do not edit them by hand."
    )


def sections(data: Mapping[str, Any]) -> dict[str, str]:
    """The generated blocks of docs/performance.md, by marker name."""
    lower = "\n".join(
        ["Lower bounds: max(bucket, in-flight, chain) seconds"]
        + [line for s in _scenarios(data) for line in s["lower_bound"]]
    )
    notes = "\n".join((data.get("batch") or {}).get("notes") or [])
    verdicts = [
        f"{'PASS' if v['passed'] else 'FAIL'}  {v['name']}: {v['measured']} "
        f"(required {v['required']})"
        for v in data.get("acceptance") or []
    ] + [f"FAIL  {failure}" for failure in data.get("failures") or []]
    return {
        "run": run_line(data),
        "single": _fenced(table(_runs(data)) + "\n\n" + lower),
        "batch": _fenced(batch_table(_batch(data)) + "\n\n" + notes),
        "history": _fenced(history.table(data["history"])),
        "export-memory": _fenced(export_memory.table(data["export_memory"])),
        "acceptance": _fenced("\n".join(verdicts)),
    }


def _find(runs: Sequence[Mapping[str, Any]], scenario: str, client: str) -> Mapping[str, Any]:
    for run in runs:
        if run["scenario"] == scenario and run["client"] == client:
            return run
    raise DocsError(f"the results lack {scenario}/{client}")


def headline(data: Mapping[str, Any]) -> str:
    """The README's few figures, from the same run."""
    runs, batch = _runs(data), _batch(data)
    seq = _find(runs, "latency-bound", "sequential")
    fast = _find(runs, "latency-bound", "pageviews")
    throttled = _find(runs, "throttle-bound", "pageviews")
    large = _find(batch, "batch-large", "batch")
    small = _find(batch, "batch", "batch")
    users = next(s["workload"]["roster"] for s in _scenarios(data) if s["name"] == "latency-bound")
    commit = (data.get("code") or {}).get("commit") or "unknown"
    return (
        f"On the simulated Canvas (`make bench`, commit {commit}): a {users}-user course "
        f"{seq['wall_seconds'] / fast['wall_seconds']:.1f} times faster than one request at a "
        f"time; under Canvas's throttle {throttled['ratio']:.2f} times the least time its bucket "
        f"allows, with {throttled['throttled']} of {throttled['requests']:,} requests refused; "
        f"a batch reads each user once ({small['page_view_ratio']:.3f} times the fewest "
        f"page-view requests); {large['courses']} courses and "
        f"{large['stored_views'] / 1e6:.2f}M stored page views of {large['users']:,} users in "
        f"{large['max_rss_mb']:.0f} MB peak memory, against {small['max_rss_mb']:.0f} MB for "
        f"{small['users']} users. Reports are checked against the ground truth in every run."
    )


def splice(text: str, blocks: Mapping[str, str], where: str) -> str:
    """Replace what each pair of markers holds in ``text`` by ``blocks[name]``."""
    for name, block in blocks.items():
        begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
        if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
            raise DocsError(f"{where} needs one {begin} ... {end} pair")
        head, rest = text.split(begin)
        _, tail = rest.split(end)
        text = f"{head}{begin}\n{block}\n{end}{tail}"
    return text


def write_docs(data: Mapping[str, Any], doc: Path = DOC, readme: Path = README) -> list[Path]:
    """Write the run's blocks into ``doc`` and its headline into ``readme``."""
    check_complete(data)
    written = []
    for path, blocks in ((doc, sections(data)), (readme, {"headline": headline(data)})):
        text = path.read_text(encoding="utf-8")
        new = splice(text, blocks, path.name)
        if new != text:
            path.write_text(new, encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Write the docs from an existing results file."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.docs", description=__doc__)
    p.add_argument("results", type=Path, nargs="?", default=Path("bench-out/results.json"))
    args = p.parse_args(argv)
    try:
        data = orjson.loads(args.results.read_bytes())
        for path in write_docs(data):
            print(f"wrote the tables of {args.results} into {path}")
    except (OSError, orjson.JSONDecodeError, DocsError) as exc:
        print(f"python -m benchmarks.docs: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
