"""``pageviews store info`` and ``pageviews store prune --before DATE``: store upkeep."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from ..errors import NoStoredHarvestError, UsageError
from ..options import STATE_FILE
from ..store import Store, open_store, store_lock
from ..timerange import canvas_timestamp, parse_bound, parse_timezone
from .parser import DEFAULT_TIMEZONE, Parser
from .shell import say

DEFAULT_STORE = Path(STATE_FILE)


def build_store_parser() -> tuple[Parser, dict[str, Parser]]:
    """``info`` and ``prune``, each on one store: the parser and each command's own."""
    p = Parser(prog="pageviews store", description="Look after a state store.")
    sub = p.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="size, users, views, coverage span, courses")
    prune = sub.add_parser("prune", help="forget page views (and coverage) before a date")
    prune.add_date(
        "--before",
        required=True,
        metavar="DATE",
        help="YYYY-MM-DD, ISO 8601, today, yesterday or -Nd (N days ago)",
    )
    prune.add_argument(
        "--timezone",
        default=DEFAULT_TIMEZONE,
        help=f"zone for the date (default {DEFAULT_TIMEZONE})",
    )
    for command in (info, prune):
        command.add_argument("--state", type=Path, default=DEFAULT_STORE, help="the state store")
    return p, {"info": info, "prune": prune}


def store_main(args: list[str]) -> int:
    """Run a store command."""
    parser, commands = build_store_parser()
    if not args:  # a subcommand is needed: show which there are
        print(parser.format_help(), end="", file=sys.stderr)
        return UsageError.exit_code
    parsed, extra = parser.parse_known_args(args)
    if extra:  # the command's own flags are what its user got wrong
        commands[parsed.command].error(f"unrecognized arguments: {' '.join(extra)}")
    path: Path = parsed.state
    if not path.is_file():
        raise NoStoredHarvestError(f"no state store at {path}")
    with store_lock(path):
        store = open_store(path, None)
        try:
            if parsed.command == "info":
                _info(store, path)
            else:
                when = parse_bound(
                    parsed.before,
                    parse_timezone(parsed.timezone),
                    end=False,
                    flag="--before",
                    now=datetime.now(UTC),
                )
                views, cover = store.prune(canvas_timestamp(when))
                say(
                    f"pruned {views:,} page views and {cover:,} coverage intervals before "
                    f"{canvas_timestamp(when)} from {path}"
                )
        finally:
            store.close()
    return 0


def _info(store: Store, path: Path) -> None:
    facts = store.info()
    size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    lines = [
        f"store {path}: {size / 2**20:,.1f} MiB, Canvas {store.origin}",
        f"users {facts['users']:,}, page views {facts['views']:,}, courses {facts['courses']:,}",
        f"views from {facts['first_view'] or '-'} to {facts['last_view'] or '-'}; coverage "
        f"from {facts['covered_from'] or '-'} to {facts['covered_to'] or '-'}",
        f"runs {facts['runs']:,} ({facts['unfinished']:,} unfinished)",
    ]
    for line in lines:
        print(line, file=sys.stdout)
