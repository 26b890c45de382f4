"""The six calls of the PageView History API (docs/canvas.md#history-api) as pure functions.

`page_views_controller.rb` (actions `query`, `poll_query`, `query_results`,
`batch_query`, `poll_batch_query`, `batch_query_results`) in front of the PV5
export service (`app/services/page_views/`). No I/O: the aiohttp layer reads the
body (`history_routes.request_params`), throttles and writes the (streamed) reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Final

from . import replies
from .config import FakeConfig
from .history_config import HistoryConfig
from .history_files import file_chunks, file_order, view_refs
from .history_jobs import Format, Job, JobBoard, is_query_id
from .history_routes import HistoryRoute, Params
from .observe import HistoryCall
from .replies import Reply
from .timeparse import epoch_us
from .world import World

UNAVAILABLE: Final = "Page views history is not available in this environment."
MALFORMED: Final = "Page Views received an invalid or malformed request."
RATE_LIMITED: Final = "Page Views rate limit exceeded. Please wait and try again."
AT_CAPACITY: Final = "Query queue is at capacity. Please wait and try again."
QUERY_NOT_FOUND: Final = "The query was not found."
RESULT_NOT_FOUND: Final = "The result for query was not found."
INVALID_ID: Final = "Invalid query ID"
UNEXPECTED: Final = "An unexpected error occurred."
# Not in the contract: what the fake answers for a file it will not serve.
NOT_FINISHED: Final = "The query has not finished."
UNUSABLE: Final = "The result file could not be read."

_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")  # parse_date_only in the enqueue services
_FORMATS: Final = ("csv", "jsonl")  # PageViews::Common::FORMATS
_CONTENT_TYPES: Final = {"csv": "text/csv", "jsonl": "application/jsonl"}


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    """Hold what a history call needs from one authenticated request."""

    route: HistoryRoute
    params: Params | None  # query string and body together; None: unreadable body
    caller: int
    now: datetime

    def get(self, name: str) -> str | None:
        """Return the first value of a parameter."""
        return next((v for k, v in self.params or () if k == name), None)

    def get_all(self, name: str) -> list[str]:
        """Return every value of an array parameter (`name[]`, or bare `name`)."""
        return [v for k, v in self.params or () if k in (name, name + "[]")]


@dataclass(frozen=True, slots=True)
class _Service:
    """Hold what every call reads: the world, the config and the job board."""

    world: World
    config: FakeConfig
    history: HistoryConfig
    board: JobBoard


def handle_history(
    world: World, config: FakeConfig, board: JobBoard, request: HistoryRequest
) -> tuple[Reply, HistoryCall]:
    """Serve one history call; also return what it did, for the request log."""
    route = request.route
    call = HistoryCall(route.kind, route.batch, route.query_id)
    history = config.history
    if history is None:
        return _absent(config), call
    service = _Service(world, config, history, board)
    if route.kind == "start":
        reply, call = _start(service, request, call)
    else:
        reply, call = _read(service, request, call)
    throttle = config.throttle
    if throttle is not None:  # increment_request_cost in the controller's actions
        extra = {
            "start": throttle.query_start_cost,
            "poll": throttle.query_poll_cost,
            "results": throttle.query_results_cost,
        }
        reply.extra_cost = extra[route.kind]
    return reply, call


def _error(status: int, message: str) -> Reply:
    return replies.pv4_error(status, message)


def _absent(config: FakeConfig) -> Reply:
    """A Canvas without the History API: unconfigured, too old for its routes, or a proxy's."""
    if config.history_absent == "routes":
        return replies.not_found()
    if config.history_absent == "proxy":
        return replies.text_reply(404, "Not Found\n")
    if config.history_absent == "raising":
        return replies.errors_reply(500, "An error occurred.", error_report_id=4245)
    return replies.pv4_error(404, UNAVAILABLE)


def _user_refusal(service: _Service, caller: int, user_id: int) -> Reply | None:
    """404 for a deleted user, 401/403 for one the caller may not view, else None."""
    if user_id in service.config.faults.missing_users:
        return replies.not_found()
    if not _may_view(service, caller, user_id):
        return replies.unauthorized(service.config.auth_error_status)
    return None


def _path_user(service: _Service, request: HistoryRequest) -> int | Reply:
    """Resolve the path's user (404) and check view_statistics on it (401/403)."""
    ref = request.route.user_ref or ""
    user_id = request.caller if ref == "self" else service.world.resolve_user(ref)
    if user_id is None:
        return replies.not_found()
    return _user_refusal(service, request.caller, user_id) or user_id


def _may_view(service: _Service, caller: int, user_id: int) -> bool:
    """Tell whether the caller holds view_statistics on the user (docs/canvas.md#permissions)."""
    refused = service.config.faults.refused_users
    hidden = user_id in service.history.hidden_users or user_id in refused
    return service.world.is_account_admin(caller) and not hidden


def _batch_users(service: _Service, request: HistoryRequest) -> tuple[int, ...] | Reply:
    """Resolve `user_ids[]`: at most 10, no repeats; stop at the first user refused."""
    world, history = service.world, service.history
    refs = request.get_all("user_ids")
    if not refs:
        return _error(400, "Parameter user_ids is missing.")
    if len(refs) > history.max_batch_users:
        return _error(
            400, f"Too many user IDs. Maximum: {history.max_batch_users}, provided: {len(refs)}"
        )
    users: list[int] = []
    for ref in refs:
        user_id = world.resolve_user(ref)
        if user_id is None:
            return replies.not_found()
        # authorized_action over user_ids[]: the first user refused ends the request.
        refusal = _user_refusal(service, request.caller, user_id)
        if refusal is not None:
            return refusal
        if user_id in users:
            return _error(400, f"Duplicate user ID found: {ref}")
        users.append(user_id)
    return tuple(users)


def _months(history: HistoryConfig, request: HistoryRequest) -> tuple[date, date, Format] | Reply:
    """Read and check start_date, end_date and results_format."""
    texts = {}
    for name in ("start_date", "end_date"):
        value = request.get(name)
        if not value:
            return _error(400, f"Parameter {name} is missing.")
        texts[name] = value
    fmt = request.get("results_format") or "csv"
    found = _parse_months(texts["start_date"], texts["end_date"], fmt)
    if isinstance(found, str):
        # The per-user route hides the service's reason; the batch route passes it on.
        return _error(400, found if request.route.batch else MALFORMED)
    start, end = found
    this_month = request.now.astimezone(UTC).date().replace(day=1)
    if end > _add_months(this_month, 1):
        return _error(400, "end_date cannot be in a future month")
    if start < _add_months(this_month, -history.max_months):
        return _error(400, f"The requested data cannot be older than {history.max_months} months")
    return start, end, "csv" if fmt == "csv" else "jsonl"


def _parse_months(start_text: str, end_text: str, fmt: str) -> tuple[date, date] | str:
    """Validate as the enqueue services and `AsyncBatchQueryRequest#validate!` do."""
    days = []
    for text in (start_text, end_text):
        if not _DATE.fullmatch(text):
            return "Date must be in YYYY-MM-DD format"
        try:
            days.append(date.fromisoformat(text))
        except ValueError:
            return "invalid date"
    start, end = days
    if fmt not in _FORMATS:
        return "Format must be one of csv, jsonl"
    if start > end:
        return "Start date must be before or equal to end date"
    if start.day != 1 or end.day != 1:
        return "Only full-month intervals are supported"
    return start, end


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _now_ms(request: HistoryRequest) -> int:
    return epoch_us(request.now) // 1000


def _start(
    service: _Service, request: HistoryRequest, call: HistoryCall
) -> tuple[Reply, HistoryCall]:
    world, history, board = service.world, service.history, service.board
    if request.params is None:
        return _error(400, MALFORMED), call
    if request.route.batch:
        users = _batch_users(service, request)
    else:
        found = _path_user(service, request)
        users = found if isinstance(found, Reply) else (found,)
    if isinstance(users, Reply):
        return users, call
    call = replace(call, user_ids=users)
    months = _months(history, request)
    if isinstance(months, Reply):
        return months, call
    start, end, fmt = months
    call = replace(call, start_date=start.isoformat(), end_date=end.isoformat())
    now_ms = _now_ms(request)
    refused = board.refusal(history, request.caller, now_ms / 1000)
    if refused is not None:
        return _error(refused, RATE_LIMITED if refused == 429 else AT_CAPACITY), call
    kept = tuple(u for u in users if u not in history.filtered_users)
    job = board.add(
        history,
        requester=request.caller,
        batch=request.route.batch,
        user_ids=users,
        kept=kept,
        start=start,
        end=end,
        format=fmt,
        rows=len(view_refs(world, kept, start, end, now_ms)),
        now=now_ms / 1000,
    )
    # 201 with the poll path only: no Location header (docs/canvas.md#history-api).
    reply = replies.json_reply({"poll_url": f"{_base(job)}/{job.id}"}, 201)
    return reply, replace(call, query_id=job.id)


def _base(job: Job) -> str:
    if job.batch:
        return "/api/v1/users/page_views/query"
    return f"/api/v1/users/{job.user_ids[0]}/page_views/query"


def _read(
    service: _Service, request: HistoryRequest, call: HistoryCall
) -> tuple[Reply, HistoryCall]:
    """Serve poll and results: find the caller's job, then report on it."""
    world, history = service.world, service.history
    route = request.route
    user_id = None
    if route.batch:
        if not world.is_account_admin(request.caller):
            return replies.unauthorized(service.config.auth_error_status), call
    else:
        found = _path_user(service, request)
        if isinstance(found, Reply):
            return found, call
        user_id = found
    query_id = route.query_id or ""
    if not is_query_id(query_id):
        return _error(400, INVALID_ID), call
    now = _now_ms(request) / 1000
    job = service.board.find(query_id, history, now)
    missing = QUERY_NOT_FOUND if route.kind == "poll" else RESULT_NOT_FOUND
    # A job is found only on the route it started on, by its requester.
    if (
        job is None
        or job.batch != route.batch
        or job.requester != request.caller
        or (user_id is not None and job.user_ids != (user_id,))
    ):
        return _error(404, missing), call
    call = replace(
        call,
        user_ids=job.user_ids,
        start_date=job.start.isoformat(),
        end_date=job.end.isoformat(),
    )
    if route.kind == "poll":
        return replies.json_reply(_poll_json(job, history, now)), call
    return _results(world, history, job, now), call


def _poll_json(job: Job, history: HistoryConfig, now: float) -> dict[str, object]:
    status = job.status(now)
    data: dict[str, object] = {
        "query_id": job.id,
        "status": history.running_status if status == "running" else status,
        "format": job.format,
        "results_url": f"{_base(job)}/{job.id}/results" if status == "finished" else None,
        "error_code": job.error_code if status == "failed" else None,
    }
    if job.batch:
        data["warnings"] = _warnings(job, history)
    return data


def _warnings(job: Job, history: HistoryConfig) -> list[dict[str, str]] | None:
    """USER_FILTERED for the users the export left out, by global id
    (docs/canvas.md#history-api)."""
    dropped = [u for u in job.user_ids if u not in job.kept]
    if not dropped:
        return None
    ids = ", ".join(str(history.shard * 10**13 + u) for u in dropped)
    noun = "user" if len(dropped) == 1 else "users"
    message = f"Filtered out {len(dropped)} {noun} from batch query: {ids}"
    return [{"code": "USER_FILTERED", "message": message}]


def _results(world: World, history: HistoryConfig, job: Job, now: float) -> Reply:
    if job.status(now) != "finished":
        return _error(400, NOT_FINISHED)
    attempt = job.downloads
    job.downloads += 1
    if attempt < len(history.result_errors):
        broken = history.result_errors[attempt]
        return _error(broken, UNEXPECTED if broken == 500 else UNUSABLE)
    refs = view_refs(world, job.kept, job.start, job.end, int(job.created * 1000))
    if not refs:
        return Reply(204, b"")
    name = f"page_views_{job.id}.{job.format}" + (".gz" if history.compress else "")
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    # FetchResultService knows compression by Content-Encoding; the batch file never
    # says so (FetchBatchResultService), so a client must sniff 1f 8b
    # (docs/canvas.md#history-files).
    if history.compress and not job.batch:
        headers["Content-Encoding"] = "gzip"
    rows = file_order(world, refs, history, seed=job.id)
    return Reply(
        200,
        b"",
        _CONTENT_TYPES[job.format],
        headers,
        stream=file_chunks(world, rows, job.format, history),
        cut=None
        if history.cut_results is None or attempt
        else (history.cut_results, history.cut_results_after),
    )
