"""Harvest Canvas LMS page views for whole courses, concurrently and politely.

The library face: build a :class:`CanvasClient` on your own ``aiohttp.ClientSession``,
then call :func:`harvest_courses` with :class:`BatchOptions` (or :func:`harvest_course`
for one course), or iterate one user's pages with :meth:`CanvasClient.page_views`;
read a harvested course back with :func:`course_records` (typed records) or
:func:`records_table` (Arrow).
"""

from .batch import harvest_courses
from .canvas.client import CanvasClient, ClientStats, normalize_base_url
from .canvas.ratelimit import RateLimit
from .canvas.responses import Page
from .canvas.retry import RetryPolicy
from .engine import Event
from .errors import (
    AccountNotFoundError,
    AuthenticationError,
    BadRequestError,
    BodyTooLargeError,
    CanvasUnreachableError,
    CoursesFailedError,
    IncompleteHarvestError,
    NoStoredHarvestError,
    NotFoundError,
    OutputDirError,
    PageviewsError,
    PermissionDeniedError,
    ProtocolError,
    StateError,
    StoreBusyError,
    ThrottledError,
    TokenFileError,
    TransientError,
    UnsafeLinkError,
    UsageError,
)
from .harvest import HarvestOptions, HarvestResult, Progress, harvest_course
from .options import BatchOptions
from .outputs.stored import PageViewRecord, course_records, records_table
from .results import BatchResult, CourseResult
from .sources.records import course_of
from .timerange import TimeRange, parse_bound, parse_timezone, request_bounds
from .tokens import read_token

__all__ = [
    "AccountNotFoundError",
    "AuthenticationError",
    "BadRequestError",
    "BatchOptions",
    "BatchResult",
    "BodyTooLargeError",
    "CanvasClient",
    "CanvasUnreachableError",
    "ClientStats",
    "CourseResult",
    "CoursesFailedError",
    "Event",
    "HarvestOptions",
    "HarvestResult",
    "IncompleteHarvestError",
    "NoStoredHarvestError",
    "NotFoundError",
    "OutputDirError",
    "Page",
    "PageViewRecord",
    "PageviewsError",
    "PermissionDeniedError",
    "Progress",
    "ProtocolError",
    "RateLimit",
    "RetryPolicy",
    "StateError",
    "StoreBusyError",
    "ThrottledError",
    "TimeRange",
    "TokenFileError",
    "TransientError",
    "UnsafeLinkError",
    "UsageError",
    "course_of",
    "course_records",
    "harvest_course",
    "harvest_courses",
    "normalize_base_url",
    "parse_bound",
    "parse_timezone",
    "read_token",
    "records_table",
    "request_bounds",
]
