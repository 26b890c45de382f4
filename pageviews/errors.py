"""Errors the harvester raises, each with the exit code the CLI maps it to."""

from __future__ import annotations


class PageviewsError(Exception):
    """Base class: a failure the CLI reports in one line."""

    exit_code = 1


class UsageError(PageviewsError):
    """The invocation itself is wrong (bad flag, date, URL, token file, out dir)."""

    exit_code = 2


class TokenFileError(UsageError):
    """The token file is missing, empty or unreadable."""

    exit_code = 11


class OutputDirError(UsageError):
    """The output directory cannot be written."""

    exit_code = 12


class AuthenticationError(PageviewsError):
    """Canvas rejected the token (invalid, expired or revoked)."""

    exit_code = 3


class PermissionDeniedError(PageviewsError):
    """The token is valid but may not read what was asked."""

    exit_code = 4


class NotFoundError(PageviewsError):
    """Canvas answered 404 for a course or user."""

    exit_code = 5


class ProtocolError(PageviewsError):
    """Canvas (or something in front of it) answered in a way the API never does."""

    exit_code = 7


class UnsafeLinkError(ProtocolError):
    """A pagination link points away from the configured Canvas origin."""

    exit_code = 8


class BodyTooLargeError(ProtocolError):
    """A response body ran past the size cap: no Canvas page is that large."""


class BadRequestError(PageviewsError):
    """Canvas refused the parameters (HTTP 400)."""

    exit_code = 2


class IncompleteHarvestError(PageviewsError):
    """Some users could not be fetched; the reports lack their page views."""

    exit_code = 9


class StateError(PageviewsError):
    """The state store cannot be used (wrong Canvas, corrupt, unwritable)."""

    exit_code = 10


class StoreBusyError(StateError):
    """Another run holds the state store's lock."""

    exit_code = 13


class NoStoredHarvestError(PageviewsError):
    """``pageviews report``: the state store holds no harvest of this selection."""

    exit_code = 14


class CoursesFailedError(PageviewsError):
    """Some courses of a batch could not be read; the others' reports were written."""

    exit_code = 15


class AccountNotFoundError(PageviewsError):
    """``pageviews batch``: Canvas knows no such ``--account``, or no such ``--term``."""

    exit_code = 16


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first non-group leaf, preferring our own errors, for one-line reporting."""
    leaves: list[BaseException] = []

    def collect(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                collect(inner)
        else:
            leaves.append(exc)

    collect(group)
    for leaf in leaves:
        if isinstance(leaf, PageviewsError):
            return leaf
    return leaves[0]


# Transient failures: retried by the retry policy, surfaced only when retries run out.


class TransientError(PageviewsError):
    """A failure worth retrying: 5xx, reset, timeout, truncated body."""

    exit_code = 6

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        said: str = "",
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status, self.said = status, said  # the HTTP status and Canvas's own message


class ThrottledError(TransientError):
    """Canvas refused the request for rate limiting (429, or 403 with evidence)."""


class PaginationLoopError(TransientError):
    """A pagination link led back to a page already seen; the page is fetched again."""


class CanvasUnreachableError(TransientError):
    """The Canvas host could not be reached (DNS, refused, reset): fatal once retries run out."""
