"""Whether this Canvas has the PageView History API, and what a run says when it has not.

A Canvas without the export service answers all six history calls 404 "not
available in this environment", or, as the controller's source has it, 500 (its
ConfigurationError is not rescued: docs/canvas.md#history-api). What a 404 on a
history route means is the classifier's (:mod:`pageviews.canvas.outcomes`).
"""

from __future__ import annotations

import logging
from typing import Final

from ..canvas.client import CanvasClient
from ..canvas.failures import HistoryUnavailableError as HistoryUnavailableError
from ..canvas.failures import QueryGoneError
from ..canvas.failures import absent_reason as absent_reason
from ..canvas.outcomes import POLL
from ..errors import (
    AuthenticationError,
    CanvasUnreachableError,
    PageviewsError,
    ThrottledError,
    TransientError,
)

log = logging.getLogger(__name__)

#: A well-formed query id no job has: polling it asks the service whether it is there.
PROBE_ID: Final = "00000000-0000-4000-8000-000000000000"


async def probe_history(client: CanvasClient) -> str | None:
    """Ask once whether this Canvas has the History API; None if it has, else why not.

    Polls a query id no job has (5 units on hosted Canvas, docs/canvas.md#history-costs): a
    working service answers 404 "The query was not found."; any other 404 means
    no service. Any other answer (even a refusal) comes from a route that exists.
    """
    url = client.url(f"/api/v1/users/page_views/query/{PROBE_ID}")
    try:
        # Asked twice at most: a Canvas whose export service is not configured answers
        # every history call 500 (docs/canvas.md#history-api), and waits for a fault
        # to clear would only delay every run on such a Canvas.
        await client.get(url, kind=POLL, attempts=2)
    except QueryGoneError:
        return None
    except HistoryUnavailableError as exc:
        log.info(
            "no page-view history on this Canvas: its history routes answer 404 (%s)", exc.said
        )
        return str(exc)
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
