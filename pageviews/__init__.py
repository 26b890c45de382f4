"""Harvest Canvas LMS page views for whole courses, concurrently and politely.

The library face: build a :class:`CanvasClient` on your own ``aiohttp.ClientSession``,
then call :func:`harvest_course`, or iterate one user's pages with
:meth:`CanvasClient.page_views`; read a harvested course back with
:func:`course_records` (typed records) or :func:`records_table` (Arrow).
"""

from .canvas.client import CanvasClient, ClientStats, normalize_base_url
from .canvas.ratelimit import RateLimit
from .canvas.responses import Page
from .canvas.retry import RetryPolicy
from .errors import (
    AuthenticationError,
    BadRequestError,
    BodyTooLargeError,
    CanvasUnreachableError,
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
from .outputs.stored import PageViewRecord, course_records, records_table
from .sources.records import course_of
from .timerange import TimeRange, parse_bound, request_bounds

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "BodyTooLargeError",
    "CanvasClient",
    "CanvasUnreachableError",
    "ClientStats",
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
    "normalize_base_url",
    "parse_bound",
    "records_table",
    "request_bounds",
]
