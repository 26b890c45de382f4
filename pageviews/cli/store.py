"""``pageviews store info`` and ``pageviews store prune --before DATE``: store upkeep."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from ..errors import NoStoredHarvestError, UsageError
from ..options import STATE_FILE
from ..store import Store, open_store, store_lock
from ..store.lock import holder
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
    if parsed.command == "info":  # a reader: SQLite's WAL lets it beside a running run
        store = open_store(path, None)
        try:
            _info(store, path)
        finally:
            store.close()
        return 0
    when = canvas_timestamp(
        parse_bound(
            parsed.before,
            parse_timezone(parsed.timezone),
            end=False,
            flag="--before",
            now=datetime.now(UTC),
        )
    )
    with store_lock(path):
        store = open_store(path, None)
        try:
            size = _size(path)
            views, cover = store.prune(when)
            store.compact()
        finally:
            store.close()
    say(
        f"pruned {views:,} page views and {cover:,} coverage intervals before {when} from "
        f"{path}; {_mib(size)} MiB before, {_mib(_size(path))} MiB now"
    )
    return 0


def _size(path: Path) -> int:
    """The store's bytes on disk, its write-ahead log included."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f}"


def _info(store: Store, path: Path) -> None:
    facts = store.info()
    lines = [
        f"store {path}: {_mib(_size(path))} MiB, Canvas {store.origin}",
        f"users {facts['users']:,}, page views {facts['views']:,}, courses {facts['courses']:,}",
        f"views from {facts['first_view'] or '-'} to {facts['last_view'] or '-'}; coverage "
        f"from {facts['covered_from'] or '-'} to {facts['covered_to'] or '-'}",
        f"runs {facts['runs']:,} ({facts['unfinished']:,} unfinished)",
    ]
    running = holder(path)
    if running is not None:
        pid, started = running
        lines.append(f"running now: pid {pid}, started {started}")
        lines += [
            f"  run {run.run_id}: {run.start} to {run.end}, started {run.started_at}"
            for run, finished in store.runs()
            if not finished
        ][:1]
    for line in lines:
        print(line, file=sys.stdout)
