"""The fake's PageView History API (docs/canvas.md#history-api), off unless given."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

#: The error code a job over `max_rows` fails with (PollBatchQueryService specs).
SIZE_LIMIT_CODE: Final = "RESULT_SIZE_LIMIT_EXCEEDED"


@dataclass(frozen=True, slots=True)
class HistoryConfig:
    """Configure the export jobs, their limits and the files they produce.

    Times are seconds of the fake's clock (`FakeConfig.now`, or real time), so a
    test moves a job along by moving `now`.
    """

    # A job is `queued` this long, then `running` for the run time, then done; a run
    # time of math.inf makes jobs that never finish (and hold their requester's slot).
    queue_seconds: float = 2.0
    run_seconds: float = 5.0
    run_seconds_per_1000_rows: float = 0.0
    # Starting answers 429 while the requester has this many jobs queued or running;
    # the Canvas UI runs one at a time, the service's real limit is not published.
    max_jobs_per_requester: int = 3
    # Starting answers 503 while the whole fake has this many jobs queued or running.
    capacity: int = 100
    # Poll and results answer 404 this long after a job is done (the UI keeps 24 h).
    expiry_seconds: float = 86_400.0
    max_months: int = 12  # how far back start_date may reach, in whole months
    max_batch_users: int = 10
    # A job with more distinct views than this fails with RESULT_SIZE_LIMIT_EXCEEDED.
    max_rows: int | None = None
    # Error codes for the first jobs started on the fake, in order: ("INTERNAL_ERROR",)
    # fails the first job only, so starting it again succeeds.
    failures: tuple[str, ...] = ()
    # Statuses for the first result downloads of each job, in order: (500,) makes
    # every job's first download a 500 "An unexpected error occurred.".
    result_errors: tuple[Literal[400, 500], ...] = ()
    # Users the export service leaves out (USER_FILTERED in a batch; empty alone).
    filtered_users: frozenset[int] = field(default_factory=frozenset)
    # Users outside the admin's accounts: naming one is 401/403, as for the teacher.
    hidden_users: frozenset[int] = field(default_factory=frozenset)
    # The first download of each job breaks `cut_results_after` bytes into its body:
    # "drop" closes the connection, "end" ends the body there cleanly (a gzip file then
    # stops mid-stream), "stall" sends nothing more until the fake stops.
    cut_results: Literal["drop", "end", "stall"] | None = None
    cut_results_after: int = 4096
    compress: bool = True  # gzip the files (per-user: with Content-Encoding; batch: without)
    columns: Literal["export", "raw"] = "export"  # §9 names, or the back end's raw names
    # created_at with milliseconds: ...T12:00:00.123Z, ...+00:00, or "2015-01-26 12:00:00.123".
    timestamps: Literal["z", "offset", "naive"] = "z"
    repeat_share: float = 0.01  # share of rows written twice
    # Users one row in five of whom the files write without an id (as ListQuirks does).
    idless_users: frozenset[int] = field(default_factory=frozenset)
    shard: int = 1  # ids in files are global: shard * 10**13 + local id
    running_status: Literal["running", "processing"] = "running"  # how polls name it
