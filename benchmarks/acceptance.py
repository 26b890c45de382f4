"""The issue's acceptance criteria, judged from the measurements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .runs import Measurement

# "RSS at 1M ≈ RSS at 250k": within this share of the smaller world's peak.
RSS_TOLERANCE = 0.10


@dataclass(frozen=True, slots=True)
class Verdict:
    """One acceptance point: what was measured against what was required."""

    name: str
    measured: str
    required: str
    passed: bool


def _find(runs: Sequence[Measurement], scenario: str, client: str) -> Measurement | None:
    return next((m for m in runs if m.scenario == scenario and m.client == client), None)


def judge(runs: Sequence[Measurement]) -> list[Verdict]:
    """Every acceptance point whose runs are present."""
    verdicts = [
        Verdict(
            f"{m.scenario}/{m.client}: reports identical to ground truth",
            "exact" if m.reports_error is None else m.reports_error,
            "exact",
            m.reports_error is None,
        )
        for m in runs
    ]
    verdicts += _latency(runs) + _throttle(runs) + _cpu(runs)
    return verdicts


def _latency(runs: Sequence[Measurement]) -> list[Verdict]:
    pv, seq = _find(runs, "latency-bound", "pageviews"), _find(runs, "latency-bound", "sequential")
    out: list[Verdict] = []
    if pv is None:
        return out
    if seq is not None:
        speedup = seq.wall_seconds / pv.wall_seconds
        out.append(
            Verdict(
                "latency-bound: speed-up over sequential",
                f"{speedup:.1f}x",
                ">= 10x",
                speedup >= 10,
            )
        )
    statics = [m for m in runs if m.scenario == "latency-bound" and m.client.startswith("static")]
    if statics:
        best = min(statics, key=lambda m: m.wall_seconds)
        out.append(
            Verdict(
                "latency-bound: faster than the best static pool",
                f"{pv.wall_seconds:.2f}s vs {best.client} {best.wall_seconds:.2f}s",
                f"< {best.wall_seconds:.2f}s",
                pv.wall_seconds < best.wall_seconds,
            )
        )
    return out


def _throttle(runs: Sequence[Measurement]) -> list[Verdict]:
    pv = _find(runs, "throttle-bound", "pageviews")
    if pv is None:
        return []
    share = pv.throttled / max(1, pv.requests)
    return [
        Verdict(
            "throttle-bound: wall time within 1.15x of the lower bound",
            f"{pv.wall_seconds:.1f}s / {pv.bound_seconds:.1f}s = {pv.ratio:.3f}x",
            "<= 1.15x",
            pv.ratio <= 1.15,
        ),
        Verdict(
            "throttle-bound: throttled responses",
            f"{pv.throttled} of {pv.requests} ({share:.2%})",
            "<= 1%",
            share <= 0.01,
        ),
    ]


def _cpu(runs: Sequence[Measurement]) -> list[Verdict]:
    big, small = _find(runs, "cpu-1m", "pageviews"), _find(runs, "cpu-250k", "pageviews")
    out: list[Verdict] = []
    if big is not None:
        out += [
            Verdict(
                "cpu-1m: harvester CPU per record",
                f"{big.us_per_record:.2f} us",
                "<= 3 us",
                big.us_per_record <= 3.0,
            ),
            Verdict(
                "cpu-1m: peak RSS", f"{big.max_rss_mb:.0f} MB", "<= 100 MB", big.max_rss_mb <= 100
            ),
        ]
    if big is not None and small is not None:
        growth = big.max_rss_mb / small.max_rss_mb - 1
        out.append(
            Verdict(
                "cpu: peak RSS at 1M vs 250k records",
                f"{big.max_rss_mb:.0f} MB vs {small.max_rss_mb:.0f} MB ({growth:+.0%})",
                f"within {RSS_TOLERANCE:.0%}",
                abs(growth) <= RSS_TOLERANCE,
            )
        )
    return out
