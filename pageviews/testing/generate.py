"""Generate the synthetic world from a `WorldSpec`, deterministically from its seed.

Only `random.Random(spec.seed)` is used, so a spec gives the same world in every
process. Views are produced per user in bulk and stored as columns
(`viewstore.UserViews`).
"""

from __future__ import annotations

import itertools
import random
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Final

from .catalog import (
    APP_NAME,
    COURSES,
    FIRST_NAMES,
    GROUPS,
    LAST_NAMES,
    USER_AGENTS,
    course_targets,
    global_targets,
    group_targets,
)
from .extra_courses import add_extra_courses
from .records import (
    DESIGNER,
    ENROLLMENT_STATES,
    LAB_COURSE_ID,
    MAIN_COURSE_ID,
    OBSERVER,
    SIBLING_COURSE_ID,
    STUDENT,
    TA,
    TEACHER,
    Course,
    Enrollment,
    Target,
    User,
)
from .viewstore import (
    FLAG_APP,
    FLAG_MASQUERADE,
    FLAG_PARTICIPATED,
    FLAG_POST,
    LINKS_ABSENT,
    LINKS_FULL,
    LINKS_NO_CONTEXT,
    UserViews,
    ViewTables,
    format_timestamp,
    pack_meta,
)

if TYPE_CHECKING:
    from .world import WorldSpec

_STATE_WEIGHTS: Final = (86.0, 3.0, 1.0, 3.0, 3.0, 1.0, 3.0)  # parallel to ENROLLMENT_STATES
_OTHER_COURSES: Final = (SIBLING_COURSE_ID, SIBLING_COURSE_ID, LAB_COURSE_ID, 2001)
# Views on the edges of the classic 2015-01-26..2015-03-12 report range, to the
# millisecond: the range holds 2015-01-26T00:00:00.000 up to 2015-03-12T23:59:59.999.
_EDGES: Final = (
    ("2015-01-25T23:59:59.999", MAIN_COURSE_ID, LINKS_FULL),
    ("2015-01-26T00:00:00.000", MAIN_COURSE_ID, LINKS_ABSENT),
    ("2015-01-26T00:00:00.000", SIBLING_COURSE_ID, LINKS_FULL),
    ("2015-03-12T23:59:59.000", MAIN_COURSE_ID, LINKS_FULL),
    ("2015-03-12T23:59:59.412", MAIN_COURSE_ID, LINKS_NO_CONTEXT),
    ("2015-03-12T23:59:59.412", SIBLING_COURSE_ID, LINKS_NO_CONTEXT),
    ("2015-03-12T23:59:59.999", MAIN_COURSE_ID, LINKS_FULL),
    ("2015-03-13T00:00:00.000", MAIN_COURSE_ID, LINKS_FULL),
)
#: Share of views that follow the one before within a second: a page and its API calls.
_BURST_SHARE: Final = 0.15


@dataclass(slots=True)
class WorldParts:
    """Hold everything generated for one world."""

    courses: dict[int, Course]
    users: dict[int, User]
    enrollments: list[Enrollment]
    groups: dict[int, int]
    tables: ViewTables
    views: dict[int, UserViews]
    admin_user_id: int
    teacher_user_id: int
    admin_token: str
    teacher_token: str


def _epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _epoch_ms(moment: date | datetime) -> int:
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


class _Builder:
    """Carry the generator state while one world is built."""

    def __init__(self, spec: WorldSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.users: dict[int, User] = {}
        self.enrollments: list[Enrollment] = []
        self.user_courses: dict[int, list[int]] = {}
        self._next_user = 5000 + self.rng.randrange(1000)
        self._next_enrollment = 70000 + self.rng.randrange(1000)

    def user(self) -> int:
        rng = self.rng
        self._next_user += rng.randint(1, 9)
        uid = self._next_user
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        day = rng.randrange(_epoch(date(2013, 8, 1)), _epoch(date(2015, 1, 1)))
        self.users[uid] = User(
            id=uid,
            name=f"{first} {last}",
            sortable_name=f"{last}, {first}",
            short_name=first,
            # A few users have no SIS id, as accounts created by hand do.
            sis_user_id=None if rng.random() < 0.03 else f"S{uid:07d}",
            login_id=f"{first.lower()}.{last.lower()}{uid % 1000}",
            created_at=format_timestamp(day * 1000),
        )
        self.user_courses[uid] = []
        return uid

    def enroll(self, uid: int, course_id: int, kind: str, state: str, section: int = 1) -> None:
        self._next_enrollment += self.rng.randint(1, 4)
        day = self.rng.randrange(_epoch(date(2014, 12, 1)), _epoch(date(2015, 1, 20)))
        self.enrollments.append(
            Enrollment(
                self._next_enrollment,
                uid,
                course_id,
                course_id * 10 + section,
                kind,
                state,
                format_timestamp(day * 1000),
                # Derived, not drawn, so every world keeps its random sequence.
                format_timestamp((day + 40 * 86_400) * 1000) if state == "active" else None,
            )
        )
        if course_id not in self.user_courses[uid]:
            self.user_courses[uid].append(course_id)

    def state(self, index: int) -> str:
        # The first students take every state once, so each preset covers them all.
        if index < len(ENROLLMENT_STATES):
            return ENROLLMENT_STATES[index]
        return self.rng.choices(ENROLLMENT_STATES, _STATE_WEIGHTS)[0]

    def token(self) -> str:
        return f"1~{self.rng.getrandbits(256):064x}"


def generate(spec: WorldSpec) -> WorldParts:
    """Build all records and page views of the world described by `spec`."""
    b = _Builder(spec)
    rng = b.rng
    admin, teacher = b.user(), b.user()
    b.enroll(admin, MAIN_COURSE_ID, TEACHER, "active")
    b.enroll(teacher, MAIN_COURSE_ID, TEACHER, "active")
    co_teacher = b.user()
    b.enroll(co_teacher, SIBLING_COURSE_ID, TEACHER, "active")
    b.enroll(co_teacher, MAIN_COURSE_ID, TEACHER, "completed")
    for state in ("active", "inactive"):
        b.enroll(b.user(), MAIN_COURSE_ID, TA, state, section=2)
    b.enroll(b.user(), MAIN_COURSE_ID, DESIGNER, "active")
    # Two users hold two roles in the course: teacher+student and TA+student.
    for kind in (TEACHER, TA):
        uid = b.user()
        b.enroll(uid, MAIN_COURSE_ID, kind, "active", section=2)
        b.enroll(uid, MAIN_COURSE_ID, STUDENT, "active")
    students = []
    for index in range(spec.main_students):
        uid = b.user()
        students.append(uid)
        state, second = b.state(index), ""
        # Some students sit in both sections, deleted in one and active in the other, or
        # active and invited: harvesters must deduplicate by user id.
        if index % 29 == 10:
            state, second = ("deleted", "active") if index < 40 else ("active", "invited")
        b.enroll(uid, MAIN_COURSE_ID, STUDENT, state, section=1 + (index % 3 == 2))
        if second:
            b.enroll(uid, MAIN_COURSE_ID, STUDENT, second, section=2)
        roll = rng.random()
        if roll < spec.sibling_share:
            b.enroll(uid, SIBLING_COURSE_ID, STUDENT, "active" if roll > 0.02 else "completed")
        elif roll < spec.sibling_share + 0.08:
            b.enroll(uid, LAB_COURSE_ID, STUDENT, "active")
    for state in ("active", "invited", "active"):
        observer = b.user()
        b.enroll(observer, MAIN_COURSE_ID, OBSERVER, state)
    for _ in range(spec.other_students):
        uid = b.user()
        b.enroll(uid, rng.choice(_OTHER_COURSES), STUDENT, b.state(len(ENROLLMENT_STATES)))
        if rng.random() < 0.2:
            b.enroll(uid, 2001, STUDENT, "active")
    extra = add_extra_courses(b, spec) if spec.extra_courses else []
    b.users[admin] = _rename(b.users[admin], "Ada", "Admin")
    b.users[teacher] = _rename(b.users[teacher], "Terry", "Teacher")
    admin_token, teacher_token = b.token(), b.token()

    tables, views = _generate_views(b, admin, students)
    return WorldParts(
        courses={c.id: c for c in (*COURSES, *extra)},
        users=b.users,
        enrollments=b.enrollments,
        groups=dict(GROUPS),
        tables=tables,
        views=views,
        admin_user_id=admin,
        teacher_user_id=teacher,
        admin_token=admin_token,
        teacher_token=teacher_token,
    )


def _rename(user: User, first: str, last: str) -> User:
    return User(
        user.id,
        f"{first} {last}",
        f"{last}, {first}",
        first,
        user.sis_user_id,
        f"{first.lower()}.{last.lower()}",
        user.created_at,
    )


class _Profiles:
    """Cache, per set of courses, the pages a user visits and their cumulative weights."""

    # Big batch worlds give nearly every user their own set of courses: past this
    # many sets, profiles are built afresh instead of kept.
    _MAX_CACHED = 2_048

    def __init__(self, course_share: float) -> None:
        self.targets: list[Target] = []
        self._index: dict[Target, int] = {}
        self._cache: dict[tuple[int, ...], tuple[list[int], list[float]]] = {}
        self._share = course_share

    def add(self, target: Target) -> int:
        index = self._index.get(target)
        if index is None:
            index = self._index[target] = len(self.targets)
            self.targets.append(target)
        return index

    def pages(self, courses: tuple[int, ...]) -> tuple[list[int], list[float]]:
        cached = self._cache.get(courses)
        if cached is not None:
            return cached
        weighted: list[tuple[Target, float]] = []
        course_weights = [1.0] + [0.25] * (len(courses) - 1)
        total = sum(course_weights)
        for course_id, weight in zip(courses, course_weights, strict=True):
            pages = course_targets(course_id)
            scale = self._share * weight / total / sum(w for _, w in pages)
            weighted += [(t, w * scale) for t, w in pages]
        groups = [g for g, c in GROUPS.items() if c in courses]
        rest = 1.0 - (self._share if courses else 0.0)
        group_share = rest * 0.3 if groups else 0.0
        for group in groups:
            pages = group_targets(group)
            scale = group_share / len(groups) / sum(w for _, w in pages)
            weighted += [(t, w * scale) for t, w in pages]
        pages = global_targets()
        scale = (rest - group_share) / sum(w for _, w in pages)
        weighted += [(t, w * scale) for t, w in pages]
        indices = [self.add(t) for t, _ in weighted]
        cum = list(itertools.accumulate(w for _, w in weighted))
        if len(self._cache) < self._MAX_CACHED:
            self._cache[courses] = (indices, cum)
        return indices, cum


def _view_counts(b: _Builder, admin: int) -> dict[int, int]:
    spec, rng = b.spec, b.rng
    raw = {}
    for uid in b.users:
        zero = rng.random() < spec.zero_view_share and uid != admin
        raw[uid] = 0.0 if zero else rng.paretovariate(spec.tail_alpha)
    cap = spec.max_user_share * sum(raw.values())
    weights = {uid: min(w, cap) for uid, w in raw.items()}
    total = sum(weights.values())
    counts = {uid: round(spec.views_total * w / total) for uid, w in weights.items()}
    # The token's own user must have views in the main course to be excluded.
    counts[admin] = max(counts[admin], 60)
    return counts


def _generate_views(
    b: _Builder, admin: int, students: list[int]
) -> tuple[ViewTables, dict[int, UserViews]]:
    spec, rng = b.spec, b.rng
    profiles = _Profiles(spec.course_share)
    # Documentation address blocks (RFC 5737): strings only, never contacted.
    nets = ("192.0.2", "198.51.100", "203.0.113")
    ips = [f"{net}.{host}" for net in nets for host in range(1, 255)]
    tables = ViewTables(profiles.targets, list(USER_AGENTS), ips, APP_NAME, admin)
    span = (_epoch_ms(spec.span_start), _epoch_ms(spec.span_end))
    term = (_epoch_ms(spec.term_start), _epoch_ms(spec.term_end))
    edges: dict[int, list[tuple[int, int, int]]] = {}
    with_views = [s for s in students if s != admin]
    for i, (stamp, course_id, mode) in enumerate(_EDGES):
        millis = _epoch_ms(datetime.fromisoformat(stamp + "+00:00"))
        target = profiles.add(course_targets(course_id)[i % 3][0])
        edges.setdefault(with_views[i % min(4, len(with_views))], []).append((millis, target, mode))
    views = {}
    for uid, n in _view_counts(b, admin).items():
        courses = tuple(b.user_courses[uid])
        views[uid] = _user_views(
            rng, profiles, courses, n, span, term, spec.contextless_share, edges.get(uid, [])
        )
    return tables, views


def _user_views(
    rng: random.Random,
    profiles: _Profiles,
    courses: tuple[int, ...],
    n: int,
    span: tuple[int, int],
    term: tuple[int, int],
    contextless_share: float,
    edges: list[tuple[int, int, int]],
) -> UserViews:
    indices, cum = profiles.pages(courses)
    targets = profiles.targets
    rand = rng.random
    agents = (rng.randrange(len(USER_AGENTS)), rng.randrange(len(USER_AGENTS)))
    ip_base = rng.randrange(700)
    chosen = rng.choices(indices, cum_weights=cum, k=n)
    rows: list[tuple[int, str, int, int, int]] = []
    last = span[0]
    span_width, term_width = span[1] - span[0], term[1] - term[0]
    for target in chosen:
        roll = rand()
        # Bursts: a page and its API calls land within the same second, sometimes the
        # same millisecond, and sometimes spill into the next second.
        if roll < _BURST_SHARE:
            millis = last + int(rand() * 700)
        elif roll < 0.85:
            millis = term[0] + int(rand() * term_width)
        else:
            millis = span[0] + int(rand() * span_width)
        last = millis
        page = targets[target]
        mode = LINKS_FULL
        if page.context_type == "Course" and rand() < contextless_share:
            mode = LINKS_ABSENT if rand() < 0.5 else LINKS_NO_CONTEXT
        rows.append(_row(rng, millis, target, page, mode, agents, ip_base))
    for millis, target, mode in edges:
        rows.append(_row(rng, millis, target, targets[target], mode, agents, ip_base))
    return _columns(rows)


def _columns(rows: list[tuple[int, str, int, int, int]]) -> UserViews:
    rows.sort()
    store = UserViews()
    if rows:
        ts, ids, meta, interaction, render = zip(*rows, strict=True)
        store.ms = array("q", ts)
        store.ids = list(ids)
        store.meta = array("Q", meta)
        store.interaction = array("i", interaction)
        store.render = array("i", render)
    return store


def crafted_views(
    tables: ViewTables, course_id: int, millis: Iterable[int], seed: int = 0
) -> UserViews:
    """Views of ``course_id`` at exactly the given times (epoch ms), for precise tests."""
    rng = random.Random(seed)
    pages = [
        i
        for i, t in enumerate(tables.targets)
        if t.context_type == "Course" and t.context_id == course_id
    ]
    rows = [
        _row(rng, ms, pages[n % len(pages)], tables.targets[pages[n % len(pages)]], LINKS_FULL,
             (0, 0), 0)
        for n, ms in enumerate(millis)
    ]  # fmt: skip
    return _columns(rows)


def _row(
    rng: random.Random,
    millis: int,
    target: int,
    page: Target,
    mode: int,
    agents: tuple[int, int],
    ip_base: int,
) -> tuple[int, str, int, int, int]:
    r = rng.random()
    h = f"{rng.getrandbits(128):032x}"
    view_id = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"
    flags = 0
    if r < 0.04:
        flags |= FLAG_PARTICIPATED | FLAG_POST
    elif r < 0.06:
        flags |= FLAG_POST
    if not page.user_request:
        flags |= FLAG_APP
    if r > 0.998:
        flags |= FLAG_MASQUERADE
    # Interaction time is capped at 600 s when Canvas stores it (docs/canvas.md#page-views-json);
    # None for API.
    interaction = min(60_000, int(rng.expovariate(1 / 3_000))) if page.user_request else -1
    render = int(rng.expovariate(1 / 300_000))
    agent = agents[0] if r < 0.8 else agents[1]
    ip = ip_base + int(r * 40) % 50
    return (millis, view_id, pack_meta(target, agent, ip, flags, mode), interaction, render)
