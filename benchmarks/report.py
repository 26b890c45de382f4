"""Print the results table and the lower-bound explanations; write results.json."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from .acceptance import Verdict
from .bounds import bucket_headroom, bucket_in_flight_cap
from .runs import Measurement
from .scenarios import Scenario
from .truth import Truth

_COLUMNS = (
    ("scenario", "<"),
    ("client", "<"),
    ("wall s", ">"),
    ("bound s", ">"),
    ("binds", "<"),
    ("ratio", ">"),
    ("speed-up", ">"),
    ("requests", ">"),
    ("throttled", ">"),
    ("retries", ">"),
    ("peak", ">"),
    ("CPU s", ">"),
    ("us/rec", ">"),
    ("RSS MB", ">"),
    ("reports", "<"),
)


def _row(m: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> list[str]:
    speedup = f"{baseline['wall_seconds'] / m['wall_seconds']:.1f}x" if baseline else ""
    return [
        m["scenario"], m["client"], f"{m['wall_seconds']:.2f}", f"{m['bound_seconds']:.2f}",
        m["bound_term"], f"{m['ratio']:.2f}x", speedup, f"{m['requests']:,}",
        f"{m['throttled']:,}", f"{m['retries']:,}", str(m["peak_in_flight"]),
        f"{m['cpu_seconds']:.2f}", f"{m['us_per_record']:.2f}", f"{m['max_rss_mb']:.0f}",
        "exact" if m["reports_error"] is None else "DIFFER",
    ]  # fmt: skip


def table(runs: Sequence[Mapping[str, Any]]) -> str:
    """The runs (as ``Measurement.to_json`` gives them) as an aligned text table.

    Speed-up is against the scenario's sequential run.
    """
    rows = []
    for m in runs:
        base = next(
            (b for b in runs if b["scenario"] == m["scenario"] and b["client"] == "sequential"),
            None,
        )
        rows.append(_row(m, base))
    return _aligned(_COLUMNS, rows)


_BATCH_COLUMNS = (
    ("scenario", "<"),
    ("client", "<"),
    ("wall s", ">"),
    ("bound s", ">"),
    ("ratio", ">"),
    ("requests", ">"),
    ("page views", ">"),
    ("fewest", ">"),
    ("pv ratio", ">"),
    ("throttled", ">"),
    ("CPU s", ">"),
    ("us/rec", ">"),
    ("RSS MB", ">"),
    ("store MB/Mv", ">"),
    ("reports", "<"),
)


def batch_table(runs: Sequence[Mapping[str, Any]]) -> str:
    """The batch groups' runs (as ``BatchRun.to_json`` gives them): requests against the
    fewest, wall time, memory, store size."""
    rows = []
    for m in runs:
        store = m["store_mb_per_million_views"]
        rows.append(
            [
                m["scenario"], m["client"], f"{m['wall_seconds']:.2f}",
                f"{m['bound_seconds']:.2f}", f"{m['ratio']:.2f}x", f"{m['requests']:,}",
                f"{m['page_view_requests']:,}", f"{m['fewest_page_view_requests']:,}",
                f"{m['page_view_ratio']:.3f}x", f"{m['throttled']:,}",
                f"{m['cpu_seconds']:.2f}", f"{m['us_per_record']:.2f}",
                f"{m['max_rss_mb']:.0f}", "" if store is None else f"{store:.0f}",
                "exact" if m["reports_error"] is None else "DIFFER",
            ]
        )  # fmt: skip
    return _aligned(_BATCH_COLUMNS, rows)


def _aligned(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[str]]) -> str:
    heads = [name for name, _ in columns]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            f"{cell:{align}{width}}"
            for cell, (_, align), width in zip(cells, columns, widths, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(heads), rule, *(line(r) for r in rows)])


def explain(scenario: Scenario, truth: Truth) -> str:
    """How the scenario's lower bound is computed, with its numbers."""
    w, fake = truth.workload, scenario.fake
    ms = fake.latency * 1000
    lines = [
        f"{scenario.name}: {scenario.summary}",
        f"  minimal requests {w.requests:,} = users/self + course + {w.enrollment_pages} "
        f"enrollment pages + {w.page_view_pages:,} page-view pages "
        f"(per user ceil(views/100) + the empty page pv4 ends on; "
        f"{w.views_in_range:,} views in range, every context)",
        f"  in-flight term = {w.requests:,} x {ms:.0f} ms / in-flight cap (the client's "
        "concurrency; with the throttle also the bucket's)",
        f"  chain term = {ms:.0f} ms x {w.unsplittable_chain} requests in series when users are "
        f"split (roster pages, then a data page and the empty page), {w.user_chain} when not "
        "(roster pages, then the heaviest user's every page)",
    ]
    t = fake.throttle
    if t is None:
        lines.append("  bucket term = 0 (throttle off)")
    else:
        cost = w.cost(t)
        lines += [
            f"  cost model: {t.cost_base} + {t.cost_per_item} x records per request; total cost "
            f"{cost:,.1f} = {w.requests:,} x {t.cost_base} + {w.items:,} x {t.cost_per_item}",
            f"  bucket term = ({cost:,.1f} - (hwm {t.hwm:.0f} - up-front {t.up_front_cost:.0f}"
            f" + {t.cost(0):g})) / outflow {t.outflow:.0f}/s = "
            f"{max(0.0, cost - bucket_headroom(t)) / t.outflow:.1f} s (the bucket may fill from "
            "empty to just below hwm, and the last request, at least an empty page, still "
            "needs room for its up-front charge; the rest must leak out during the run)",
            f"  bucket in-flight cap = {bucket_in_flight_cap(t)} "
            f"(n x up-front {t.up_front_cost:.0f} must stay below hwm {t.hwm:.0f})",
        ]
    if fake.latency == 0:
        lines.append(
            "  with zero latency every term is ~0, so the bound is the fake's own CPU time in "
            "the run: the single-threaded server cannot answer faster than it computes"
        )
    return "\n".join(lines)


def results_json(
    scenarios: Sequence[tuple[Scenario, Truth]],
    runs: Sequence[Measurement],
    verdicts: Sequence[Verdict],
    failures: Sequence[str],
    total_seconds: float,
) -> dict[str, Any]:
    """Everything measured, as plain JSON data."""
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "total_seconds": total_seconds,
        "scenarios": [
            {
                "name": s.name,
                "summary": s.summary,
                "preset": s.fake.preset,
                "latency": s.fake.latency,
                "throttle": None
                if s.fake.throttle is None
                else {
                    k: getattr(s.fake.throttle, k)
                    for k in (
                        "maximum",
                        "hwm",
                        "outflow",
                        "up_front_cost",
                        "cost_base",
                        "cost_per_item",
                    )
                },
                "enrollment_states": s.enrollment_states,
                "workload": {
                    **asdict(t.workload),
                    "records": len(t.reports.records),
                    "roster": len(t.reports.roster),
                },
                "lower_bound": explain(s, t).splitlines(),
                "runs": [m.to_json() for m in runs if m.scenario == s.name],
            }
            for s, t in scenarios
        ],
        "acceptance": [
            {"name": v.name, "measured": v.measured, "required": v.required, "passed": v.passed}
            for v in verdicts
        ],
        "failures": list(failures),
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` as indented JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
