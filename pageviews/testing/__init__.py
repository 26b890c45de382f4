"""A fake Canvas LMS server and synthetic world for testing page-view harvesters.

Serve a world with `serve(World.generate(WorldSpec.preset("small")))`, point a
harvester at `fake.base_url` with `world.admin_token`, and compare its reports
with `expected_reports(...)`.
"""

from .accounts import ACCOUNTS, TERMS, Account, Term
from .config import FakeConfig, LateViews, ListQuirks
from .extra_courses import EMPTY_COURSE_ID
from .faults import ALL_FAULT_KINDS, FaultConfig, FaultKind, decide_fault
from .history_config import HistoryConfig
from .history_truth import (
    HistoryViewRow,
    SourceSplit,
    expected_history_ids,
    expected_history_rows,
    split_by_list_window,
)
from .observe import FakeStats, HistoryCall, RequestRecord
from .pagination import decode_bookmark, encode_bookmark
from .records import (
    ENROLLMENT_STATES,
    ENROLLMENT_TYPES,
    HOST,
    MAIN_COURSE_ID,
    SIBLING_COURSE_ID,
    Course,
    Enrollment,
    User,
)
from .server import FakeCanvas, serve
from .throttle import LeakyBucket, ThrottleConfig
from .truth import (
    ExpectedReports,
    PageViewRow,
    batch_roster,
    expected_reports,
    fewest_page_view_requests,
    view_course,
)
from .world import World, WorldSpec

__all__ = [
    "ACCOUNTS",
    "ALL_FAULT_KINDS",
    "EMPTY_COURSE_ID",
    "ENROLLMENT_STATES",
    "ENROLLMENT_TYPES",
    "HOST",
    "MAIN_COURSE_ID",
    "SIBLING_COURSE_ID",
    "TERMS",
    "Account",
    "Course",
    "Enrollment",
    "ExpectedReports",
    "FakeCanvas",
    "FakeConfig",
    "FakeStats",
    "FaultConfig",
    "FaultKind",
    "HistoryCall",
    "HistoryConfig",
    "HistoryViewRow",
    "LateViews",
    "LeakyBucket",
    "ListQuirks",
    "PageViewRow",
    "RequestRecord",
    "SourceSplit",
    "Term",
    "ThrottleConfig",
    "User",
    "World",
    "WorldSpec",
    "batch_roster",
    "decide_fault",
    "decode_bookmark",
    "encode_bookmark",
    "expected_history_ids",
    "expected_history_rows",
    "expected_reports",
    "fewest_page_view_requests",
    "serve",
    "split_by_list_window",
    "view_course",
]
