"""Export jobs of the PageView History API as a pure state machine over a clock.

Invariants: a job's whole life is fixed when it starts: `queued` from `created`,
`running` from `runs_at`, `finished` (or `failed`) from `done_at`, gone (404)
from `done_at + expiry_seconds`. Nothing reads a clock here: callers pass `now`
as epoch seconds, so a test moves jobs along by moving the fake's `now`. Query
ids are lowercase UUIDs drawn from a seeded generator, so runs repeat.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Final, Literal

from .history_config import SIZE_LIMIT_CODE, HistoryConfig

Status = Literal["queued", "running", "finished", "failed"]
Format = Literal["csv", "jsonl"]
# Contract §9: anything but a lowercase UUID is 400 "Invalid query ID".
_QUERY_ID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_query_id(text: str) -> bool:
    """Tell whether `text` has the form of a query id."""
    return _QUERY_ID.fullmatch(text) is not None


@dataclass(slots=True)
class Job:
    """Hold one export job: what it covers and when it changes state."""

    id: str
    requester: int  # the token's user
    batch: bool  # started on the batch route (polled there only)
    user_ids: tuple[int, ...]  # the users asked for, in request order
    kept: tuple[int, ...]  # those the export includes (USER_FILTERED drops the rest)
    start: date  # first day of the first month
    end: date  # first day of the month after the last, exclusive
    format: Format
    created: float  # epoch seconds
    runs_at: float
    done_at: float
    rows: int  # distinct views the file holds
    error_code: str | None = None
    downloads: int = 0  # result requests so far, for `HistoryConfig.result_errors`

    def status(self, now: float) -> Status:
        """Return the job's state at `now`."""
        if now < self.runs_at:
            return "queued"
        if now < self.done_at:
            return "running"
        return "finished" if self.error_code is None else "failed"

    def active(self, now: float) -> bool:
        """Tell whether the job is queued or running at `now`."""
        return now < self.done_at

    def expired(self, now: float, config: HistoryConfig) -> bool:
        """Tell whether the job and its file are gone at `now`."""
        return now >= self.done_at + config.expiry_seconds


@dataclass(slots=True)
class JobBoard:
    """Hold every job the fake has started, and pick their ids and fates."""

    seed: int = 0
    jobs: dict[str, Job] = field(default_factory=dict)
    started: int = 0  # jobs started so far, for `HistoryConfig.failures`
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"history-{self.seed}")

    def refusal(
        self, config: HistoryConfig, requester: int, now: float
    ) -> Literal[429, 503] | None:
        """Return why a new job may not start now (429 requester, 503 capacity), or None."""
        active = [j for j in self.jobs.values() if j.active(now)]
        if sum(j.requester == requester for j in active) >= config.max_jobs_per_requester:
            return 429
        if len(active) >= config.capacity:
            return 503
        return None

    def add(
        self,
        config: HistoryConfig,
        *,
        requester: int,
        batch: bool,
        user_ids: tuple[int, ...],
        kept: tuple[int, ...],
        start: date,
        end: date,
        format: Format,
        rows: int,
        now: float,
    ) -> Job:
        """Start a job at `now` and return it; its fate is decided here."""
        error = config.failures[self.started] if self.started < len(config.failures) else None
        if error is None and config.max_rows is not None and rows > config.max_rows:
            error = SIZE_LIMIT_CODE
        self.started += 1
        runs_at = now + config.queue_seconds
        done_at = runs_at + config.run_seconds + config.run_seconds_per_1000_rows * rows / 1000
        job_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        job = Job(
            job_id, requester, batch, user_ids, kept, start, end, format, now, runs_at, done_at,
            rows, error,
        )  # fmt: skip
        self.jobs[job_id] = job
        return job

    def find(self, query_id: str, config: HistoryConfig, now: float) -> Job | None:
        """Return the job with this id, or None when it is unknown or expired."""
        job = self.jobs.get(query_id)
        if job is None or job.expired(now, config):
            return None
        return job
