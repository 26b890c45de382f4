"""Extra courses for batch worlds: more courses, overlapping rosters, accounts and terms.

Draws only from its own `random.Random`, seeded from the spec, so a spec without
extra courses generates exactly the world it generated before they existed.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Final

from .catalog import COURSES
from .records import (
    DEFAULT_TERM_ID,
    ENROLLMENT_STATES,
    LAB_COURSE_ID,
    MAIN_COURSE_ID,
    ROOT_ACCOUNT_ID,
    SIBLING_COURSE_ID,
    SPRING_TERM_ID,
    STUDENT,
    TEACHER,
    WINTER_TERM_ID,
    Course,
)

if TYPE_CHECKING:
    from .generate import _Builder
    from .world import WorldSpec

# Ids that are digit-prefixes of each other (and 16 of 169, 1693, 16930): a
# harvester matching URL prefixes instead of whole ids mixes their views up.
FIXED_IDS: Final = (17, 170, 1700, 17000, 2002, 16)
#: A sandbox course with a teacher and no students at all.
EMPTY_COURSE_ID: Final = 2002
# (name, code, account): science in sub-account 2 or its sub-account 4, humanities in 3.
_SUBJECTS: Final = (
    ("Cell Biology", "BIOL", 2),
    ("Linear Algebra", "MATH", 4),
    ("World History", "HIST", 3),
    ("Organic Chemistry", "CHEM", 2),
    ("Ethics", "PHIL", 3),
    ("Calculus II", "MATH", 4),
    ("Microeconomics", "ECON", ROOT_ACCOUNT_ID),
    ("Poetry Workshop", "ENGL", 3),
)
# How many courses a new student takes: 1 to 5, fewer more often.
_LOAD_WEIGHTS: Final = (30.0, 25.0, 20.0, 15.0, 10.0)


def extra_course_ids(rng: random.Random, count: int) -> list[int]:
    """Return `count` course ids: the fixed ones first, then distinct random ids."""
    ids = list(FIXED_IDS[:count])
    taken = set(ids) | {c.id for c in COURSES}
    while len(ids) < count:
        course_id = rng.randrange(100, 100_000)
        if course_id not in taken:
            taken.add(course_id)
            ids.append(course_id)
    return ids


def _course(index: int, course_id: int, rng: random.Random) -> Course:
    if course_id == EMPTY_COURSE_ID:
        return Course(course_id, "Teaching Sandbox", f"SANDBOX {course_id}", None,
                      enrollment_term_id=DEFAULT_TERM_ID)  # fmt: skip
    name, code, account = _SUBJECTS[index % len(_SUBJECTS)]
    term = WINTER_TERM_ID if index % 6 == 5 else SPRING_TERM_ID
    # A few courses have no SIS id, as courses created by hand do.
    sis = None if rng.random() < 0.1 else f"{code}-{course_id}-2015"
    return Course(
        course_id, name, f"{code} {course_id}", sis, account_id=account, enrollment_term_id=term
    )


def add_extra_courses(b: _Builder, spec: WorldSpec) -> list[Course]:
    """Create the extra courses, their teachers and students; enroll existing students too."""
    rng = random.Random(f"extra-courses:{spec.seed}")
    saved, b.rng = b.rng, rng  # the builder's helpers draw from b.rng
    try:
        return _populate(b, spec, rng)
    finally:
        b.rng = saved


def _populate(b: _Builder, spec: WorldSpec, rng: random.Random) -> list[Course]:
    ids = extra_course_ids(rng, spec.extra_courses)
    courses = [_course(i, course_id, rng) for i, course_id in enumerate(ids)]
    teacher = 0
    for index, course_id in enumerate(ids):
        if index % 2 == 0:  # each teacher teaches two courses
            teacher = b.user()
        b.enroll(teacher, course_id, TEACHER, "active")
    # The older lab and writing courses have no teacher; a batch world gives them one.
    for course_id in (LAB_COURSE_ID, 2001):
        b.enroll(b.user(), course_id, TEACHER, "active")
    # Students may also meet in the older courses, though never newly in 1693.
    open_ids = [c for c in ids if c != EMPTY_COURSE_ID]
    open_ids += [SIBLING_COURSE_ID, LAB_COURSE_ID, 2001]
    limit = spec.max_courses_per_user
    existing = sorted({e.user_id for e in b.enrollments if e.type == STUDENT})
    for uid in existing:
        taken = b.user_courses[uid]
        if len(taken) < limit and rng.random() < spec.extra_join_share:
            choices = [c for c in open_ids if c not in taken]
            count = min(rng.randint(1, limit - len(taken)), len(choices))
            for course_id in rng.sample(choices, count):
                b.enroll(uid, course_id, STUDENT, _state(b))
    loads = range(1, limit + 1)
    weights = [_LOAD_WEIGHTS[min(n, len(_LOAD_WEIGHTS)) - 1] for n in loads]
    for _ in range(spec.extra_students):
        uid = b.user()
        count = min(rng.choices(loads, weights)[0], len(open_ids))
        for course_id in rng.sample(open_ids, count):
            b.enroll(uid, course_id, STUDENT, _state(b))
    seated = {e.course_id for e in b.enrollments if e.type == STUDENT}
    for course_id in open_ids:
        if course_id not in seated and course_id != MAIN_COURSE_ID:
            b.enroll(b.user(), course_id, STUDENT, "active")  # no accidental empty roster
    return courses


def _state(b: _Builder) -> str:
    return b.state(len(ENROLLMENT_STATES))  # weighted, mostly active
