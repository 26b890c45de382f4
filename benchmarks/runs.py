"""Measure one client against a fresh fake: start both processes, collect, verify."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from . import baseline
from .bounds import Bound, bucket_headroom, bucket_in_flight_cap, lower_bound
from .bucket import BucketAccount, account, replay_costs
from .fake import running_fake
from .scenarios import COURSE_ID, RANGE_END, RANGE_START, Client, Scenario
from .truth import Truth, check_reports

#: A single harvest taking longer than this is reported as failed, not waited for.
RUN_TIMEOUT = 600.0


class RunFailed(RuntimeError):
    """A harvester exited with an error or ran past the timeout."""


@dataclass(frozen=True, slots=True)
class Measurement:
    """What one run measured, on the client's side and the fake's."""

    scenario: str
    client: str
    wall_seconds: float
    records: int
    users: int
    requests: int
    throttled: int
    retries: int
    peak_in_flight: int
    cpu_seconds: float
    max_rss_mb: float  # VmHWM: see benchmarks.harvester.peak_rss_mb
    ru_maxrss_mb: float
    fake_requests: int
    fake_throttled: int
    fake_cpu_seconds: float
    bound: Bound
    bucket: BucketAccount | None  # throttle-bound runs only
    reports_error: str | None
    #: The progress estimate of the time left, sampled: (elapsed, actually left, estimated).
    estimates: list[tuple[float, float, float | None]] = field(default_factory=list)

    def estimate_checks(self) -> list[tuple[float, float, float | None]]:
        """(share of the run, seconds actually left, seconds estimated) at 25, 50 and 75 %."""
        if not self.estimates:
            return []
        total = self.estimates[0][0] + self.estimates[0][1]
        checks = []
        for share in (0.25, 0.5, 0.75):
            _, left, guess = min(self.estimates, key=lambda e: abs(e[0] - share * total))
            checks.append((share, left, guess))
        return checks

    @property
    def us_per_record(self) -> float:
        """Harvester CPU microseconds per report record."""
        return 1e6 * self.cpu_seconds / max(1, self.records)

    @property
    def bound_seconds(self) -> float:
        """The scenario's lower bound for this client (see ``bounds.lower_bound``)."""
        return max(self.bound.seconds, self.fake_cpu_seconds)

    @property
    def bound_term(self) -> str:
        """Which term binds; "fake CPU" when the server's own work does."""
        return "fake CPU" if self.fake_cpu_seconds > self.bound.seconds else self.bound.binding

    @property
    def ratio(self) -> float:
        """Wall time over the lower bound."""
        return self.wall_seconds / self.bound_seconds if self.bound_seconds > 0 else float("inf")

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data, derived figures included."""
        data = asdict(self)
        data.update(
            us_per_record=self.us_per_record,
            bound_seconds=self.bound_seconds,
            bound_term=self.bound_term,
            ratio=self.ratio,
            reports_exact=self.reports_error is None,
        )
        return data


def client_bound(scenario: Scenario, client: Client, truth: Truth) -> Bound:
    """The lower bound of ``truth``'s workload for this client's concurrency and splitting."""
    work, fake = truth.workload, scenario.fake
    chain = work.unsplittable_chain if client.splits_users else work.user_chain
    throttle = fake.throttle
    if throttle is None:
        return lower_bound(
            requests=work.requests,
            latency=fake.latency,
            in_flight_cap=client.in_flight_cap,
            chain=chain,
        )
    return lower_bound(
        requests=work.requests,
        latency=fake.latency,
        in_flight_cap=min(client.in_flight_cap, bucket_in_flight_cap(throttle)),
        chain=chain,
        total_cost=work.cost(throttle),
        headroom=bucket_headroom(throttle),
        outflow=throttle.outflow,
    )


def harvester_command(
    scenario: Scenario, client: Client, base_url: str, token: Path, out_dir: Path
) -> list[str]:
    """``python -m benchmarks.harvester`` for this client."""
    command = [
        sys.executable, "-m", "benchmarks.harvester", "--mode", client.mode,
        "--base-url", base_url, "--token-file", str(token), "--out-dir", str(out_dir),
        "--course", str(COURSE_ID), "--start", RANGE_START, "--end", RANGE_END,
    ]  # fmt: skip
    if client.concurrency is not None:
        command += ["--concurrency", str(client.concurrency)]
    for state in scenario.enrollment_states or ():
        command += ["--state", state]
    return command


def run_harvester(command: list[str], run_dir: Path, cwd: Path | None = None) -> dict[str, Any]:
    """Run one harvester process and return its JSON line; RunFailed if it fails.

    ``cwd``: a source tree whose ``benchmarks`` and ``pageviews`` the run imports (the
    baseline's); by default the shipped code.
    """
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False, cwd=cwd
        )
    except subprocess.TimeoutExpired:
        raise RunFailed(f"no result after {RUN_TIMEOUT:.0f}s") from None
    if done.returncode != 0:
        log = run_dir / "harvester.log"
        log.write_text(done.stderr)
        last = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RunFailed(f"exit status {done.returncode}: {last[0]} (see {log})")
    line: dict[str, Any] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return line


def measure(
    scenario: Scenario,
    client: Client,
    truth: Truth,
    work_dir: Path,
    *,
    keep_reports: bool = False,
    profile: Path | None = None,
) -> Measurement:
    """Run ``client`` against a fresh fake and check its reports against the truth."""
    # Absolute: the baseline runs from its own tree, where a relative path means another place.
    run_dir = (work_dir / scenario.name / client.label).resolve()
    shutil.rmtree(run_dir, ignore_errors=True)
    out_dir = run_dir / "reports"
    with running_fake(scenario.fake, run_dir) as fake:
        command = harvester_command(scenario, client, fake.base_url, fake.token_file, out_dir)
        if profile is not None:
            command += ["--profile", str(profile)]
        fake_cpu_before = fake.cpu_seconds()
        cwd = None
        if client.baseline:
            cwd = baseline.tree(work_dir)
            if cwd is None:
                raise RunFailed(f"commit {baseline.BASELINE} is not in this copy's history")
        line = run_harvester(command, run_dir, cwd)
        fake_cpu = fake.cpu_seconds() - fake_cpu_before
        stats = fake.stats()
        bucket = None
        throttle = scenario.fake.throttle
        if throttle is not None:
            requests = fake.requests_log()
            costs = replay_costs(truth.world, throttle, requests)
            bucket = account(requests, costs, throttle, truth.workload.cost(throttle))
    error = check_reports(client.mode, out_dir, truth)
    if error is None and not keep_reports:
        shutil.rmtree(out_dir, ignore_errors=True)  # the 1M-record reports are large
    return Measurement(
        scenario=scenario.name,
        client=client.label,
        wall_seconds=line["wall_seconds"],
        records=line["records"],
        users=line["users"],
        requests=line["requests"],
        throttled=line["throttled"],
        retries=line["retries"],
        peak_in_flight=line["peak_in_flight"],
        cpu_seconds=line["cpu_seconds"],
        max_rss_mb=line["max_rss_mb"],
        ru_maxrss_mb=line["ru_maxrss_mb"],
        fake_requests=stats["requests"],
        fake_throttled=stats["throttled"],
        fake_cpu_seconds=fake_cpu,
        bound=client_bound(scenario, client, truth),
        bucket=bucket,
        reports_error=error,
        estimates=[tuple(e) for e in line.get("estimates", [])],
    )
