"""The synthetic Canvas world: its specification, presets and read-only accessors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, ClassVar

from .generate import crafted_views, generate
from .records import (
    DESIGNER,
    TA,
    TEACHER,
    Course,
    Enrollment,
    Target,
    User,
    enrollment_sort_key,
)
from .viewstore import UserViews, ViewTables


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """Describe a world to generate; the same spec always gives the same world."""

    seed: int = 1693
    name: str = "custom"
    main_students: int = 40  # students of course 1693 (each a distinct user)
    other_students: int = 30  # users enrolled only in other courses
    views_total: int = 3_000  # page views of all users together, all contexts
    course_share: float = 0.75  # share of a member's views inside their courses
    sibling_share: float = 0.25  # share of 1693 students also enrolled in 169
    contextless_share: float = 0.03  # course views served without their context
    zero_view_share: float = 0.06  # users with no page views at all
    tail_alpha: float = 1.3  # Pareto shape of the per-user view counts
    max_user_share: float = 0.05  # cap of one user's share of all views
    span_start: date = date(2015, 1, 5)
    span_end: date = date(2015, 4, 1)  # exclusive
    term_start: date = date(2015, 1, 12)  # most views fall in the term
    term_end: date = date(2015, 3, 21)
    # Batch worlds (`extra_courses.py`); zero keeps every older world exactly as it was.
    extra_courses: int = 0  # courses besides the four fixed ones
    extra_students: int = 0  # new users who study only in the extra (and older) courses
    extra_join_share: float = 0.5  # share of existing students who join extra courses
    max_courses_per_user: int = 5  # a student sits in 1 to this many courses

    PRESETS: ClassVar[tuple[str, ...]] = (
        "small",
        "test",
        "demo",
        "bench-latency",
        "bench-throttle",
        "bench-tiny",
        "bench-tiny-heavy",
        "bench-cpu",
        "bench-cpu-250k",
        "batch",
        "batch-large",
        "history-year",
        "history-term",
        "bench-export",
        "bench-export-quarter",
    )

    def __post_init__(self) -> None:
        if self.extra_courses < 0 or self.extra_students < 0:
            raise ValueError("extra_courses and extra_students cannot be negative")
        if self.extra_students and not self.extra_courses:
            raise ValueError("extra_students needs extra_courses")
        if self.max_courses_per_user < 1:
            raise ValueError("max_courses_per_user must be at least 1")

    @classmethod
    def preset(cls, name: str) -> WorldSpec:
        """Return the named preset (one of `PRESETS`)."""
        base = cls(name=name)
        if name == "small":
            return base
        if name in ("test", "demo"):
            return replace(
                base,
                seed=1693 if name == "test" else 2015,
                main_students=380,
                other_students=150,
                views_total=200_000,
            )
        if name == "bench-latency":
            # About 400 users in the default roster and 1,400 minimal requests, so a
            # one-at-a-time client at 50 ms latency takes about a minute.
            return replace(
                base, seed=400, main_students=418, other_students=60, views_total=100_000
            )
        if name == "bench-throttle":
            return replace(
                base,
                seed=7,
                main_students=420,
                other_students=80,
                views_total=420_000,
                course_share=0.85,
            )
        if name == "bench-tiny":
            # About 270 minimal requests costing ~220 units under issue 10's tiny bucket
            # (hwm 60, outflow 3/s): the bucket binds for most of a ~53 s bound.
            return replace(base, seed=5, main_students=100, views_total=20_000)
        if name == "bench-tiny-heavy":
            # The tiny bucket over a course with a few heavy users: four of its 44 users
            # hold 1,400 to 2,400 views each, long chains of full pages.
            return replace(base, seed=21, views_total=20_000, max_user_share=0.12, tail_alpha=1.0)
        if name in ("bench-cpu", "bench-cpu-250k"):
            # The same world at a quarter of the views shows memory not growing with records.
            return replace(
                base,
                seed=11,
                main_students=300,
                other_students=10,
                views_total=1_150_000 if name == "bench-cpu" else 287_500,
                course_share=0.93,
                sibling_share=0.05,
                max_user_share=0.02,
            )
        if name in ("batch", "batch-large"):
            # batch: 24 courses with overlapping rosters, generated in well under a second
            # for tests; batch-large: 200 courses, about 20,000 users and 2,000,000 views
            # for the batch benchmark.
            large = name == "batch-large"
            return replace(
                base,
                seed=200 if large else 24,
                main_students=400 if large else 60,
                other_students=100 if large else 30,
                views_total=2_000_000 if large else 30_000,
                extra_courses=196 if large else 20,
                extra_students=19_300 if large else 240,
                max_user_share=0.001 if large else base.max_user_share,
            )
        if name == "history-year":
            # A year of views, most of them in a September-to-April year of study, for
            # the history benchmark's twelve-month rows.
            return replace(
                base,
                seed=12,
                views_total=9_000,
                span_start=date(2014, 4, 21),
                span_end=date(2015, 4, 20),
                term_start=date(2014, 9, 1),
                term_end=date(2015, 4, 18),
            )
        if name == "history-term":
            # A course of about 150 students through a September-to-April year, for the
            # history benchmark's hosted rows (issue 17): four months back is mostly
            # history, the last 30 days the list endpoint.
            return replace(
                base,
                seed=17,
                main_students=160,
                other_students=20,
                views_total=80_000,
                course_share=0.85,
                max_user_share=0.01,
                span_start=date(2014, 9, 1),
                span_end=date(2015, 4, 20),
                term_start=date(2014, 9, 1),
                term_end=date(2015, 4, 18),
            )
        if name in ("bench-export", "bench-export-quarter"):
            # Ten students with a month of heavy use: one history query's export file of
            # about 590,000 rows (a quarter of that for -quarter), to show memory flat.
            return replace(
                base,
                seed=31,
                main_students=10,
                other_students=2,
                views_total=600_000 if name == "bench-export" else 150_000,
                zero_view_share=0.0,
                max_user_share=0.2,
                span_start=date(2015, 3, 1),
                span_end=date(2015, 4, 1),
                term_start=date(2015, 3, 2),
                term_end=date(2015, 3, 31),
            )
        raise ValueError(f"unknown world preset {name!r}; choose from {', '.join(cls.PRESETS)}")


class World:
    """Hold a generated world; read it through the methods, never mutate it."""

    def __init__(
        self,
        spec: WorldSpec,
        *,
        courses: dict[int, Course],
        users: dict[int, User],
        enrollments: list[Enrollment],
        groups: dict[int, int],
        tables: ViewTables,
        views: dict[int, UserViews],
        admin_user_id: int,
        teacher_user_id: int,
        admin_token: str,
        teacher_token: str,
    ) -> None:
        self.spec = spec
        self.courses = courses
        self.users = users
        self.groups = groups
        self.tables = tables
        self.admin_user_id = admin_user_id
        self.teacher_user_id = teacher_user_id
        self.admin_token = admin_token
        self.teacher_token = teacher_token
        self.tokens = {admin_token: admin_user_id, teacher_token: teacher_user_id}
        self.course_ids = sorted(courses)
        self.user_ids = sorted(users)
        self._views = views
        self._enrollments: dict[int, list[Enrollment]] = {c: [] for c in courses}
        for e in enrollments:
            self._enrollments[e.course_id].append(e)
        for rows in self._enrollments.values():
            rows.sort(key=lambda e: enrollment_sort_key(e, users[e.user_id]))
        self._sis_users = {u.sis_user_id: u.id for u in users.values() if u.sis_user_id}
        self._sis_courses = {c.sis_course_id: c.id for c in courses.values() if c.sis_course_id}
        self.total_page_views = sum(len(v) for v in views.values())

    @classmethod
    def generate(cls, spec: WorldSpec) -> World:
        """Generate the world described by `spec`."""
        parts = generate(spec)
        return cls(
            spec,
            courses=parts.courses,
            users=parts.users,
            enrollments=parts.enrollments,
            groups=parts.groups,
            tables=parts.tables,
            views=parts.views,
            admin_user_id=parts.admin_user_id,
            teacher_user_id=parts.teacher_user_id,
            admin_token=parts.admin_token,
            teacher_token=parts.teacher_token,
        )

    def with_views(self, user_id: int, course_id: int, millis: Iterable[int]) -> World:
        """A copy of this world where ``user_id`` has exactly the views at ``millis``.

        The views land in ``course_id`` at the given epoch milliseconds: a precise
        history (a burst across a page or window edge) for tests to aim at.
        """
        views = dict(self._views)
        views[user_id] = crafted_views(self.tables, course_id, millis, seed=user_id)
        enrollments = [e for rows in self._enrollments.values() for e in rows]
        return World(
            self.spec,
            courses=self.courses,
            users=self.users,
            enrollments=enrollments,
            groups=self.groups,
            tables=self.tables,
            views=views,
            admin_user_id=self.admin_user_id,
            teacher_user_id=self.teacher_user_id,
            admin_token=self.admin_token,
            teacher_token=self.teacher_token,
        )

    @property
    def targets(self) -> list[Target]:
        """Return every page a view can point at."""
        return self.tables.targets

    def resolve_user(self, ref: str) -> int | None:
        """Return the user id for a path segment: numeric or `sis_user_id:X`."""
        if ref.startswith("sis_user_id:"):
            return self._sis_users.get(ref.removeprefix("sis_user_id:"))
        return int(ref) if ref.isdigit() and int(ref) in self.users else None

    def resolve_course(self, ref: str) -> int | None:
        """Return the course id for a path segment: numeric or `sis_course_id:X`."""
        if ref.startswith("sis_course_id:"):
            return self._sis_courses.get(ref.removeprefix("sis_course_id:"))
        return int(ref) if ref.isdigit() and int(ref) in self.courses else None

    def token_user(self, token: str) -> int | None:
        """Return the user a token belongs to, or None for an unknown token."""
        return self.tokens.get(token)

    def enrollment_records(self, course_id: int) -> list[Enrollment]:
        """Return the course's enrollments in roster order (type, sortable_name, id)."""
        return list(self._enrollments.get(course_id, ()))

    def enrollments(self, course_id: int) -> list[dict[str, Any]]:
        """Return the course's enrollments as served to the admin token, in roster order."""
        return [e.to_json(self.users[e.user_id]) for e in self._enrollments.get(course_id, ())]

    def is_account_admin(self, user_id: int) -> bool:
        """Tell whether the user is the account admin (holds view_statistics)."""
        return user_id == self.admin_user_id

    def is_course_staff(self, user_id: int, course_id: int) -> bool:
        """Tell whether the user teaches the course (an active teacher, TA or designer)."""
        return any(
            e.user_id == user_id
            and e.type in (TEACHER, TA, DESIGNER)
            and e.workflow_state == "active"
            for e in self._enrollments.get(course_id, ())
        )

    def views(self, user_id: int) -> UserViews:
        """Return the column store of one user's views (empty for unknown users)."""
        return self._views.get(user_id) or UserViews()

    def page_view_count(self, user_id: int) -> int:
        """Return how many page views the user has in total."""
        return len(self.views(user_id))

    def page_views(self, user_id: int) -> Iterator[dict[str, Any]]:
        """Yield the user's page views as served, newest first."""
        store = self.views(user_id)
        for index in range(len(store) - 1, -1, -1):
            yield store.to_json(index, user_id, self.tables)
