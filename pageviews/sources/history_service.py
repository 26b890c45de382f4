"""Whether this Canvas has the PageView History API, and what a 404 on its routes means.

A Canvas without the export service answers all six history calls 404 "not
available in this environment" (contract §9), or, as the controller's source
has it, 500 (its ConfigurationError is not rescued: docs/canvas.md#history-api);
an older Canvas has no such routes (Canvas's own 404 for an unknown path); a
proxy in front may answer a bare "Not Found". None of these says anything
about a user. Only two 404s come from a working History API: "The query was not
found." (an unknown or expired query id) and "The result for query was not
found." (an expired file).
"""

from __future__ import annotations

import logging
from typing import Final, Literal

from ..canvas.client import CanvasClient
from ..errors import (
    AuthenticationError,
    CanvasUnreachableError,
    NotFoundError,
    PageviewsError,
    ProtocolError,
    ThrottledError,
    TransientError,
)

log = logging.getLogger(__name__)

#: A well-formed query id no job has: polling it asks the service whether it is there.
PROBE_ID: Final = "00000000-0000-4000-8000-000000000000"
_RECORD_MISSING: Final = "the specified resource does not exist"

Meaning = Literal["absent", "query gone", "record missing"]


class HistoryUnavailableError(ProtocolError):
    """Canvas has no page-view history (its history calls answer 404 as no service would)."""


def history_404(message: str) -> Meaning:
    """What a 404 on a history route means, from its message (Canvas's or anyone's).

    ``query gone``: the service is there and no longer has the query or its file;
    ``record missing``: Canvas's 404 for a record, which on a start may be a user
    Canvas no longer knows (and on an older Canvas, a route it does not have);
    ``absent``: anything else, the service's own "not available" included.
    """
    text = message.lower()
    if "query was not found" in text or "result for query was not found" in text:
        return "query gone"
    if text.startswith(_RECORD_MISSING):
        return "record missing"
    return "absent"


def absent_reason(message: str) -> str:
    """The reason a run gives for reading without history."""
    return f"Canvas's page-view history is not available here (HTTP 404: {message})"


async def probe_history(client: CanvasClient) -> str | None:
    """Ask once whether this Canvas has the History API; None if it has, else why not.

    Polls a query id no job has (5 units on hosted Canvas, contract §9): a
    working service answers 404 "The query was not found."; any other 404 means
    no service. Any other answer (even a refusal) comes from a route that exists.
    """
    url = client.url(f"/api/v1/users/page_views/query/{PROBE_ID}")
    try:
        # Asked twice at most: a Canvas whose export service is not configured answers
        # every history call 500 (docs/canvas.md#history-api), and waits for a fault
        # to clear would only delay every run on such a Canvas.
        await client.get(url, kind="history-poll", attempts=2)
    except NotFoundError as exc:
        message = str(exc)
        if history_404(message) == "query gone":
            return None
        log.info("no page-view history on this Canvas: its history routes answer 404 (%s)", message)
        return absent_reason(message)
    except (AuthenticationError, CanvasUnreachableError):
        raise
    except TransientError as exc:
        if exc.status is None or exc.status < 500 or isinstance(exc, ThrottledError):
            log.info("the page-view history probe could not tell: %s", exc)
            return None
        log.info("no page-view history on this Canvas: its history routes answer %s", exc)
        return (
            f"Canvas's page-view history is not available here (HTTP {exc.status} every "
            f"time it was asked: {exc.said or 'no message'})"
        )
    except PageviewsError as exc:
        # A refusal, a 400 or failures past the retry time: a route that answers, or
        # one that cannot tell; the service's own calls will say more.
        log.info("the page-view history probe answered: %s", exc)
    return None


def only_impossible(reason: str) -> HistoryUnavailableError:
    """The error of ``--history only`` on a Canvas without history (exit 7)."""
    return HistoryUnavailableError(
        f"{reason}; --history only cannot read anything here: use --history auto, which "
        "reads the whole range from the list endpoint"
    )


def absent_note(reason: str, window_days: int) -> str:
    """The one note of an ``auto`` run that read without history."""
    return (
        f"{reason}: the whole range was read from the list endpoint, which on a self-hosted "
        f"Canvas keeps every view (hosted Canvas serves only the last {window_days} days there)"
    )
