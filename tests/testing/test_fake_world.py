"""Pure tests of world generation and presets."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from pageviews.testing import (
    ENROLLMENT_STATES,
    ENROLLMENT_TYPES,
    MAIN_COURSE_ID,
    SIBLING_COURSE_ID,
    LateViews,
    World,
    WorldSpec,
    expected_reports,
    view_course,
)

START = datetime(2015, 1, 26, tzinfo=UTC)
END = datetime(2015, 3, 12, 23, 59, 59, tzinfo=UTC)


def _fingerprint(world: World) -> list[object]:
    views = [v["id"] for uid in world.user_ids[:20] for v in world.page_views(uid)]
    return [
        world.admin_token,
        world.teacher_token,
        world.user_ids,
        views,
        world.enrollments(MAIN_COURSE_ID),
        world.total_page_views,
    ]


def test_same_spec_gives_the_same_world(small_world: World) -> None:
    again = World.generate(WorldSpec.preset("small"))
    assert _fingerprint(again) == _fingerprint(small_world)


def test_another_seed_gives_another_world(small_world: World) -> None:
    other = World.generate(WorldSpec(seed=99))
    assert other.admin_token != small_world.admin_token
    assert _fingerprint(other) != _fingerprint(small_world)


def test_small_preset_is_small_and_fast() -> None:
    started = time.perf_counter()
    world = World.generate(WorldSpec.preset("small"))
    assert time.perf_counter() - started < 0.1
    assert 2_500 <= world.total_page_views <= 3_500
    members = {e.user_id for e in world.enrollment_records(MAIN_COURSE_ID)}
    assert 35 <= len(members) <= 60


def test_test_preset_is_big_enough(test_world: World) -> None:
    students = {
        e.user_id
        for e in test_world.enrollment_records(MAIN_COURSE_ID)
        if e.type == "StudentEnrollment" and e.workflow_state in ("active", "invited")
    }
    assert len(students) >= 320
    report = expected_reports(test_world, MAIN_COURSE_ID, START, END)
    assert len(set(report.roster) & students) >= 320
    assert len(report.records) >= 50_000
    per_user = Counter(r.user_id for r in report.records)
    assert sum(n >= 300 for n in per_user.values()) >= 30  # several 100-record pages
    assert max(per_user.values()) >= 2_000


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown world preset"):
        WorldSpec.preset("huge")


def test_page_views_are_newest_first_with_unique_ids(small_world: World) -> None:
    ids: set[str] = set()
    for uid in small_world.user_ids:
        views = list(small_world.page_views(uid))
        assert len(views) == small_world.page_view_count(uid)
        store = small_world.views(uid)
        # Newest first to the millisecond; within a millisecond by id.
        keys = [(store.ms[i], store.ids[i]) for i in range(len(store))][::-1]
        assert keys == sorted(keys, reverse=True)
        assert [v["id"] for v in views] == [view_id for _, view_id in keys]
        shown = [v["created_at"] for v in views]
        assert shown == sorted(shown, reverse=True)
        ids.update(v["id"] for v in views)
    assert len(ids) == small_world.total_page_views


def test_views_burst_within_seconds(test_world: World) -> None:
    """Bursts put several views of one user in one second, some in one millisecond."""
    same_second = same_millisecond = crossing = 0
    for uid in test_world.user_ids:
        ms = test_world.views(uid).ms
        for a, b in itertools.pairwise(ms):
            same_second += a // 1000 == b // 1000
            same_millisecond += a == b
            crossing += a // 1000 != b // 1000 and b - a < 700
    assert same_second > 10_000
    assert same_millisecond > 20
    assert crossing > 1_000
    assert any(ms % 1000 for uid in test_world.user_ids for ms in test_world.views(uid).ms)


def test_view_counts_are_heavy_tailed(test_world: World) -> None:
    counts = sorted(test_world.page_view_count(uid) for uid in test_world.user_ids)
    assert counts[0] == 0
    assert 10 <= counts[len(counts) // 2] <= 1_000
    assert counts[-1] >= 2_000


def test_page_view_json_has_every_field(small_world: World) -> None:
    views = [v for uid in small_world.user_ids for v in small_world.page_views(uid)]
    fields = {
        "id",
        "url",
        "context_type",
        "asset_type",
        "controller",
        "action",
        "interaction_seconds",
        "created_at",
        "user_request",
        "render_time",
        "user_agent",
        "participated",
        "http_method",
        "remote_ip",
        "contributed",
        "app_name",
    }
    assert all(fields <= v.keys() for v in views)
    assert all(v["http_method"] in ("get", "post") for v in views)
    assert all(v["contributed"] is False for v in views)
    seconds = [v["interaction_seconds"] for v in views if v["interaction_seconds"] is not None]
    assert max(seconds) <= 600
    assert all(round(s, 2) == s for s in seconds)
    assert {v["context_type"] for v in views} >= {"Course", "Group", None}
    assert any("links" not in v for v in views)
    with_links = [v for v in views if "links" in v]
    assert set(with_links[0]["links"]) == {"user", "context", "asset", "real_user", "account"}
    assert all(v["created_at"].endswith("Z") and len(v["created_at"]) == 20 for v in views)


def test_contextless_course_views_exist_for_both_lookalike_courses(small_world: World) -> None:
    found = Counter(
        view_course(view)
        for uid in small_world.user_ids
        for view in small_world.page_views(uid)
        if view["context_type"] is None
    )
    assert found[MAIN_COURSE_ID] > 0
    assert found[SIBLING_COURSE_ID] > 0


def test_views_sit_exactly_on_the_range_edges(small_world: World) -> None:
    stamps = {v["created_at"] for uid in small_world.user_ids for v in small_world.page_views(uid)}
    for edge in (
        "2015-01-25T23:59:59Z",
        "2015-01-26T00:00:00Z",
        "2015-03-12T23:59:59Z",
        "2015-03-13T00:00:00Z",
    ):
        assert edge in stamps


def test_enrollments_cover_types_states_and_duplicates(small_world: World) -> None:
    rows = small_world.enrollment_records(MAIN_COURSE_ID)
    assert {e.type for e in rows} == set(ENROLLMENT_TYPES)
    assert {e.workflow_state for e in rows} == set(ENROLLMENT_STATES)
    per_user = Counter(e.user_id for e in rows)
    assert any(n > 1 for n in per_user.values())
    sibling = {e.user_id for e in small_world.enrollment_records(SIBLING_COURSE_ID)}
    multi_course = sibling & set(per_user)
    assert multi_course


def test_admin_is_a_teacher_of_the_main_course_with_views(small_world: World) -> None:
    admin = small_world.admin_user_id
    rows = [e for e in small_world.enrollment_records(MAIN_COURSE_ID) if e.user_id == admin]
    assert [e.type for e in rows] == ["TeacherEnrollment"]
    assert any(view_course(v) == MAIN_COURSE_ID for v in small_world.page_views(admin))
    assert small_world.token_user(small_world.admin_token) == admin
    assert small_world.token_user(small_world.teacher_token) == small_world.teacher_user_id


def test_enrollments_are_in_roster_order(small_world: World) -> None:
    rows = small_world.enrollments(MAIN_COURSE_ID)
    keys = [(e["type"], e["user"]["sortable_name"], e["id"]) for e in rows]
    assert keys == sorted(keys)


def test_late_views_follow_their_ids_within_the_delays(small_world: World) -> None:
    late = LateViews(share=0.3, min_delay=5.0, max_delay=60.0)
    ids = [view_id for uid in small_world.user_ids for view_id in small_world.views(uid).ids]
    delays = [late.delay_ms(view_id) for view_id in ids]
    delayed = [d for d in delays if d]
    assert 0.25 < len(delayed) / len(ids) < 0.35
    assert all(5_000 <= d <= 60_000 for d in delayed)
    assert delays == [late.delay_ms(view_id) for view_id in ids]  # the same every time
