"""Harvest one course: roster producer, page-view workers, store, reports.

Shape: a producer lists the course's enrollments and sends fetch units (a user
and a time window) into a bounded stream; a pool of workers follows each unit's
pagination, storing every page in one transaction with its next link; heavy
users are split into windows run side by side. The gate in the client bounds
requests in flight. When all units are done the reports are rendered from the
store in one streaming pass.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .client import DEFAULT_CONCURRENCY, PER_PAGE, CanvasClient, ClientStats
from .errors import (
    CanvasUnreachableError,
    IncompleteHarvestError,
    NotFoundError,
    OutputDirError,
    PageviewsError,
    PermissionDeniedError,
    TransientError,
    UsageError,
)
from .logsetup import current_unit, unit_label
from .ordering import ordered_rows
from .pagination import walk
from .records import course_rows, local_id, merge_user_rows, page_order
from .reports import ReportMeta, ReportTotals, ReportWriter
from .splitting import MAX_WINDOWS, plan_windows
from .store import FAILED, MISSING, Fetch, Run, RunKey, Store
from .storelock import store_lock
from .timerange import TimeRange, canvas_timestamp, normalize_timestamp

log = logging.getLogger(__name__)

#: Hosted Canvas's list endpoint serves about this many days (contract §8).
LIST_WINDOW_DAYS = 30
STATE_FILE = "pageviews-state.sqlite"


@dataclass(frozen=True, slots=True)
class HarvestOptions:
    """What to harvest and where to put it."""

    course: str | int
    time_range: TimeRange
    enrollment_types: tuple[str, ...] | None = None
    enrollment_states: tuple[str, ...] | None = None
    out_dir: Path = Path()
    state_path: Path | None = None
    fresh: bool = False
    workers: int = DEFAULT_CONCURRENCY
    split_heavy_users: bool = True
    excel: bool = False  # CSV for spreadsheets: a BOM, and formula-like cells quoted

    @property
    def store_path(self) -> Path:
        """Where the state store lives (``--state``, default in the output directory)."""
        return self.state_path or self.out_dir / STATE_FILE


@dataclass(slots=True)
class Progress:
    """Live counters of a harvest, for progress displays."""

    users_total: int = 0
    users_done: int = 0
    roster_complete: bool = False
    records: int = 0
    started: float = field(default_factory=time.monotonic)


@dataclass(slots=True)
class HarvestResult:
    """What a harvest did and where it put it."""

    course_id: int
    course_name: str
    users: int
    records: int
    reports: dict[str, Path]
    state_path: Path
    resumed: bool
    missing_users: list[tuple[int, str]]
    failed_users: list[tuple[int, str]]
    warnings: list[str]
    stats: ClientStats
    peak_in_flight: int
    seconds: float

    @property
    def complete(self) -> bool:
        """True when every user's page views were read (404 users excepted)."""
        return not self.failed_users


def range_warnings(time_range: TimeRange, now: datetime) -> list[str]:
    """Warn when the range reaches past the list endpoint's retention window.

    Compared by date: a bare start date on the window's first day begins at
    midnight, hours before "now minus 30 days", yet nothing is left out that the
    "about 30 days" Canvas keeps would hold.
    """
    horizon = now - timedelta(days=LIST_WINDOW_DAYS)
    if time_range.start.astimezone(UTC).date() < horizon.date():
        return [
            f"the range starts before {horizon.date().isoformat()}: hosted Canvas serves only "
            f"about the last {LIST_WINDOW_DAYS} days of page views through this API and "
            "silently leaves older ones out (self-hosted Canvas keeps them)"
        ]
    return []


def check_writable(out_dir: Path) -> None:
    """Fail before any request if the reports could not be written."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputDirError(f"output directory {out_dir} is a file, not a directory")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".pageviews-probe-{time.monotonic_ns()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputDirError(
            f"output directory {out_dir} is not writable: {exc.strerror}"
        ) from None


def discard_store(path: Path) -> None:
    """Delete a state store and its SQLite side files (``--fresh``)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class _Harvest:
    """One run's moving parts; :func:`harvest_course` is the public face."""

    def __init__(
        self,
        client: CanvasClient,
        store: Store,
        run: Run,
        course_id: int,
        me: int,
        options: HarvestOptions,
        progress: Progress,
    ) -> None:
        self.client, self.store, self.run = client, store, run
        self.course_id, self.me, self.options, self.progress = course_id, me, options, progress
        self.courses = frozenset({course_id})
        self.open_units: Counter[int] = Counter()
        self.dispatched: set[int] = set()
        self.any_success = False

    async def run_all(self) -> None:
        send, receive = anyio.create_memory_object_stream[Fetch](self.options.workers)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.produce, send)
            async with receive:
                for _ in range(self.options.workers):
                    tg.start_soon(self.work, receive.clone(), tg)

    async def produce(self, send: MemoryObjectSendStream[Fetch]) -> None:
        async with send:
            if not self.run.roster_complete:
                await self._list_roster(send)
            roster = self.store.roster(self.run.run_id)
            self.progress.users_total = len(roster)
            self.progress.roster_complete = True
            leftovers = [
                f for f in self.store.pending(self.run.run_id) if f.user_id not in self.dispatched
            ]
            waiting = {f.user_id for f in leftovers}
            undispatched = roster.keys() - self.dispatched
            self.progress.users_done += len(undispatched - waiting)
            self.dispatched |= undispatched
            await self._dispatch(send, leftovers)

    async def _list_roster(self, send: MemoryObjectSendStream[Fetch]) -> None:
        run, opts = self.run, self.options
        async for page in walk(
            self.client,
            self.client.enrollments_url(
                self.course_id, opts.enrollment_types, opts.enrollment_states
            ),
        ):
            users: dict[int, str] = {}
            for enrollment in page.data:
                user_id = local_id(int(enrollment["user_id"]))
                if user_id == self.me or user_id in self.dispatched or user_id in users:
                    continue
                user = enrollment.get("user") or {}
                users[user_id] = str(user.get("name") or "")
            self.store.add_users(run.run_id, users.items(), run.key.start, run.end)
            self.progress.users_total += len(users)
            for user_id in users:
                self.dispatched.add(user_id)
                fetches = self.store.pending(run.run_id, user_id)
                if not fetches:
                    self.progress.users_done += 1
                await self._dispatch(send, fetches)
        self.store.set_roster_complete(run.run_id)
        log.info("roster complete: %d users", len(self.dispatched))

    async def _dispatch(self, send: MemoryObjectSendStream[Fetch], fetches: list[Fetch]) -> None:
        for fetch in fetches:
            self.open_units[fetch.user_id] += 1
        for fetch in fetches:
            await send.send(fetch)

    async def work(self, receive: MemoryObjectReceiveStream[Fetch], tg: TaskGroup) -> None:
        async with receive:
            async for fetch in receive:
                await self.fetch(fetch, tg)

    async def fetch(self, fetch: Fetch, tg: TaskGroup) -> None:
        """Follow one unit to its end, storing each page with its next link."""
        current_unit.set(unit_label(fetch.user_id, fetch.start, fetch.end))
        client, store = self.client, self.store
        start, end = self.run.key.start, self.run.end
        url = fetch.next_url or client.page_views_url(fetch.user_id, fetch.start, fetch.end)
        seq = fetch.pages
        fetched = 0
        oldest, ordered = fetch.oldest, fetch.ordered
        try:
            async for page in walk(client, url):
                rows = course_rows(page.data, self.courses, start, end)
                oldest, ordered = page_order(rows, oldest, ordered)
                self.any_success = True
                fetched += len(page.data)
                windows = self._windows(fetch, page.data, page.next_url, fetched)
                if windows:
                    log.info(
                        "user %s: long history, fetching %d windows", fetch.user_id, len(windows)
                    )
                    children = store.split(
                        fetch, seq, rows, (oldest, ordered), self.run.run_id, windows
                    )
                    self.progress.records += len(rows)
                    self.open_units[fetch.user_id] += len(children)
                    for child in children:
                        tg.start_soon(self.fetch, child, tg)
                    break
                store.save_page(fetch, seq, rows, page.next_url, (oldest, ordered))
                seq += 1
                self.progress.records += len(rows)
                # Drop the page while waiting for the next: many chains wait at the gate.
                del page, rows
        except NotFoundError as exc:
            log.info("user %s: not found, skipped", fetch.user_id)
            store.give_up(fetch.fetch_id, MISSING, str(exc))
        except PermissionDeniedError as exc:
            if not self.any_success:
                raise PermissionDeniedError(
                    f"Canvas refused to show page views ({exc}); reading page views needs "
                    "an account-admin token with the view_statistics permission"
                ) from None
            store.give_up(fetch.fetch_id, FAILED, f"permission denied: {exc}")
        except CanvasUnreachableError:
            raise
        except TransientError as exc:
            log.info("user %s: gave up after retries: %s", fetch.user_id, exc)
            store.give_up(fetch.fetch_id, FAILED, f"gave up after retries: {exc}")
        self._unit_done(fetch.user_id)

    def _windows(
        self, fetch: Fetch, data: list[Any], next_url: str | None, fetched: int
    ) -> list[tuple[str, str]]:
        """Windows for the rest of a long unit, when requests would otherwise idle.

        Splitting costs requests (every window ends with its own short page), so a
        chain is split only while the gate has room nobody is waiting for: never
        when Canvas's bucket binds, always for the long chains left at the end.
        """
        # This chain's own next request takes one free place; only the rest is spare.
        spare = self.client.gate.spare - 1
        if not self.options.split_heavy_users or next_url is None or spare <= 0:
            return []
        if len(data) < PER_PAGE or not isinstance(data[-1], dict):
            return []
        oldest = data[-1].get("created_at")
        if not isinstance(oldest, str):
            return []
        return plan_windows(
            start=fetch.start,
            end=fetch.end,
            oldest_seen=normalize_timestamp(oldest),
            fetched=fetched,
            per_page=PER_PAGE,
            max_windows=min(MAX_WINDOWS, spare + 1),
        )

    def _unit_done(self, user_id: int) -> None:
        self.open_units[user_id] -= 1
        if self.open_units[user_id] <= 0:
            del self.open_units[user_id]
            self.progress.users_done += 1


async def harvest_course(
    client: CanvasClient,
    options: HarvestOptions,
    *,
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> HarvestResult:
    """Harvest a course's page views into the three reports; resume an unfinished run.

    The state store is locked for the whole run: a second run on it fails at once.
    """
    check_writable(options.out_dir)
    with store_lock(options.store_path):
        return await _harvest_locked(client, options, progress or Progress(), now)


async def _harvest_locked(
    client: CanvasClient,
    options: HarvestOptions,
    progress: Progress,
    now: Callable[[], datetime],
) -> HarvestResult:
    started = time.monotonic()
    if options.fresh:
        discard_store(options.store_path)
    moment = now()
    requested = options.time_range
    if requested.start > moment:
        raise UsageError("the start time is in the future")
    me = await client.whoami()
    course = await client.course(options.course)
    course_id = local_id(int(course["id"]))
    pinned = requested.clamp_end(moment)
    key = run_key(course_id, options)
    store = Store(options.store_path, client.base_url)
    try:
        if str(options.course) != str(course_id):
            store.remember_course(str(options.course), course_id)
        run = store.open_run(key, pinned.end_utc, canvas_timestamp(moment))
        if run.resumed:
            log.info("resuming the unfinished harvest in %s", options.store_path)
            store.retry_failed(run.run_id)
        log.info("course %s: %s to %s", course_id, key.start, run.end)
        harvest = _Harvest(client, store, run, course_id, int(me["id"]), options, progress)
        try:
            await harvest.run_all()
        except BaseExceptionGroup as group:
            leaf = first_error(group)
            if isinstance(leaf, PageviewsError):
                raise leaf from None
            raise
        unfinished = store.pending(run.run_id)
        if unfinished:
            # Every unit ends done, split, missing or failed; one still to do means the
            # harvest was cut short, and its reports would silently lack pages.
            raise IncompleteHarvestError(
                f"the harvest stopped with {len(unfinished)} fetch units unfinished; "
                "run the same command again to resume"
            )
        problems = store.problems(run.run_id)
        roster = store.roster(run.run_id)
        missing = [(u, d) for u, state, d in problems if state == MISSING]
        failed = [(u, d) for u, state, d in problems if state != MISSING]
        totals = render_reports(store, run, options, leave_out={u for u, _ in failed})
        if not failed:
            store.finish_run(run.run_id, canvas_timestamp(now()))
    finally:
        store.close()
    return HarvestResult(
        course_id=course_id,
        course_name=str(course.get("name") or ""),
        users=len(roster),
        records=totals.records,
        reports=totals.paths,
        state_path=options.store_path,
        resumed=run.resumed,
        missing_users=missing,
        failed_users=failed,
        warnings=range_warnings(requested, moment),
        stats=client.stats,
        peak_in_flight=client.gate.peak,
        seconds=time.monotonic() - started,
    )


def run_key(course_id: int, options: HarvestOptions) -> RunKey:
    """The key under which the store keeps this harvest's progress."""

    def canonical(values: Sequence[str] | None) -> tuple[str, ...] | None:
        return tuple(sorted(set(values))) if values else None

    return RunKey(
        course_id,
        options.time_range.start_utc,
        options.time_range.end_utc,
        canonical(options.enrollment_types),
        canonical(options.enrollment_states),
    )


def render_reports(
    store: Store, run: Run, options: HarvestOptions, leave_out: Collection[int] = ()
) -> ReportTotals:
    """Write the six reports from the store, in one streaming pass.

    Users in ``leave_out`` (read only in part) are left out whole: a report never
    holds part of a user's page views, so no count in it is short.
    """
    with _report_failures(store, options.out_dir):
        return _render(store, run, options, leave_out)


@contextmanager
def _report_failures(store: Store, out_dir: Path) -> Iterator[None]:
    """Name what failed: the disk under the reports, or a page the store cannot decode."""
    try:
        yield
    except OSError as exc:  # a full disk, a quota: the writer removed its temporary files
        raise OutputDirError(
            f"cannot write the reports in {out_dir}: {exc.strerror or exc}"
        ) from None
    except (ValueError, TypeError, LookupError):
        # A page whose blob does not decode, or decodes to the wrong shape, fails deep in
        # the rendering; SQLite's integrity check cannot see it. Otherwise it is a bug.
        unreadable = store.first_unreadable()
        if unreadable is None:
            raise
        raise unreadable from None


def _render(
    store: Store, run: Run, options: HarvestOptions, leave_out: Collection[int]
) -> ReportTotals:
    requested = options.time_range
    meta = ReportMeta(
        course_id=run.key.course_id,
        start_time=requested.start.isoformat(),
        end_time=requested.end.isoformat(),
        label=requested.label,
    )
    course_id, start, end = run.key.course_id, run.key.start, run.end
    with ReportWriter(options.out_dir, meta, excel=options.excel) as writer:
        for user_id, name, units in store.user_units(run.run_id):
            if user_id in leave_out:
                continue
            pages = [store.unit_pages(unit.fetch_id) for unit in units]
            if all(unit.ordered for unit in units):
                rows: Iterable[Sequence[Any]] = ordered_rows(pages, course_id, start, end)
            else:
                rows = merge_user_rows(chain.from_iterable(pages), course_id, start, end)
            writer.write_user(user_id, name, rows)
    return writer.summary


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first non-group leaf, preferring our own errors, for one-line reporting."""
    leaves: list[BaseException] = []

    def collect(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                collect(inner)
        else:
            leaves.append(exc)

    collect(group)
    for leaf in leaves:
        if isinstance(leaf, PageviewsError):
            return leaf
    return leaves[0]
