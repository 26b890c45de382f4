"""Fixed catalogue of the synthetic world: courses, names and the pages users visit."""

from __future__ import annotations

from typing import Final

from .records import HOST, LAB_COURSE_ID, MAIN_COURSE_ID, SIBLING_COURSE_ID, Course, Target

COURSES: Final = (
    Course(MAIN_COURSE_ID, "Introduction to Data Analysis", "DATA 1693", "DATA-1693-2015SP"),
    Course(SIBLING_COURSE_ID, "Statistics I", "STAT 169", "STAT-169-2015SP"),
    Course(LAB_COURSE_ID, "Data Analysis Lab", "DATA 1693L", None),
    Course(2001, "Academic Writing", "WRIT 2001", "WRIT-2001-2015SP"),
)
# Course groups (group id -> course id); their pages run in a "Group" context.
GROUPS: Final = {801: MAIN_COURSE_ID, 802: MAIN_COURSE_ID, 803: MAIN_COURSE_ID, 811: 169}

_FIRST = (
    "Ada Alan Amara Ana Bo Carmen Chen Dara Elif Emil Farah Grace Hana Ivan Jamal Jin "
    "Kofi Lena Luis Maya Mei Nia Noah Omar Priya Quinn Ravi Rosa Sam Sofia Tariq Uma Vera "
    "Wen Xavier Yara Yusuf Zoe Ines Olga"
)
FIRST_NAMES: Final = tuple(_FIRST.split())
_LAST = (
    "Abara Berg Castro Diallo Eriksen Fischer Garcia Haddad Ito Jensen Kaur Lindqvist "
    "Moreau Nakamura Okafor Petrov Quispe Rossi Santos Tanaka Umarov Varga Wong Xu Yilmaz "
    "Zhang Novak Silva Khan Larsen"
)
LAST_NAMES: Final = tuple(_LAST.split())
USER_AGENTS: Final = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/40.0.2214.111 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_2) AppleWebKit/600.3.18 (KHTML, like Gecko) "
    "Version/8.0.3 Safari/600.3.18",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:35.0) Gecko/20100101 Firefox/35.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 8_1_3 like Mac OS X) AppleWebKit/600.1.4 "
    "(KHTML, like Gecko) Mobile/12B466",
    "candroid/4.0.1 (Android 5.0.1; Nexus 5)",
    "iCanvas/2.3.0 (iPhone; iOS 8.1.3)",
)
APP_NAME: Final = "Canvas Student"


def course_targets(course_id: int) -> list[tuple[Target, float]]:
    """Return the pages of one course with their relative popularity."""
    base = f"{HOST}/courses/{course_id}"
    api = f"{HOST}/api/v1/courses/{course_id}"
    # Asset ids are derived from the course id so each course has its own.
    n = course_id * 10

    def page(path: str, asset: tuple[str, int] | None, ctl: str, act: str) -> Target:
        asset_type, asset_id = asset if asset else (None, None)
        return Target(base + path, "Course", course_id, asset_type, asset_id, ctl, act)

    return [
        (page("", None, "courses", "show"), 3.0),
        (page("/modules", None, "context_modules", "index"), 4.0),
        (page("/pages/syllabus-notes", ("WikiPage", n + 1), "wiki_pages", "show"), 1.5),
        (page("/pages/week-1", ("WikiPage", n + 2), "wiki_pages", "show"), 1.5),
        (page(f"/assignments/{n + 3}", ("Assignment", n + 3), "assignments", "show"), 2.0),
        (page(f"/assignments/{n + 4}", ("Assignment", n + 4), "assignments", "show"), 1.5),
        (page(f"/assignments/{n + 5}?module_item_id=7", None, "assignments", "show"), 0.5),
        (page(f"/quizzes/{n + 6}", ("Quizzes::Quiz", n + 6), "quizzes/quizzes", "show"), 1.5),
        (page(f"/quizzes/{n + 7}/take", ("Quizzes::Quiz", n + 7), "quizzes/quizzes", "take"), 1.0),
        (page(f"/files/{n + 8}", ("Attachment", n + 8), "files", "show"), 1.0),
        (page(f"/files/{n + 9}/download", ("Attachment", n + 9), "files", "show"), 0.5),
        (
            page(
                f"/discussion_topics/{n + 10}",
                ("DiscussionTopic", n + 10),
                "discussion_topics",
                "show",
            ),
            1.5,
        ),
        (page("/grades", None, "gradebooks", "grade_summary"), 2.0),
        (page("#top", None, "courses", "show"), 0.2),
        (
            Target(
                f"{api}/modules?include[]=items",
                "Course",
                course_id,
                None,
                None,
                "context_modules_api",
                "index",
                user_request=False,
            ),
            1.0,
        ),
        (
            Target(
                f"{api}/assignments",
                "Course",
                course_id,
                None,
                None,
                "assignments_api",
                "index",
                user_request=False,
            ),
            0.5,
        ),
    ]


def group_targets(group_id: int) -> list[tuple[Target, float]]:
    """Return the pages of one course group."""
    base = f"{HOST}/groups/{group_id}"
    return [
        (Target(base, "Group", group_id, None, None, "groups", "show"), 2.0),
        (
            Target(
                f"{base}/discussion_topics/{group_id * 10}",
                "Group",
                group_id,
                "DiscussionTopic",
                group_id * 10,
                "discussion_topics",
                "show",
            ),
            1.0,
        ),
        (
            Target(
                f"{base}/pages/notes", "Group", group_id, "WikiPage", None, "wiki_pages", "show"
            ),
            1.0,
        ),
    ]


def global_targets() -> list[tuple[Target, float]]:
    """Return pages outside any course (no context: dashboard, profile, inbox)."""
    return [
        (Target(f"{HOST}/", None, None, None, None, "users", "user_dashboard"), 5.0),
        (Target(f"{HOST}/profile", None, None, None, None, "profile", "show"), 0.5),
        (Target(f"{HOST}/conversations", None, None, None, None, "conversations", "index"), 2.0),
        (Target(f"{HOST}/calendar", None, None, None, None, "calendars", "show"), 1.0),
        (
            Target(
                f"{HOST}/accounts/1/courses?search_term=1693",
                "Account",
                1,
                None,
                None,
                "accounts",
                "courses",
            ),
            0.1,
        ),
    ]
