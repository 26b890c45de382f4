"""``pageviews store info`` and ``pageviews store prune --before DATE``: store upkeep."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from ..errors import NoStoredHarvestError, UsageError
from ..options import STATE_FILE
from ..store import PostgresStore, StateLocation, Store
from ..timerange import canvas_timestamp, parse_bound, parse_timezone
from .parser import DEFAULT_TIMEZONE, Parser, add_state
from .shell import say


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
        add_state(command, "the state store: a SQLite file or a postgresql:// URL (default "
                  f"$PAGEVIEWS_STATE, else {STATE_FILE})", STATE_FILE)  # fmt: skip
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
    state: StateLocation = parsed.state
    if not state.exists():
        raise NoStoredHarvestError(f"no state store at {state}")
    if parsed.command == "info":  # a reader: beside a running run (SQLite's WAL, or MVCC)
        store = state.open(None)
        try:
            _info(store, state)
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
    with state.upkeep_lock():
        store = state.open(None)
        try:
            size = _size(store, state)
            views, cover = store.prune(when)
            store.compact()
            after = _size(store, state)
        finally:
            store.close()
    say(
        f"pruned {views:,} page views and {cover:,} coverage intervals before {when} from "
        f"{state}; {_mib(size)} MiB before, {_mib(after)} MiB now"
    )
    return 0


def _size(store: Store, state: StateLocation) -> int:
    """The store's bytes: the file and its write-ahead log, or the database's tables."""
    if isinstance(store, PostgresStore):
        return store.size()
    assert state.path is not None
    path = state.path
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f}"


def _info(store: Store, state: StateLocation) -> None:
    facts = store.info()
    lines = [
        f"store {state}: {_mib(_size(store, state))} MiB, Canvas {store.origin}",
        f"users {facts['users']:,}, page views {facts['views']:,}, courses {facts['courses']:,}",
        f"views from {facts['first_view'] or '-'} to {facts['last_view'] or '-'}; coverage "
        f"from {facts['covered_from'] or '-'} to {facts['covered_to'] or '-'}",
        f"runs {facts['runs']:,} ({facts['unfinished']:,} unfinished)",
    ]
    running = state.running()
    if running:
        lines += [f"running now: {who}" for who in running]
        lines += [
            f"  run {run.run_id}: {run.start} to {run.end}, started {run.started_at}"
            for run, finished in store.runs()
            if not finished
        ][: len(running)]
    for line in lines:
        print(line, file=sys.stdout)
