"""Who may use a PostgreSQL store at once: advisory locks by selection, not by file.

Invariants:
- A harvest holds two session-level advisory locks on a connection of its own: the
  store's, shared, and its selection's (a hash of the run key), exclusive. Runs of
  different selections (other courses, ranges or filters) go on together; a second
  run of the same selection fails at once (exit 13) and never waits.
- ``store prune`` holds the store's lock exclusively: it runs alone.
- The locks are the server's: a run killed however (even ``kill -9``) loses its
  connection, and with it its locks; a host lost, within about 90 s (TCP keepalives);
  nothing is left to clean up.
- Keys are hashed in the schema the URL selects: stores in two schemas of one
  database (two Canvas instances) never hold each other's locks.
- The lock's connection says who holds it (``application_name``: pid and host), so
  a run refused and ``store info`` can name the run that holds it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from ..errors import StoreBusyError
from .pgconnect import connect, display

#: What every lock connection calls itself; ``store info`` finds the runs by it.
_APPLICATION: Final = "pageviews"
#: A lock's 64-bit key: the hash of its name within the URL's schema.
_KEY: Final = "hashtextextended(coalesce(current_schema(), '') || '/' || %s, 0)"
#: Sessions holding one of a database's advisory locks, with the key it is held on.
_HOLDERS: Final = (
    "SELECT a.application_name, a.backend_start, (l.classid::bigint << 32) | l.objid::bigint"
    " FROM pg_locks AS l JOIN pg_stat_activity AS a USING (pid)"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND a.application_name LIKE 'pageviews %%' ORDER BY a.backend_start"
)


@contextmanager
def advisory_locks(dsn: str, selection: str | None, *, shared: bool) -> Iterator[None]:
    """Hold the store's lock (``shared`` or alone) and ``selection``'s, if any, for the block."""
    me = f"{_APPLICATION} pid {os.getpid()} on {socket.gethostname()}"[:63]
    connection = connect(dsn, application_name=me)
    try:
        # The server frees a lost host's locks once it finds the connection dead: ask it
        # to look after a minute's silence rather than its default two hours.
        for name, value in (("idle", 60), ("interval", 10), ("count", 3)):
            connection.execute(f"SET tcp_keepalives_{name} = {value}")
        how = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        _take(connection, dsn, how, "store", "pruning" if shared else "in use by a run")
        if selection is not None:
            _take(connection, dsn, "pg_try_advisory_lock", f"run {selection}", "selection")
        yield
    finally:
        connection.close()  # the server drops the session's locks with it


def holders(dsn: str) -> list[str]:
    """The runs holding locks in the store now, a line each."""
    with connect(dsn) as connection:
        rows = connection.execute(_HOLDERS).fetchall()
    seen = dict.fromkeys(f"{name}, started {_when(start)}" for name, start, _ in rows)
    return [line.removeprefix(f"{_APPLICATION} ") for line in seen]


def _take(connection: Any, dsn: str, how: str, name: str, what: str) -> None:
    (granted, key) = connection.execute(f"SELECT {how}({_KEY}), {_KEY}", (name, name)).fetchone()
    if granted:
        return
    held = [
        f"{who.removeprefix(f'{_APPLICATION} ')}, started {_when(start)}"
        for who, start, locked in connection.execute(_HOLDERS).fetchall()
        if locked == key
    ]
    by = f" ({held[0]})" if held else ""
    if what == "selection":
        reason = f"another pageviews run{by} is harvesting this selection into"
    elif what == "pruning":
        reason = f"a pageviews store prune{by} is running on"
    else:
        reason = f"pageviews runs{by} are using"
    raise StoreBusyError(
        f"{reason} the state store {display(dsn)}; wait for it to end, or use another --state"
    )


def _when(start: Any) -> str:
    return str(start.astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")) if start else "?"
