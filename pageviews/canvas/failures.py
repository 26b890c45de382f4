"""The error each :class:`~.outcomes.Outcome` raises, with the words each call uses. Pure."""

from __future__ import annotations

from ..errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PageviewsError,
    PermissionDeniedError,
    ProtocolError,
    ThrottledError,
    TransientError,
)
from .outcomes import RESULTS, START, Answer, Call, Outcome


class HistoryUnavailableError(ProtocolError):
    """Canvas has no page-view history (its history calls answer 404 as no service would)."""

    def __init__(self, message: str, *, said: str = "") -> None:
        super().__init__(message)
        self.said = said  # Canvas's own message


class QueryGoneError(NotFoundError):
    """Canvas no longer has a history query or its result (expired or unknown): start again."""


def absent_reason(message: str) -> str:
    """The reason a run gives for reading without history."""
    return f"Canvas's page-view history is not available here (HTTP 404: {message})"


_WHAT: dict[Call, str] = {START: " for a history call", RESULTS: " for a history result"}


def failure(answer: Answer, call: Call) -> PageviewsError:
    """The error ``answer`` (not a success) means as the reply to ``call``."""
    outcome, status, message = answer.outcome, answer.status, answer.message
    if outcome is Outcome.THROTTLED:
        return ThrottledError(
            f"rate limited by Canvas (HTTP {status})", retry_after=answer.retry_after
        )
    if outcome is Outcome.BUSY:  # on a download, retried as a throttle is
        return ThrottledError(f"rate limited by Canvas (HTTP {status}: {message})")
    if outcome is Outcome.TOKEN_REJECTED:
        return AuthenticationError(f"Canvas rejected the token: {message}")
    if outcome is Outcome.REFUSED:
        return PermissionDeniedError(message)
    if outcome is Outcome.NOT_FOUND:
        return NotFoundError(message)
    if outcome is Outcome.GONE:
        return QueryGoneError(message)
    if outcome is Outcome.UNAVAILABLE:
        return HistoryUnavailableError(absent_reason(message), said=message)
    if outcome is Outcome.BAD_REQUEST:
        if call == RESULTS:  # an unusable file (docs/canvas.md#history-files)
            return TransientError(f"Canvas could not serve the file: {message}")
        what = "history query" if call == START else "request"
        return BadRequestError(f"Canvas refused the {what}: {message}")
    if outcome is Outcome.FAULT:
        return TransientError(
            f"HTTP {status} from Canvas{_WHAT.get(call, '')}",
            retry_after=answer.retry_after,
            status=status,
            said=message,
        )
    if outcome is Outcome.REDIRECT:
        return ProtocolError(
            f"Canvas redirected (HTTP {status}); use the final address as the base URL"
        )
    if call == START:
        return ProtocolError(f"unexpected HTTP {status} starting a history query: {message}")
    if call == RESULTS:
        return ProtocolError(f"unexpected HTTP {status} for a history result")
    return ProtocolError(f"unexpected HTTP {status} from Canvas: {message}")
