"""`GET /api/v1/accounts/:account_id/courses`, as `AccountsController#courses_api` serves it.

A pure endpoint like those in `api.py`: app/controllers/accounts_controller.rb
(`courses_api`), `Account#associated_courses` in app/models/account.rb, and
numbered pagination from `Api.paginate` in lib/api.rb.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from . import replies
from .accounts import account_chain, resolve_account, resolve_term
from .config import FakeConfig
from .pagination import numbered_links, per_page
from .replies import Reply
from .world import World

if TYPE_CHECKING:
    from .api import ApiRequest

# The default `state[]`: every course state but deleted.
_DEFAULT_STATES: Final = ("created", "claimed", "available", "completed")


def account_courses(world: World, config: FakeConfig, request: ApiRequest, ref: str) -> Reply:
    """Serve one numbered page of the account's courses, ordered by id."""
    account_id = resolve_account(ref)
    if account_id is None:
        return replies.not_found()  # api_find in get_context raises RecordNotFound
    # read_course_list: only the account admin holds it; teachers are refused.
    if not world.is_account_admin(request.caller):
        return replies.unauthorized(config.auth_error_status)
    states = request.get_all("state") or list(_DEFAULT_STATES)
    if "all" in states:
        states = [*_DEFAULT_STATES, "deleted"]
    # associated_courses: the root lists all its courses; a sub-account lists its own
    # and its sub-accounts' courses (course_account_associations), with no opt-in.
    rows = [
        course
        for course_id, course in sorted(world.courses.items())
        if account_id in account_chain(course.account_id) and course.workflow_state in states
    ]
    term_ref = request.get("enrollment_term_id")
    if term_ref is not None:
        # api_find on the root account's terms: an unknown term is a 404, not an empty list.
        term_id = resolve_term(term_ref)
        if term_id is None:
            return replies.not_found()
        rows = [c for c in rows if c.enrollment_term_id == term_id]
    raw_page = request.get("page")
    raw_page = "1" if raw_page is None else raw_page.strip()
    # will_paginate's PageNumber takes only an integer from 1 up; its InvalidPage is a 404.
    if not raw_page.isdigit() or int(raw_page) < 1:
        return replies.not_found()
    page = int(raw_page)
    size = per_page(request.get("per_page"))
    chunk = rows[(page - 1) * size : page * size]
    # The links name the account as the request did (the route's own path parameter).
    base = f"{request.origin}/api/v1/accounts/{quote(ref, safe=':')}/courses"
    reply = replies.json_reply([c.to_json() for c in chunk], items=len(chunk))
    reply.links = numbered_links(base, request.query, page, size, len(chunk))
    return reply
