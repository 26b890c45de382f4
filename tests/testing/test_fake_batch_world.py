"""Pure tests of batch worlds: extra courses, overlapping rosters, accounts and terms."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import replace

import pytest

from pageviews.testing import (
    ACCOUNTS,
    EMPTY_COURSE_ID,
    MAIN_COURSE_ID,
    TERMS,
    World,
    WorldSpec,
    view_course,
)
from pageviews.testing.__main__ import parse_args
from pageviews.testing.accounts import account_chain, resolve_account, resolve_term

STUDENT = "StudentEnrollment"


def _digest(world: World) -> str:
    """Hash everything generated: users, enrollments, courses, views and pages."""
    h = hashlib.sha256()
    h.update(repr((world.admin_token, world.teacher_token, sorted(world.users.items()))).encode())
    for course_id in world.course_ids:
        c = world.courses[course_id]
        h.update(repr(world.enrollment_records(course_id)).encode())
        h.update(repr((c.id, c.name, c.course_code, c.sis_course_id)).encode())
    for user_id in world.user_ids:
        v = world.views(user_id)
        h.update(v.ms.tobytes())
        h.update("".join(v.ids).encode())
        for column in (v.meta, v.interaction, v.render):
            h.update(column.tobytes())
    h.update(repr([(t.url, t.context_id) for t in world.targets]).encode())
    return h.hexdigest()


@pytest.mark.parametrize(
    ("fixture", "digest"),
    [
        ("small_world", "2a17c58f257d5c2f0d298ff0e3cf78d0e095259c606a8f7ecdd3e14db7f5d108"),
        ("test_world", "f8804923787ad5d84a4779aa9f375959ab0725ae46fdbc65b3dc8a684de04241"),
    ],
)
def test_worlds_without_extra_courses_are_unchanged(
    request: pytest.FixtureRequest, fixture: str, digest: str
) -> None:
    # Recorded before batch worlds existed: the new fields must not move a single draw.
    assert _digest(request.getfixturevalue(fixture)) == digest


def _courses_per_student(world: World) -> dict[int, set[int]]:
    taken: dict[int, set[int]] = {}
    for course_id in world.course_ids:
        for e in world.enrollment_records(course_id):
            if e.type == STUDENT:
                taken.setdefault(e.user_id, set()).add(course_id)
    return taken


def test_batch_preset_is_sized_for_tests_and_fast() -> None:
    started = time.perf_counter()
    world = World.generate(WorldSpec.preset("batch"))
    assert time.perf_counter() - started < 1.0
    assert len(world.courses) == 24
    assert 200 <= len(world.users) <= 600
    assert 20_000 <= world.total_page_views <= 60_000


def test_students_sit_in_one_to_five_overlapping_courses(batch_world: World) -> None:
    loads = Counter(len(courses) for courses in _courses_per_student(batch_world).values())
    assert set(loads) == {1, 2, 3, 4, 5}
    rosters = {
        c: {e.user_id for e in batch_world.enrollment_records(c) if e.type == STUDENT}
        for c in batch_world.course_ids
    }
    shared_with_main = [c for c in rosters if c != MAIN_COURSE_ID and rosters[c] & rosters[1693]]
    assert len(shared_with_main) >= 5


def test_course_ids_include_digit_prefix_chains(batch_world: World) -> None:
    assert {16, 17, 170, 1700, 17000, 169, 1693, 16930} <= set(batch_world.course_ids)


def test_every_course_has_a_teacher_and_one_has_no_students(batch_world: World) -> None:
    for course_id in batch_world.course_ids:
        rows = batch_world.enrollment_records(course_id)
        assert any(e.type == "TeacherEnrollment" and e.workflow_state == "active" for e in rows)
    empty = batch_world.enrollment_records(EMPTY_COURSE_ID)
    assert [e.type for e in empty] == ["TeacherEnrollment"]
    others = [c for c in batch_world.course_ids if c != EMPTY_COURSE_ID]
    assert all(any(e.type == STUDENT for e in batch_world.enrollment_records(c)) for c in others)


def test_course_1693_keeps_its_roster() -> None:
    spec = WorldSpec.preset("batch")
    plain = World.generate(replace(spec, extra_courses=0, extra_students=0))
    batch = World.generate(spec)
    assert batch.enrollment_records(MAIN_COURSE_ID) == plain.enrollment_records(MAIN_COURSE_ID)
    assert batch.courses[MAIN_COURSE_ID] == plain.courses[MAIN_COURSE_ID]


def test_views_spread_over_every_course_with_students(batch_world: World) -> None:
    seen = Counter(
        view_course(view) for uid in batch_world.user_ids for view in batch_world.page_views(uid)
    )
    for course_id in batch_world.course_ids:
        if course_id != EMPTY_COURSE_ID:
            assert seen[course_id] > 0, course_id


def test_courses_sit_in_accounts_and_terms(batch_world: World) -> None:
    accounts = Counter(c.account_id for c in batch_world.courses.values())
    terms = Counter(c.enrollment_term_id for c in batch_world.courses.values())
    assert set(accounts) == {a.id for a in ACCOUNTS}
    assert set(terms) == {t.id for t in TERMS}
    spring = next(t.id for t in TERMS if t.name == "Spring 2015")
    assert terms[spring] > len(batch_world.courses) / 2
    sandbox = batch_world.courses[EMPTY_COURSE_ID]
    assert sandbox.enrollment_term_id == resolve_term("default")


def test_account_tree_and_references() -> None:
    assert account_chain(4) == [4, 2, 1]
    assert account_chain(1) == [1]
    assert resolve_account("self") == 1
    assert resolve_account("sis_account_id:SCI") == 2
    assert resolve_account("sis_account_id:NOPE") is None
    assert resolve_account("99") is None
    assert resolve_term("sis_term_id:2015WI") == 3
    assert resolve_term("7") is None


def test_few_extra_courses_take_the_fixed_ids_first() -> None:
    world = World.generate(WorldSpec(extra_courses=3, extra_students=5))
    assert {17, 170, 1700} <= set(world.course_ids)
    assert len(world.courses) == 7


def test_large_batch_preset_has_the_benchmark_shape() -> None:
    spec = WorldSpec.preset("batch-large")  # generated by the benchmark, not here (about 10 s)
    assert 4 + spec.extra_courses == 200
    assert spec.views_total == 2_000_000
    assert 19_000 <= spec.main_students + spec.other_students + spec.extra_students <= 21_000


@pytest.mark.parametrize(("extra", "students", "most"), [(-1, 0, 5), (0, 5, 5), (2, 0, 0)])
def test_bad_batch_fields_are_refused(extra: int, students: int, most: int) -> None:
    with pytest.raises(ValueError, match=r"extra_|max_courses"):
        WorldSpec(extra_courses=extra, extra_students=students, max_courses_per_user=most)


@pytest.mark.parametrize("preset", ["batch", "batch-large"])
def test_command_accepts_the_batch_presets(preset: str) -> None:
    assert parse_args(["--preset", preset]).preset == preset
