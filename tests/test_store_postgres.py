"""What only the PostgreSQL store does: its URL, its password and its schema version."""

from __future__ import annotations

import psycopg
import pytest

from pageviews.errors import StateError
from pageviews.store import SCHEMA_VERSION, open_store

from .postgres_cluster import Cluster

ORIGIN = "https://c.example.edu"


def test_a_newer_schema_is_refused_with_the_way_out(postgres_dsn: str) -> None:
    open_store(postgres_dsn, ORIGIN).close()
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("UPDATE meta SET value = %s WHERE name = 'schema_version'",
                     (str(SCHEMA_VERSION + 1),))  # fmt: skip
    with pytest.raises(StateError, match=f"store version {SCHEMA_VERSION + 1}"):
        open_store(postgres_dsn, ORIGIN)


def test_reading_a_database_without_a_store_creates_nothing(postgres_dsn: str) -> None:
    with pytest.raises(StateError, match="no state store in postgresql://pageviews@"):
        open_store(postgres_dsn, None)
    with psycopg.connect(postgres_dsn) as conn:
        assert conn.execute("SELECT to_regclass('meta')").fetchone() == (None,)


def test_an_unreachable_server_is_named_without_the_password(postgres_cluster: Cluster) -> None:
    dsn = f"postgresql://ann:s3cret-pw@127.0.0.1:{postgres_cluster.port + 1}/nowhere"
    with pytest.raises(StateError) as refused:
        open_store(dsn, ORIGIN)
    message = str(refused.value)
    assert message.startswith(
        "cannot reach the PostgreSQL server of the state store postgresql://ann@127.0.0.1:"
    )
    assert "s3cret-pw" not in message
