"""The batch benchmarks: many courses in one run, two incremental nights, 200 courses at once.

Every harvester runs in a process of its own against a fresh fake (``--now``
and late views where a night needs them), and every course's reports are
checked against the ground truth. Page-view requests are counted from the
fake's request log and set against the fewest any correct client needs.
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from pageviews.canvas.client import DEFAULT_CONCURRENCY
from pageviews.testing import (
    ExpectedReports,
    LateViews,
    ThrottleConfig,
    World,
    WorldSpec,
    batch_roster,
    expected_reports,
    fewest_page_view_requests,
)
from pageviews.testing.report_files import assert_reports_exact
from pageviews.testing.timeparse import epoch_us

from .bounds import (
    Bound,
    Workload,
    batch_workload,
    bucket_headroom,
    bucket_in_flight_cap,
    lower_bound,
    user_pages,
)
from .bucket import BucketAccount, account, replay_costs
from .fake import FakeSetup, RunningFake, running_fake
from .runs import run_harvester
from .scenarios import END, RANGE_END, RANGE_START, START

# Canvas's source defaults (as the throttle-bound scenario) with a cost model that
# makes the bucket bind for the small batch world: mostly a fixed cost per request
# (Canvas's cost is the request's CPU and database time), so the fewest requests
# cost about 1,630 units and the bucket alone holds the batch to about 100 s. One
# request at a time costs at most the outflow (2.0 units a full page every 0.2 s),
# so a client keeps to the bucket by choosing how many requests are in flight.
BATCH_THROTTLE = ThrottleConfig(cost_base=1.8, cost_per_item=0.002)
BATCH_LATENCY = 0.2
# Two runs a day apart. Most views may show up to 50 minutes late (docs/canvas.md#late-views says
# minutes; this is harsher but inside the harvester's one-hour overlap), and the
# first clock follows a busy stretch, so night 1 misses views that night 2 must add.
NIGHT_1 = datetime(2015, 3, 10, 12, 45, tzinfo=UTC)
NIGHT_2 = NIGHT_1 + timedelta(days=1)
LATE = LateViews(share=0.8, max_delay=3000.0)
OVERLAP = timedelta(hours=1)  # BatchOptions' default, which the harvester keeps
_SECOND = timedelta(seconds=1)

Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class BatchRun:
    """What one batch-group run measured."""

    scenario: str
    client: str
    courses: int
    wall_seconds: float
    records: int
    users: int
    requests: int
    page_view_requests: int
    fewest_page_view_requests: int
    throttled: int
    retries: int
    peak_in_flight: int
    cpu_seconds: float
    max_rss_mb: float
    fake_cpu_seconds: float
    stored_views: int | None
    store_bytes: int | None
    bound: Bound | None
    bucket: BucketAccount | None
    reports_error: str | None

    @property
    def bound_seconds(self) -> float:
        """The bound, or the fake's own CPU where that is larger (zero latency)."""
        return max(self.bound.seconds if self.bound else 0.0, self.fake_cpu_seconds)

    @property
    def ratio(self) -> float:
        """Wall time over the lower bound."""
        return self.wall_seconds / self.bound_seconds if self.bound_seconds else float("inf")

    @property
    def page_view_ratio(self) -> float:
        """Page-view requests over the fewest any correct client needs."""
        return self.page_view_requests / max(1, self.fewest_page_view_requests)

    @property
    def us_per_record(self) -> float:
        """Harvester CPU microseconds per report record."""
        return 1e6 * self.cpu_seconds / max(1, self.records)

    @property
    def store_mb_per_million_views(self) -> float | None:
        """The store's size per million views held."""
        if not self.store_bytes or not self.stored_views:
            return None
        return self.store_bytes / 2**20 / (self.stored_views / 1e6)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data, derived figures included."""
        data = asdict(self)
        data.update(
            bound_seconds=self.bound_seconds,
            ratio=self.ratio,
            page_view_ratio=self.page_view_ratio,
            us_per_record=self.us_per_record,
            store_mb_per_million_views=self.store_mb_per_million_views,
            reports_exact=self.reports_error is None,
        )
        return data


def harvester_command(
    fake: RunningFake,
    mode: str,
    courses: Sequence[int],
    out_dir: Path,
    *,
    now: datetime | None = None,
    state: Path | str | None = None,
    incremental: bool = False,
) -> list[str]:
    """``python -m benchmarks.harvester`` over ``courses`` as one batch or one at a time."""
    command = [
        sys.executable, "-m", "benchmarks.harvester", "--mode", mode,
        "--base-url", fake.base_url, "--token-file", str(fake.token_file),
        "--out-dir", str(out_dir), "--courses", ",".join(map(str, courses)),
        "--start", RANGE_START, "--end", RANGE_END,
    ]  # fmt: skip
    if now is not None:
        command += ["--now", now.isoformat()]
    if state is not None:
        command += ["--state-path", str(state)]
    if incremental:
        command.append("--incremental")
    return command


def check_courses(
    out_dir: Path, courses: Sequence[int], truth: Callable[[int], ExpectedReports]
) -> str | None:
    """Compare every course's reports with its truth; return the first difference."""
    for course in courses:
        try:
            assert_reports_exact(out_dir / str(course), truth(course), course, START, END)
        except (AssertionError, OSError, KeyError, ValueError) as exc:
            return f"course {course}: {exc or type(exc).__name__}"
    return None


def visible_reports(
    world: World, course: int, now: datetime, late: LateViews | None
) -> ExpectedReports:
    """The reports of a run at ``now`` (its range pinned there): late views not yet shown."""
    full = expected_reports(world, course, START, now - _SECOND)
    if late is None:
        return full
    hidden = unseen_views(world, full.roster, now, late)
    rows = [r for r in full.records if r.id not in hidden]
    per_user = Counter((r.user_id, r.url) for r in rows)
    return replace(
        full,
        records=rows,
        totals=sorted(Counter(r.url for r in rows).items(), key=lambda t: (-t[1], t[0])),
        user_totals=sorted(
            ((u, url, n) for (u, url), n in per_user.items()), key=lambda t: (t[0], -t[2], t[1])
        ),
    )


def unseen_views(world: World, users: Sequence[int], now: datetime, late: LateViews) -> set[str]:
    """Ids of views made before ``now`` that the fake does not show yet
    (docs/canvas.md#late-views)."""
    now_ms = epoch_us(now) // 1000
    hidden = set()
    for user in users:
        views = world.views(user)
        lo, hi = views.window((now_ms - int(late.max_delay * 1000) - 1) * 1000, epoch_us(now))
        for i in range(lo, hi):
            if views.ms[i] + late.delay_ms(views.ids[i]) > now_ms:
                hidden.add(views.ids[i])
    return hidden


def fewest_visible(world: World, users: Sequence[int], start: datetime, now: datetime) -> int:
    """``fewest_page_view_requests`` over ``[start, now)`` counting only views shown at ``now``."""
    hidden = unseen_views(world, users, now, LATE)
    total = 0
    for user in users:
        views = world.views(user)
        lo, hi = views.window(epoch_us(start), epoch_us(now))
        shown = sum(1 for i in range(lo, hi) if views.ids[i] not in hidden)
        total += user_pages(shown)
    return total


def _measure(
    scenario: str,
    client: str,
    courses: int,
    setup: FakeSetup,
    run_dir: Path,
    command: Callable[[RunningFake], list[str]],
    fewest: int,
    bound: Bound | None,
    replay: Callable[[list[dict[str, Any]]], BucketAccount] | None = None,
) -> tuple[BatchRun, Path, int]:
    """Run one harvester against a fresh fake; return the run, its reports and the port.

    The reports are checked by the caller.
    """
    with running_fake(setup, run_dir) as fake:
        fake_cpu = fake.cpu_seconds()
        line = run_harvester(command(fake), run_dir)
        fake_cpu = fake.cpu_seconds() - fake_cpu
        log = fake.requests_log()
        port = int(fake.base_url.rsplit(":", 1)[1])
    run = BatchRun(
        scenario=scenario,
        client=client,
        courses=courses,
        wall_seconds=line["wall_seconds"],
        records=line["records"],
        users=line["users"],
        requests=line["requests"],
        page_view_requests=sum(1 for r in log if r["user_id"] is not None),
        fewest_page_view_requests=fewest,
        throttled=line["throttled"],
        retries=line["retries"],
        peak_in_flight=line["peak_in_flight"],
        cpu_seconds=line["cpu_seconds"],
        max_rss_mb=line["max_rss_mb"],
        fake_cpu_seconds=fake_cpu,
        stored_views=line.get("stored_views"),
        store_bytes=line.get("store_bytes"),
        bound=bound,
        bucket=None if replay is None else replay(log),
        reports_error=None,
    )
    return run, run_dir / "reports", port


def _checked(run: BatchRun, error: str | None, reports: Path, keep: bool) -> BatchRun:
    if error is None and not keep:
        shutil.rmtree(reports, ignore_errors=True)  # the 200-course reports are large
    return replace(run, reports_error=error)


#: The batch group's clients: (label, harvester mode).
BATCH_CLIENTS = (("batch", "batch"), ("one-at-a-time", "loop"))


def run_batch(
    out: Path, keep: bool, say: Say, clients: Sequence[tuple[str, str]] = BATCH_CLIENTS
) -> tuple[list[BatchRun], list[str]]:
    """The batch preset's courses as one batch, then one course at a time: throttle-bound."""
    world = World.generate(WorldSpec.preset("batch"))
    courses = world.course_ids
    roster = batch_roster(world, courses)
    fewest = fewest_page_view_requests(world, roster, START, END)
    work = batch_workload(world, courses, roster, START, END)
    t = BATCH_THROTTLE
    bound = lower_bound(
        requests=work.requests,
        latency=BATCH_LATENCY,
        in_flight_cap=min(DEFAULT_CONCURRENCY, bucket_in_flight_cap(t)),
        chain=work.unsplittable_chain,
        total_cost=work.cost(t),
        headroom=bucket_headroom(t),
        outflow=t.outflow,
    )
    setup = FakeSetup("batch", latency=BATCH_LATENCY, throttle=t)
    say(
        f"[batch] {len(courses)} courses, {len(roster)} distinct users, fewest page-view "
        f"requests {fewest:,}, bound {bound.seconds:.1f}s"
    )
    truths: dict[int, ExpectedReports] = {}

    def truth(course: int) -> ExpectedReports:
        if course not in truths:
            truths[course] = expected_reports(world, course, START, END)
        return truths[course]

    def replay(log: list[dict[str, Any]]) -> BucketAccount:
        return account(log, replay_costs(world, t, log), t, work.cost(t))

    runs = []
    for client, mode in clients:
        run_dir = out / "batch" / client
        shutil.rmtree(run_dir, ignore_errors=True)
        say(f"[batch] {client}: running ...")
        run, reports, _ = _measure(
            "batch",
            client,
            len(courses),
            setup,
            run_dir,
            partial(harvester_command, mode=mode, courses=courses, out_dir=run_dir / "reports"),
            fewest,
            bound,
            replay,
        )
        run = _checked(run, check_courses(reports, courses, truth), reports, keep)
        say(_progress(run))
        runs.append(run)
    return runs, [explain_batch(work, fewest, len(courses), len(roster))]


def run_incremental(out: Path, keep: bool, say: Say) -> tuple[list[BatchRun], list[str]]:
    """Night 1 (full), night 2 incremental on the same store, and a full run at night 2."""
    world = World.generate(WorldSpec.preset("batch"))
    courses = world.course_ids
    roster = batch_roster(world, courses)
    base = out / "incremental"
    shutil.rmtree(base, ignore_errors=True)
    state = base / "store" / "pageviews-state.sqlite"
    nights = (
        ("night 1", NIGHT_1, state, START),
        ("night 2", NIGHT_2, state, NIGHT_1 - OVERLAP),
        ("full at night 2", NIGHT_2, None, START),
    )
    runs: list[BatchRun] = []
    port = 0
    for client, now, store, reread_from in nights:
        setup = FakeSetup(
            "batch", now=now, late_share=LATE.share, late_max_delay=LATE.max_delay, port=port
        )
        fewest = fewest_visible(world, roster, reread_from, now)
        run_dir = base / client.replace(" ", "-")
        say(f"[incremental] {client}: running ...")
        run, reports, port = _measure(
            "incremental",
            client,
            len(courses),
            setup,
            run_dir,
            partial(
                harvester_command,
                mode="batch",
                courses=courses,
                out_dir=run_dir / "reports",
                now=now,
                state=store,
                incremental=store is not None,
            ),
            fewest,
            None,
        )
        error = check_courses(reports, courses, partial(visible_reports, world, now=now, late=LATE))
        run = _checked(run, error, reports, keep)
        say(_progress(run))
        runs.append(run)
    late = unseen_views(world, roster, NIGHT_1, LATE)
    notes = [
        "incremental: the batch world at two clocks a day apart "
        f"({NIGHT_1:%Y-%m-%d %H:%M} and {NIGHT_2:%Y-%m-%d %H:%M} UTC), {LATE.share:.0%} of "
        f"views up to {LATE.max_delay / 60:.0f} minutes late; {len(late)} views made before "
        "night 1 were not yet visible to it",
        "  fewest page-view requests of night 2 = per user ceil(views in "
        f"[night 1 - {OVERLAP}, night 2) / 100) + 1: one request per user, the pages its "
        "new views fill (the overlap re-read included), the empty page that ends each chain",
    ]
    return runs, notes


def run_large(
    out: Path,
    keep: bool,
    say: Say,
    *,
    scenario: str = "batch-large",
    state: str | None = None,
    preset: str = "batch-large",
) -> tuple[list[BatchRun], list[str]]:
    """200 courses, ~20,000 users, ~2M views, zero latency, throttle off: memory and CPU.

    ``state`` names the store (a PostgreSQL URL); by default a temporary SQLite file.
    """
    world = World.generate(WorldSpec.preset(preset))
    courses = world.course_ids
    roster = batch_roster(world, courses)
    fewest = fewest_page_view_requests(world, roster, START, END)
    run_dir = out / scenario / "batch"
    shutil.rmtree(run_dir, ignore_errors=True)
    say(f"[{scenario}] {len(courses)} courses, {len(roster):,} users: running ...")
    run, reports, _ = _measure(
        scenario,
        "batch",
        len(courses),
        FakeSetup(preset),
        run_dir,
        lambda fake: harvester_command(fake, "batch", courses, run_dir / "reports", state=state),
        fewest,
        None,
    )
    say(f"[{scenario}] checking {len(courses)} courses' reports against the ground truth ...")
    error = check_courses(reports, courses, lambda c: expected_reports(world, c, START, END))
    run = _checked(run, error, reports, keep)
    say(_progress(run))
    note = (
        f"{scenario}: {len(courses)} courses, {len(roster):,} users, "
        f"{world.total_page_views:,} views; zero latency, throttle off: bound = the fake's CPU"
    )
    return [run], [note]


def run_large_postgres(out: Path, keep: bool, say: Say) -> tuple[list[BatchRun], list[str]]:
    """batch-large into PostgreSQL (a throwaway cluster, its fsyncs on) beside SQLite's run."""
    from pageviews.testing.postgres_cluster import running_cluster

    with running_cluster(durable=True) as cluster:
        state = cluster.new_database()
        return run_large(out, keep, say, scenario="batch-large-postgres", state=state)


def explain_batch(work: Workload, fewest: int, courses: int, users: int) -> str:
    """How the batch's lower bound is computed, with its numbers."""
    t = BATCH_THROTTLE
    cost = work.cost(t)
    return "\n".join(
        [
            f"batch: {courses} courses, {users} distinct users; Canvas's throttle "
            f"({BATCH_LATENCY * 1000:.0f} ms latency)",
            f"  fewest requests {work.requests:,} = users/self + {courses} course lookups + "
            f"{work.enrollment_pages} enrollment pages + {fewest:,} page-view pages "
            "(each distinct user once: ceil(views/100) + the empty page)",
            f"  cost model: {t.cost_base} + {t.cost_per_item} x records per request; total "
            f"{cost:,.1f} = {work.requests:,} x {t.cost_base} + {work.items:,} x "
            f"{t.cost_per_item}",
            f"  bucket term = ({cost:,.1f} - hwm {t.hwm:.0f}) / outflow {t.outflow:.0f}/s = "
            f"{max(0.0, cost - t.hwm) / t.outflow:.1f} s; the one-at-a-time loop is held to the "
            "same bound (the task's), so its ratio shows the cost of reading users again",
        ]
    )


def _progress(run: BatchRun) -> str:
    check = "reports exact" if run.reports_error is None else f"REPORTS DIFFER: {run.reports_error}"
    line = (
        f"[{run.scenario}] {run.client}: {run.wall_seconds:.2f}s wall, {run.requests:,} "
        f"requests ({run.page_view_requests:,} page views, {run.page_view_ratio:.2f}x the "
        f"fewest {run.fewest_page_view_requests:,}), {run.throttled} throttled, "
        f"{run.ratio:.2f}x the bound, {run.max_rss_mb:.0f} MB peak RSS, {check}"
    )
    b = run.bucket
    if b is not None and run.bound is not None:
        line += (
            f"\n[{run.scenario}] {run.client}: over the bound's {run.bound.bucket:.1f}s: "
            f"{b.extra_work:.1f}s of extra cost ({b.actual_cost:,.1f} units charged), "
            f"{b.unused_headroom:.1f}s of headroom left at the end, {b.empty:.1f}s of outflow "
            f"lost to an empty bucket, {run.wall_seconds - b.span:.1f}s before the first "
            "request and after the last"
        )
    return line


BATCH_GROUPS: dict[str, Callable[[Path, bool, Say], tuple[list[BatchRun], list[str]]]] = {
    "batch": run_batch,
    "incremental": run_incremental,
    "batch-large": run_large,
    "batch-large-postgres": run_large_postgres,
}
