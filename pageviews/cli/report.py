"""``pageviews report``: rebuild one course's reports from the state store, offline."""

from __future__ import annotations

from ..errors import IncompleteHarvestError
from ..outputs.rebuild import rebuild_reports
from ..wording import counted
from .invocation import selection
from .parser import build_parser
from .shell import say


def report_main(args: list[str]) -> int:
    """Rebuild the reports; exit 9 when the harvest left users unread, else 0."""
    parsed = build_parser(report=True).parse_args(args)
    options = selection(parsed)
    result = rebuild_reports(options.as_batch())
    if not parsed.quiet:
        say(
            f"{counted(result.records, 'page view')} of course {result.course_id} "
            f"from {options.state}"
        )
        say("reports: " + ", ".join(sorted(str(p) for p in result.reports.values())))
    if result.failed_users:
        raise IncompleteHarvestError(
            f"{counted(len(result.failed_users), 'user')} could not be read in that harvest "
            f"({', '.join(map(str, result.failed_users))}), reports written without them; "
            "run the harvest again to retry them"
        )
    return 0
