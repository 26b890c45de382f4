"""How long a run has left: pure arithmetic over what it has done and what remains.

A harvest on Canvas is bound by the token's leaky bucket, by round trips, or by
the History API's export jobs, whichever is slowest (docs/canvas.md#throttling,
#history-costs), so the estimate is the largest of three terms:

- the bucket: the units the rest of the plan needs, less the room the bucket
  has now, leaked at the measured outflow. A list unit being read will take as
  many pages again as the share of its seconds still to read predicts; one not
  started, as many as units have taken on average (the ones being read counted
  at their prediction: heavy histories end last, so those done so far are the
  light ones); a page costs what pages have cost so far; an export job what
  jobs have;
- the pace so far: the same units at the rate they have been spent, or, without
  throttle headers, the units of work left at the rate they have been done;
- the jobs: jobs not yet read, at the mean time a job has taken from its start
  to its file read, as many at a time as are running now.

Each term is None until it has something to go on; the estimate is None until
one has.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Work:
    """A run's state as the estimate reads it (costs in bucket units)."""

    elapsed: float
    list_done: int = 0  # list units ended
    list_left: int = 0  # list units not ended yet, being read or not started
    list_spent: float = 0.0  # units spent on list pages (and the roster)
    list_pages: int = 0  # pages list units have read
    reading: int = 0  # list units being read
    reading_pages: int = 0  # the pages they have read
    reading_total: float = 0.0  # the pages they are predicted to take in all
    jobs_queued: int = 0
    jobs_running: int = 0
    jobs_done: int = 0
    job_cost: float = 0.0  # what one export job costs in all: start, polls, result
    job_start_cost: float = 0.0  # its start alone
    job_seconds: float | None = None  # mean time of a job done, start to file read
    spent: float = 0.0  # every unit spent so far
    outflow: float | None = None  # units per second, once measured
    room: float = 0.0  # units the bucket takes now before it holds requests back


def units_left(work: Work) -> float | None:
    """Bucket units the rest of the plan needs; None while list costs are unknown."""
    jobs = work.jobs_queued * work.job_cost
    jobs += work.jobs_running * max(0.0, work.job_cost - work.job_start_cost)
    if work.list_left == 0:
        return jobs
    known = work.list_done + work.reading
    if work.list_pages == 0 or known == 0:
        return None
    per_unit = (work.list_pages - work.reading_pages + work.reading_total) / known
    pages = work.reading_total - work.reading_pages
    pages += max(0, work.list_left - work.reading) * per_unit
    return jobs + pages * work.list_spent / work.list_pages


def seconds_left(work: Work) -> float | None:
    """The estimate: the largest of the bucket, pace and jobs terms that can be told."""
    terms = [t for t in (bucket_term(work), pace_term(work), jobs_term(work)) if t is not None]
    return max(terms) if terms else None


def bucket_term(work: Work) -> float | None:
    """Seconds the bucket needs to leak what the rest costs beyond its room now."""
    left = units_left(work)
    if left is None or not work.outflow:
        return None
    return max(0.0, left - max(0.0, work.room)) / work.outflow


def pace_term(work: Work) -> float | None:
    """Seconds at the pace so far: units per second, or without costs units of work."""
    left = units_left(work)
    if work.spent > 0 and left is not None:
        return work.elapsed * left / work.spent
    done = work.list_done + work.jobs_done
    if done == 0:
        return None
    return work.elapsed * (work.list_left + work.jobs_queued + work.jobs_running) / done


def jobs_term(work: Work) -> float | None:
    """Seconds the export jobs not yet read take, as many at a time as run now."""
    waiting = work.jobs_queued + work.jobs_running
    if not waiting or work.job_seconds is None:
        return None
    return waiting * work.job_seconds / max(1, work.jobs_running)


def describe(seconds: float | None) -> str:
    """``about 2 min 10 s left``; ``estimating`` before the estimate can be told."""
    if seconds is None:
        return "time left: estimating"
    whole = round(seconds)
    if whole < 60:
        return f"about {whole} s left"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"about {minutes} min {rest:02d} s left"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes:02d} min left"
