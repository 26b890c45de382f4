"""Ground truth for the analyst outputs: inactive users and the record-level dataset.

Built from the world and :func:`expected_reports`, not from the harvester's code.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from .truth import _window_ms, expected_reports, roster_enrollments, view_course
from .world import World


def expected_inactive(
    world: World, course_id: int, start: datetime, end: datetime, **selection: Any
) -> list[dict[str, Any]]:
    """Roster users without views in the range, by id: types and newest last activity.

    ``selection`` is ``enrollment_types``/``enrollment_states`` as for expected_reports.
    """
    truth = expected_reports(world, course_id, start, end, **selection)
    enrollment_types = selection.get("enrollment_types")
    enrollment_states = selection.get("enrollment_states")
    active = {r.user_id for r in truth.records}
    me = world.token_user(world.admin_token)
    found: dict[int, dict[str, Any]] = {}
    for e in roster_enrollments(world, course_id, enrollment_types, enrollment_states, me):
        if e.user_id in active:
            continue
        row = found.setdefault(
            e.user_id,
            {
                "user_id": e.user_id,
                "user_name": world.users[e.user_id].name,
                "enrollment_types": [],
                "last_activity_at": None,
                "course_id": course_id,
            },
        )
        if e.type not in row["enrollment_types"]:
            row["enrollment_types"] = sorted([*row["enrollment_types"], e.type])
        if e.last_activity_at and (row["last_activity_at"] or "") < e.last_activity_at:
            row["last_activity_at"] = e.last_activity_at
    return [found[u] for u in sorted(found)]


def expected_page_views(
    world: World,
    course_id: int,
    start: datetime,
    end: datetime,
    *,
    enrollment_types: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """Every view of the course's roster in the range as served, with ``user_id``, by
    (user, created_at, id)."""
    truth = expected_reports(world, course_id, start, end, enrollment_types=enrollment_types)
    lo, hi = _window_ms(start, end)
    wanted = {r.id for r in truth.records}
    views = []
    for user_id in truth.roster:
        store = world.views(user_id)
        for index, millis in enumerate(store.ms):
            if lo <= millis < hi:
                view = store.to_json(index, user_id, world.tables)
                if view["id"] in wanted and view_course(view) == course_id:
                    wanted.discard(view["id"])
                    views.append({**view, "user_id": user_id})
    views.sort(key=lambda v: (v["user_id"], v["created_at"], v["id"]))
    return views
