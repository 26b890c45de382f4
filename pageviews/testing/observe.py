"""What the fake saw: one record per request and running counters."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .faults import FaultKind

# Status recorded for a request whose client went away before the reply (nginx's 499).
CLIENT_CLOSED = 499


@dataclass(frozen=True, slots=True)
class HistoryCall:
    """Describe one PageView History API call (docs/canvas.md#history-api), for the request log."""

    kind: Literal["start", "poll", "results"]
    batch: bool
    query_id: str | None = None  # the new job's id on a successful start
    user_ids: tuple[int, ...] = ()  # the users asked for (start) or the job's (poll, results)
    start_date: str | None = None
    end_date: str | None = None


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """Describe one request the fake handled."""

    method: str
    path: str
    query: str
    status: int
    user_id: int | None  # the user named in a page-views path
    fault: FaultKind | None
    throttled: bool
    token_ok: bool
    started: float  # server clock, seconds
    finished: float
    in_flight: int  # requests in flight when this one arrived, itself included
    history: HistoryCall | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the record as plain JSON data."""
        data = asdict(self)
        data["fault"] = None if self.fault is None else self.fault.value
        return data


@dataclass(slots=True)
class FakeStats:
    """Count requests, throttles, faults and statuses."""

    requests: int = 0
    throttled: int = 0
    faults: int = 0
    peak_in_flight: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_fault: Counter[str] = field(default_factory=Counter)

    def add(self, record: RequestRecord) -> None:
        """Count one finished request."""
        self.requests += 1
        self.throttled += record.throttled
        self.by_status[record.status] += 1
        if record.fault is not None:
            self.faults += 1
            self.by_fault[record.fault.value] += 1

    def to_json(self) -> dict[str, Any]:
        """Return the counters as plain JSON data (status keys as strings)."""
        return {
            "requests": self.requests,
            "throttled": self.throttled,
            "faults": self.faults,
            "peak_in_flight": self.peak_in_flight,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "by_fault": dict(sorted(self.by_fault.items())),
        }
