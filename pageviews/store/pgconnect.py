"""Connecting to PostgreSQL: the driver, the URL as it may be shown, failures named.

Invariants:
- The password is never shown: every message names the database by :func:`display`,
  and the server's own words have the password blanked, should they ever hold it.
- A connection that cannot be made is a StateError (exit 10) naming its cause: the
  driver not installed, the server out of reach, the login refused, or no such
  database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from ..errors import StateError

if TYPE_CHECKING:
    import psycopg

SCHEMES: Final = ("postgresql://", "postgres://")
#: Seconds to wait for a server that does not answer, unless the URL says otherwise.
CONNECT_TIMEOUT: Final = 10


def is_postgres(state: object) -> bool:
    """Whether ``--state`` names a PostgreSQL database rather than a SQLite file."""
    return str(state).startswith(SCHEMES)


def display(dsn: str) -> str:
    """The URL as it may be shown: without its password (or query), wherever it was given."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def driver() -> Any:
    """The psycopg module; a StateError naming the extra when it is not installed."""
    try:
        import psycopg
    except ImportError:
        raise StateError(
            "a PostgreSQL state store needs the postgres extra: pip install 'pageviews[postgres]'"
        ) from None
    return psycopg


def connect(dsn: str, **settings: Any) -> psycopg.Connection[Any]:
    """An autocommit connection to the database ``dsn`` names, or a StateError why not."""
    pg = driver()
    given = pg.conninfo.conninfo_to_dict(dsn)
    if "connect_timeout" not in given:
        settings.setdefault("connect_timeout", CONNECT_TIMEOUT)
    try:
        connection: psycopg.Connection[Any] = pg.connect(dsn, autocommit=True, **settings)
    except pg.Error as exc:
        raise StateError(_refusal(dsn, str(exc), given)) from None
    return connection


def _refusal(dsn: str, text: str, given: dict[str, Any]) -> str:
    """One line naming why the connection failed."""
    shown = display(dsn)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    said = lines[0] if lines else "the connection failed"
    said = said.split("FATAL:", 1)[-1].strip()
    password = given.get("password")
    if password:
        said = said.replace(str(password), "***")
    if "database" in said and "does not exist" in said:
        return (
            f"cannot open the state store {shown}: {said}; create it "
            "(createdb, or CREATE DATABASE) or correct the URL"
        )
    login = ("password authentication failed", "no password supplied", "pg_hba.conf", "role")
    if any(words in said for words in login):
        return (
            f"the PostgreSQL server refused the login to the state store {shown}: {said} "
            "(check the user and password in the URL or PAGEVIEWS_STATE)"
        )
    return f"cannot reach the PostgreSQL server of the state store {shown}: {said}"
