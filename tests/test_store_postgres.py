"""What only the PostgreSQL store does: its URL, its password and its schema version."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from pageviews import course_records
from pageviews.errors import StateError
from pageviews.outputs.reportmeta import PAGE_VIEWS, PERSONAL
from pageviews.store import SCHEMA_VERSION, open_store
from pageviews.testing import World, serve
from pageviews.testing.postgres_cluster import Cluster

from .cli_process import SEED_ARGS, run_cli, write_token
from .harvesting import END, START

ORIGIN = "https://c.example.edu"
#: The records dataset's columns, as named in both the records and the page_views view.
PAGE_VIEW_COLUMNS = [name for name, _ in PAGE_VIEWS if name not in PERSONAL]


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


@pytest.mark.anyio
async def test_the_page_views_view_holds_the_records_dataset(
    small_world: World, postgres_dsn: str, tmp_path: Path
) -> None:
    write_token(tmp_path, small_world.admin_token)
    async with serve(small_world) as canvas:
        code, _, err = await run_cli(canvas, tmp_path, [*SEED_ARGS, "--state", postgres_dsn])
    assert code == 0, err
    records = [
        tuple(getattr(record, name) for name in PAGE_VIEW_COLUMNS)
        for record in course_records(postgres_dsn, 1693, START, END)
    ]
    with psycopg.connect(postgres_dsn) as db:
        rows = db.execute(
            f"SELECT {', '.join(PAGE_VIEW_COLUMNS)} FROM page_views"
            " WHERE course_id = 1693 AND created_at BETWEEN %s AND %s"
            " ORDER BY user_id, created_at, id",
            (START, END),
        ).fetchall()
    assert len(records) > 500
    assert rows == records
    assert {row[PAGE_VIEW_COLUMNS.index("controller")] for row in rows} - {None}
