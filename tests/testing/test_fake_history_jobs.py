"""The history export jobs as a pure state machine, driven by a fake clock."""

from __future__ import annotations

from datetime import date

from pageviews.testing.history_config import SIZE_LIMIT_CODE, HistoryConfig
from pageviews.testing.history_jobs import Job, JobBoard, is_query_id

T0 = 1_000_000.0


def _add(
    board: JobBoard,
    config: HistoryConfig,
    *,
    now: float = T0,
    requester: int = 1,
    rows: int = 10,
) -> Job:
    return board.add(
        config,
        requester=requester,
        batch=False,
        user_ids=(7,),
        kept=(7,),
        start=date(2015, 1, 1),
        end=date(2015, 2, 1),
        format="csv",
        rows=rows,
        now=now,
    )


def test_a_job_is_queued_then_running_then_finished() -> None:
    job = _add(JobBoard(), HistoryConfig(queue_seconds=2, run_seconds=5))
    assert job.status(T0) == "queued"
    assert job.status(T0 + 1.999) == "queued"
    assert job.status(T0 + 2) == "running"
    assert job.status(T0 + 6.999) == "running"
    assert job.status(T0 + 7) == "finished"
    assert [job.active(T0 + t) for t in (0, 6.9, 7)] == [True, True, False]


def test_the_run_time_grows_with_the_rows() -> None:
    config = HistoryConfig(queue_seconds=0, run_seconds=1, run_seconds_per_1000_rows=2)
    job = _add(JobBoard(), config, rows=5_000)
    assert job.done_at == T0 + 11


def test_a_requester_at_the_limit_is_refused_until_a_job_is_done() -> None:
    config = HistoryConfig(queue_seconds=1, run_seconds=1, max_jobs_per_requester=2)
    board = JobBoard()
    _add(board, config)
    assert board.refusal(config, 1, T0) is None
    _add(board, config, now=T0 + 1)
    assert board.refusal(config, 1, T0 + 1) == 429
    assert board.refusal(config, 2, T0 + 1) is None  # another requester has room
    assert board.refusal(config, 1, T0 + 2) is None  # the first job is done


def test_the_whole_fake_at_capacity_refuses_with_503() -> None:
    config = HistoryConfig(capacity=2, max_jobs_per_requester=5)
    board = JobBoard()
    _add(board, config, requester=1)
    _add(board, config, requester=2)
    assert board.refusal(config, 3, T0) == 503
    assert board.refusal(config, 3, T0 + 7) is None


def test_a_job_expires_after_the_expiry_time() -> None:
    config = HistoryConfig(queue_seconds=0, run_seconds=10, expiry_seconds=100)
    board = JobBoard()
    job = _add(board, config)
    assert board.find(job.id, config, T0 + 109.9) is job
    assert board.find(job.id, config, T0 + 110) is None
    assert board.find("00000000-0000-4000-8000-000000000000", config, T0) is None


def test_injected_failures_fail_the_first_jobs_in_order() -> None:
    config = HistoryConfig(failures=("INTERNAL_ERROR", "TIMEOUT"))
    board = JobBoard()
    jobs = [_add(board, config) for _ in range(3)]
    assert [j.error_code for j in jobs] == ["INTERNAL_ERROR", "TIMEOUT", None]
    assert [j.status(T0 + 7) for j in jobs] == ["failed", "failed", "finished"]
    assert jobs[0].status(T0) == "queued"  # the failure shows only when the job is done


def test_a_job_over_max_rows_fails_with_size_limit_exceeded() -> None:
    config = HistoryConfig(max_rows=100)
    board = JobBoard()
    assert _add(board, config, rows=100).error_code is None
    assert _add(board, config, rows=101).error_code == SIZE_LIMIT_CODE


def test_query_ids_are_lowercase_uuids_repeated_by_seed() -> None:
    config = HistoryConfig()
    first = _add(JobBoard(seed=5), config).id
    assert first == _add(JobBoard(seed=5), config).id
    assert first != _add(JobBoard(seed=6), config).id
    assert is_query_id(first)
    assert first[14] == "4"  # version 4
    assert not is_query_id(first.upper())
    assert not is_query_id("123")
    assert not is_query_id(first + "0")
