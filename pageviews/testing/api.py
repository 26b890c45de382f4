"""Canvas API endpoints as pure functions from a request value to a `Reply`.

No I/O here: the aiohttp layer (`app.py`) authenticates, throttles, injects
faults and writes the bytes.
"""

from __future__ import annotations

import re
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from . import replies
from .account_courses import account_courses
from .config import FakeConfig, LateViews
from .history_routes import history_path
from .pagination import (
    PAGE_VIEWS_MAX_PER_PAGE,
    decode_bookmark,
    encode_bookmark,
    page_url,
    per_page,
    ruby_to_i,
)
from .records import (
    ENROLLMENT_TYPES,
    HIDDEN_STATES,
    HIDDEN_STATES_FOR_ADMINS,
    HOST,
    ROLE_IDS,
    enrollment_sort_key,
)
from .replies import Reply
from .timeparse import epoch_us, parse_canvas_time, to_iso_millis
from .viewstore import UserViews
from .world import World

_ROUTES: Final = (
    ("self", re.compile(r"/api/v1/users/self/?")),
    ("page_views", re.compile(r"/api/v1/users/([^/]+)/page_views/?")),
    ("course", re.compile(r"/api/v1/courses/([^/]+)/?")),
    ("enrollments", re.compile(r"/api/v1/courses/([^/]+)/enrollments/?")),
    ("account_courses", re.compile(r"/api/v1/accounts/([^/]+)/courses/?")),
)


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """Hold what an endpoint needs from one authenticated request."""

    path: str
    query: tuple[tuple[str, str], ...]
    origin: str  # scheme://host as the client reached us, for absolute links
    caller: int  # the token's user id
    now: datetime

    def get(self, name: str) -> str | None:
        """Return the first value of a query parameter."""
        return next((v for k, v in self.query if k == name), None)

    def get_all(self, name: str) -> list[str]:
        """Return every value of an array parameter (`name[]`, or bare `name`)."""
        return [v for k, v in self.query if k in (name, name + "[]")]


def route(path: str) -> tuple[str, str] | None:
    """Return (endpoint, path argument) for an API path, or None if unknown."""
    for name, pattern in _ROUTES:
        match = pattern.fullmatch(path)
        if match:
            return name, (match.group(1) if match.groups() else "")
    return None


def page_views_user(world: World, path: str, caller: int | None) -> int | None:
    """Return the user id a page-views path (list or per-user history) names, or None."""
    found = route(path)
    history = history_path(path)
    if found is not None and found[0] == "page_views":
        ref = found[1]
    elif history is not None and history.user_ref is not None:
        ref = history.user_ref
    else:
        return None
    return caller if ref == "self" else world.resolve_user(ref)


def handle(world: World, config: FakeConfig, request: ApiRequest) -> Reply:
    """Serve one authenticated API request."""
    found = route(request.path)
    if found is None:
        return replies.not_found()
    name, arg = found
    if name == "self":
        return replies.json_reply(self_json(world, request.caller))
    if name == "page_views":
        return page_views(world, config, request, arg)
    if name == "course":
        return course(world, config, request, arg)
    if name == "account_courses":
        return account_courses(world, config, request, arg)
    return enrollments(world, config, request, arg)


def self_json(world: World, user_id: int) -> dict[str, object]:
    """Return the JSON of `GET /api/v1/users/self`."""
    user = world.users[user_id]
    return {
        **user.to_json(),
        "avatar_url": f"{HOST}/images/messages/avatar-50.png",
        "locale": None,
        "effective_locale": "en",
    }


def course(world: World, config: FakeConfig, request: ApiRequest, ref: str) -> Reply:
    """Serve `GET /api/v1/courses/:id`."""
    course_id = world.resolve_course(ref)
    if course_id is None:
        return replies.not_found()
    enrolled = any(e.user_id == request.caller for e in world.enrollment_records(course_id))
    if not (world.is_account_admin(request.caller) or enrolled):
        return replies.unauthorized(config.auth_error_status)
    return replies.json_reply(world.courses[course_id].to_json())


def enrollments(world: World, config: FakeConfig, request: ApiRequest, ref: str) -> Reply:
    """Serve `GET /api/v1/courses/:id/enrollments` (enrollments_api_controller.rb#index)."""
    course_id = world.resolve_course(ref)
    if course_id is None:
        return replies.not_found()
    admin = world.is_account_admin(request.caller)
    staff = admin or world.is_course_staff(request.caller, course_id)
    if not staff:  # read_roster; only the admin and course staff hold tokens here
        return replies.unauthorized(config.auth_error_status)
    rows = world.enrollment_records(course_id)
    roles = request.get_all("role")
    role_ids = request.get_all("role_id")
    if roles and not role_ids:
        # An unknown role name raises ActionController::BadRequest "role not found".
        if any(r not in ROLE_IDS for r in roles):
            return replies.errors_reply(400, "role not found")
        role_ids = [str(ROLE_IDS[r]) for r in roles]
    types = request.get_all("type")
    if role_ids:  # type[] is ignored once a role is given
        wanted_roles = {ruby_to_i(r) for r in role_ids}
        rows = [e for e in rows if ROLE_IDS[e.type] in wanted_roles]
    elif types:
        rows = [e for e in rows if e.type in types]
    states = request.get_all("state")
    user_ref = request.get("user_id")
    if user_ref is not None:
        user_id = request.caller if user_ref == "self" else world.resolve_user(user_ref)
        if user_id is None:
            return replies.not_found()
        rows = [e for e in rows if e.user_id == user_id]
    if states:
        rows = [e for e in rows if e.workflow_state in states]  # matched literally
    elif user_ref is not None:
        # With user_id the controller goes through user_index_enrollments, whose
        # default is active and invited only.
        rows = [e for e in rows if e.workflow_state in ("active", "invited")]
    else:
        # read_as_admin callers (account admins, course teachers) also see inactive.
        hidden = HIDDEN_STATES_FOR_ADMINS if staff else HIDDEN_STATES
        rows = [e for e in rows if e.workflow_state not in hidden]
    size = per_page(request.get("per_page"))
    start = 0
    bookmark = decode_bookmark(request.get("page"))
    if _valid_enrollment_bookmark(bookmark):
        assert bookmark is not None
        key = (str(bookmark[0]), str(bookmark[1]), int(str(bookmark[2])))
        start = next(
            (i for i, e in enumerate(rows) if enrollment_sort_key(e, world.users[e.user_id]) > key),
            len(rows),
        )
    page = rows[start : start + size]
    base = f"{request.origin}/api/v1/courses/{course_id}/enrollments"
    links = [("current", page_url(base, request.query, request.get("page") or "first", size))]
    if start + size < len(rows):
        last = page[-1]
        mark = list(enrollment_sort_key(last, world.users[last.user_id]))
        links.append(("next", page_url(base, request.query, encode_bookmark(mark), size)))
    links.append(("first", page_url(base, request.query, "first", size)))
    data = [e.to_json(world.users[e.user_id], with_login=admin) for e in page]
    reply = replies.json_reply(data, items=len(data))
    reply.links = links
    return reply


def _valid_enrollment_bookmark(bookmark: list[object] | None) -> bool:
    return (
        bookmark is not None
        and len(bookmark) == 3
        and isinstance(bookmark[0], str)
        and isinstance(bookmark[1], str)
        and isinstance(bookmark[2], int)
        and bookmark[0] in ENROLLMENT_TYPES
    )


def page_views(world: World, config: FakeConfig, request: ApiRequest, ref: str) -> Reply:
    """Serve `GET /api/v1/users/:user_id/page_views` (page_views_controller.rb#index)."""
    user_id = request.caller if ref == "self" else world.resolve_user(ref)
    if user_id is None:
        return replies.not_found()
    # view_statistics is granted only to account admins, not teachers or the user.
    if not world.is_account_admin(request.caller):
        return replies.unauthorized(config.auth_error_status)
    start = parse_canvas_time(request.get("start_time"))  # unparseable: silently ignored
    end = parse_canvas_time(request.get("end_time"))
    if start is not None and start > request.now:
        return replies.pv4_error(400, "start_time cannot be in the future")
    if start is not None and end is not None and end < start:
        return replies.pv4_error(400, "end_time must be after start_time")
    if config.retention_days is not None:
        cutoff = request.now - timedelta(days=config.retention_days)
        start = cutoff if start is None else max(start, cutoff)
    store = world.views(user_id)
    lo, hi = store.window(
        None if start is None else epoch_us(start), None if end is None else epoch_us(end)
    )
    shown = _visible(store, lo, hi, request.now, config.late)
    quirks = config.quirks
    size = per_page(request.get("per_page"), min(PAGE_VIEWS_MAX_PER_PAGE, quirks.max_per_page))
    base = f"{request.origin}/api/v1/users/{user_id}/page_views"
    raw_page = request.get("page")
    links: list[tuple[str, str]] = []
    late_page = quirks.late_page(user_id)
    indices: Sequence[int]
    if late_page is not None:
        indices, number, more = _late_chain_page(
            store, shown, size, late_page, config.pagination, raw_page
        )
    elif config.pagination == "numeric":
        number = max(ruby_to_i(raw_page or "1"), 1)
        top = len(shown) - (number - 1) * size
        indices = shown[max(0, top - size) : max(0, top)][::-1]
        if config.oldest_first:
            indices = shown[(number - 1) * size : number * size]
        more = top - size > 0
    else:
        older = bisect_left(shown, _apply_view_bookmark(store, lo, hi, decode_bookmark(raw_page)))
        indices = shown[:older][-size:][::-1]
        number, more = (len(shown) - older) // size + 1, bool(indices)
    if (user_id, number) in quirks.gone_pages:
        return replies.not_found()
    if config.pagination == "numeric":
        links.append(("current", page_url(base, request.query, str(number), size)))
        if more:
            links.append(("next", page_url(base, request.query, str(number + 1), size)))
        if number > 1:
            links.append(("prev", page_url(base, request.query, str(number - 1), size)))
        links.append(("first", page_url(base, request.query, "1", size)))
        # No count query: `last` is known only once the final page is reached.
        if not more and (indices or number == 1):
            links.append(("last", page_url(base, request.query, str(number), size)))
    else:
        links.append(("current", page_url(base, request.query, raw_page or "first", size)))
        # pv4: every non-empty page has a next link (Pv4Client#for_user calls has_more!).
        if indices:
            last = indices[-1]
            mark = [to_iso_millis(store.ms[last]), store.ids[last]]
            links.append(("next", page_url(base, request.query, encode_bookmark(mark), size)))
        links.append(("first", page_url(base, request.query, "first", size)))
    data = [store.to_json(i, user_id, world.tables) for i in indices]
    if user_id in quirks.idless_users:
        for view in data:
            if zlib.crc32(view["id"].encode()) % 5 == 0:
                del view["id"]
    reply = replies.json_reply(data, items=len(data))
    reply.links = links
    # docs/canvas.md#request-costs: grows with per_page, not with rows
    if config.throttle is not None:
        reply.extra_cost = config.throttle.list_cost_per_page_size * size
    return reply


def _late_chain_page(
    store: UserViews,
    shown: Sequence[int],
    size: int,
    late_page: int,
    pagination: str,
    raw_page: str | None,
) -> tuple[Sequence[int], int, bool]:
    """A page of a chain whose newest view comes on page ``late_page`` instead of first.

    Return the page's view indices, its number in the chain and whether more follow.
    The chain is fixed by the query alone, so any page of it can be asked again.
    """
    chain = list(reversed(shown))
    if len(chain) > (late_page - 1) * size:
        chain.insert((late_page - 1) * size, chain.pop(0))
    if pagination == "numeric":
        at = (max(ruby_to_i(raw_page or "1"), 1) - 1) * size
    else:
        at, bookmark = 0, decode_bookmark(raw_page)
        if bookmark is not None and len(bookmark) == 2 and bookmark[1] in store.ids:
            marked = store.ids.index(str(bookmark[1]))
            # A bookmark names the last view served; one not in this chain restarts it.
            at = chain.index(marked) + 1 if marked in chain else 0
    page = chain[at : at + size]
    return page, at // size + 1, (bool(page) if pagination != "numeric" else at + size < len(chain))


def _visible(
    store: UserViews, lo: int, hi: int, now: datetime, late: LateViews | None
) -> Sequence[int]:
    """The indices of [lo, hi) already visible at ``now``, ascending."""
    now_ms = epoch_us(now) // 1000
    hi = max(lo, min(hi, bisect_right(store.ms, now_ms)))  # nothing from the future
    if late is None:
        return range(lo, hi)
    # Only views younger than the longest delay can still be hidden.
    settled = max(lo, min(hi, bisect_left(store.ms, now_ms - int(late.max_delay * 1000) - 1)))
    recent = [i for i in range(settled, hi) if store.ms[i] + late.delay_ms(store.ids[i]) <= now_ms]
    return [*range(lo, settled), *recent]


def _apply_view_bookmark(store: UserViews, lo: int, hi: int, bookmark: list[object] | None) -> int:
    """Cut [lo, hi) to the views after a pv4 bookmark [created_at ms, request id]."""
    if bookmark is None or len(bookmark) != 2:
        return hi
    stamp, view_id = bookmark
    if not isinstance(stamp, str) or not isinstance(view_id, str):
        return hi
    moment = parse_canvas_time(stamp)
    if moment is None:
        return hi
    return store.before(lo, hi, epoch_us(moment) // 1000, view_id)
