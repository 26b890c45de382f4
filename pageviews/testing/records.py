"""Record types and fixed names of the synthetic Canvas world."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

# Page-view URLs name a fixed host, not the fake's own address: Canvas records the
# host the browser used, which has nothing to do with where the API is reached.
HOST: Final = "https://canvas.example.edu"
ROOT_ACCOUNT_ID: Final = 1
# Enrollment terms (see `accounts.TERMS`): most courses run in Spring 2015.
DEFAULT_TERM_ID: Final = 1
SPRING_TERM_ID: Final = 2
WINTER_TERM_ID: Final = 3
MAIN_COURSE_ID: Final = 1693
# 169 is a prefix of 1693 and 16930 extends it: a harvester that matches URL
# prefixes instead of exact course ids mixes their views up.
SIBLING_COURSE_ID: Final = 169
LAB_COURSE_ID: Final = 16930

STUDENT: Final = "StudentEnrollment"
TEACHER: Final = "TeacherEnrollment"
TA: Final = "TaEnrollment"
DESIGNER: Final = "DesignerEnrollment"
OBSERVER: Final = "ObserverEnrollment"
ENROLLMENT_TYPES: Final = (STUDENT, TEACHER, TA, DESIGNER, OBSERVER)
# Built-in role ids of a fresh Canvas account, keyed by the base role name.
ROLE_IDS: Final = {STUDENT: 3, TEACHER: 4, TA: 5, DESIGNER: 6, OBSERVER: 7}
ENROLLMENT_STATES: Final = (
    "active",
    "invited",
    "creation_pending",
    "inactive",
    "completed",
    "rejected",
    "deleted",
)
# `active_or_pending` and `all_active_or_pending` scopes in app/models/enrollment.rb.
HIDDEN_STATES: Final = frozenset({"rejected", "completed", "deleted", "inactive"})
HIDDEN_STATES_FOR_ADMINS: Final = frozenset({"rejected", "completed", "deleted"})


@dataclass(frozen=True, slots=True)
class Course:
    """Hold one course."""

    id: int
    name: str
    course_code: str
    sis_course_id: str | None
    workflow_state: str = "available"
    account_id: int = ROOT_ACCOUNT_ID  # the root or a sub-account (`accounts.ACCOUNTS`)
    enrollment_term_id: int = SPRING_TERM_ID

    def to_json(self) -> dict[str, Any]:
        """Return the course as `GET /api/v1/courses/:id` serves it (lib/api/v1/course.rb)."""
        return {
            "id": self.id,
            "name": self.name,
            "course_code": self.course_code,
            "sis_course_id": self.sis_course_id,
            "workflow_state": self.workflow_state,
            "account_id": self.account_id,
            "root_account_id": ROOT_ACCOUNT_ID,
            "enrollment_term_id": self.enrollment_term_id,
        }


@dataclass(frozen=True, slots=True)
class User:
    """Hold one user."""

    id: int
    name: str
    sortable_name: str
    short_name: str
    sis_user_id: str | None
    login_id: str
    created_at: str

    def to_json(self, *, with_login: bool = True) -> dict[str, Any]:
        """Return the user as embedded in enrollments (lib/api/v1/user.rb)."""
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "sortable_name": self.sortable_name,
            "short_name": self.short_name,
            "created_at": self.created_at,
            "sis_user_id": self.sis_user_id,
            "integration_id": None,
        }
        # login_id only reaches admin-level callers (docs/canvas.md#page-views-json).
        if with_login:
            data["login_id"] = self.login_id
        return data


@dataclass(frozen=True, slots=True)
class Enrollment:
    """Hold one enrollment of a user in a course section."""

    id: int
    user_id: int
    course_id: int
    course_section_id: int
    type: str
    workflow_state: str
    created_at: str
    # Left out of repr so digests recorded before the field existed still hold.
    last_activity_at: str | None = field(default=None, repr=False)

    def to_json(self, user: User, *, with_login: bool = True) -> dict[str, Any]:
        """Return the enrollment as `GET /api/v1/courses/:id/enrollments` serves it."""
        data: dict[str, Any] = {
            "id": self.id,
            "user_id": self.user_id,
            "course_id": self.course_id,
            "course_section_id": self.course_section_id,
            "type": self.type,
            "role": self.type,
            "role_id": ROLE_IDS[self.type],
            "enrollment_state": self.workflow_state,
            "root_account_id": ROOT_ACCOUNT_ID,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "start_at": None,
            "end_at": None,
            "user": user.to_json(with_login=with_login),
        }
        # Activity reaches only callers with read_reports, which the fake's admins hold
        # (docs/canvas.md#page-views-json); total_activity_time is not modelled.
        if with_login:
            data["last_activity_at"] = self.last_activity_at
            data["total_activity_time"] = 0
        return data


@dataclass(frozen=True, slots=True)
class Target:
    """Describe one page a view can hit: its URL and the Canvas context it ran in."""

    url: str
    context_type: str | None
    context_id: int | None
    asset_type: str | None
    asset_id: int | None
    controller: str
    action: str
    user_request: bool = True


def enrollment_sort_key(enrollment: Enrollment, user: User) -> tuple[str, str, int]:
    """Return the roster order key: type, sortable_name, id (docs/canvas.md#roster)."""
    return (enrollment.type, user.sortable_name, enrollment.id)
