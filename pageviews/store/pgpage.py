"""A page of a fetch unit stored in PostgreSQL in one statement: one round trip a page.

Invariants:
- The function does what :meth:`~.units.Units.save_page` does in one transaction
  (the statement's own, in autocommit): the store's write lock first, then the
  page's views and new shapes, the unit's next link, and on its last page its
  ``done`` state and coverage. Nothing is written when the unit must fail instead
  (it refused views): the caller then takes the general path, which words why.
- Its name carries a version: a changed body is a new function, created beside
  the old one, so runs of an older pageviews on the same database keep theirs.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Final

import orjson

from .rows import Row

NAME: Final = "pageviews_save_page_1"
#: A user's views, given as :func:`views` makes them, upserted in one statement.
UPSERT_VIEWS: Final = (
    "INSERT INTO views (user_id, course_id, created, id, url, interaction, shape, remote_ip)"
    " SELECT {user}, (v ->> 0)::BIGINT, v ->> 1, v ->> 2, v ->> 3, (v ->> 4)::FLOAT8,"
    " (v ->> 5)::BIGINT, v ->> 6 FROM jsonb_array_elements({views}) AS v"
    " ON CONFLICT (user_id, created, id) DO UPDATE"
    " SET course_id = excluded.course_id, url = excluded.url,"
    " interaction = excluded.interaction, shape = excluded.shape,"
    " remote_ip = excluded.remote_ip"
)
#: Created when missing, under the schema lock; the body resolves tables by the caller's
#: search_path, so each schema of a database holds its own store's function.
FUNCTION: Final = f"""
CREATE FUNCTION {NAME}(
    p_writes BIGINT, p_run BIGINT, p_unit BIGINT, p_user BIGINT,
    p_views JSONB, p_new_shapes JSONB,
    p_next_url TEXT, p_oldest TEXT, p_ordered INTEGER, p_refused INTEGER,
    p_done TEXT, p_start TEXT, p_end TEXT, p_source TEXT
) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    total BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(p_writes);
    IF p_next_url IS NULL THEN
        SELECT u.refused + p_refused INTO total FROM units AS u WHERE u.unit_id = p_unit;
        IF total IS NULL OR total > 0 THEN
            RETURN coalesce(total, -1);  -- the general path fails the unit, words why
        END IF;
    END IF;
    {UPSERT_VIEWS.format(user="p_user", views="p_views")};
    IF jsonb_array_length(p_new_shapes) > 0 THEN
        INSERT INTO shapes SELECT (s ->> 0)::BIGINT, decode(s ->> 1, 'hex')
        FROM jsonb_array_elements(p_new_shapes) AS s
        ON CONFLICT DO NOTHING;
    END IF;
    IF p_next_url IS NOT NULL THEN
        UPDATE units SET next_url = p_next_url, pages = pages + 1, oldest = p_oldest,
            ordered = p_ordered, refused = refused + p_refused
        WHERE unit_id = p_unit;
        RETURN 0;
    END IF;
    UPDATE units SET next_url = NULL, pages = pages + 1, state = p_done, oldest = p_oldest,
        ordered = p_ordered, refused = 0, detail = NULL
    WHERE unit_id = p_unit;
    INSERT INTO coverage SELECT p_user, p_start, p_end, started_at, p_source
    FROM runs WHERE run_id = p_run;
    RETURN 0;
END
$$
"""
EXISTS: Final = f"SELECT count(*) FROM pg_proc WHERE proname = '{NAME}'" + (
    " AND pronamespace = current_schema()::regnamespace"
)
#: The function's call with libpq's placeholders, every argument in text.
CALL: Final = f"SELECT {NAME}({', '.join(f'${n}' for n in range(1, 15))})"
_STORED = itemgetter(0, 1, 2, 3, 4, 5, 6)  # a Row's values kept in ``views``
_CREATED_ID = itemgetter(1, 2)


def shapes(new: dict[int, bytes]) -> str:
    """New shapes and their fields as JSON: [[shape, fields in hex], ...]."""
    return orjson.dumps([(shape, fields.hex()) for shape, fields in new.items()]).decode()


def views(rows: list[Row]) -> str:
    """The views' seven stored values as JSON, oldest first, the last copy of each view only.

    One statement may not update a row twice; oldest first keeps the index pages full.
    One JSON text binds in a few microseconds where seven arrays take a third of a
    millisecond a page to adapt; orjson's floats read back as the same doubles.
    """
    latest = {_CREATED_ID(row): row for row in rows}
    return orjson.dumps(list(map(_STORED, sorted(latest.values(), key=_CREATED_ID)))).decode()
