"""Page views and their shapes, users' names, and the reads reports are rendered from.

Invariants:
- Page views belong to users, so the store does too: ``views`` holds each page
  view once, keyed by (user, second, id), with the course it belongs to. A view
  read again (a window edge, a page re-read after a crash, a later run) replaces
  its earlier copy, so corrections Canvas makes later win. Only views that belong
  to some course are kept; no course report could use the others.
- Each view keeps the researcher's fields for the records dataset: its context and
  asset ids and address, and a ``shape`` naming its row in ``shapes``, which holds
  each distinct combination of the fields that repeat (controller, action, user
  agent...) once. A shape's digest is of its content, so a shape is never rewritten.
- Reports read a user's views of one course in a range, by (time, id), each id once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from itertools import chain
from operator import itemgetter
from typing import Final

from .rows import RecordRow, ReportRow, Row
from .schema import Connection

#: A page's views go in a few multi-row statements, one per power of two in the row
#: count, so the connection's statement cache holds only these few. Binding each value
#: once beats executemany's round trip per row (and binding the shape's fields, which go
#: to ``shapes``) by about a third of the store's CPU (``make bench``, cpu scenario).
_UPSERT_SIZES: Final = (64, 32, 16, 8, 4, 2, 1)


def _upsert_views(rows: int) -> str:
    """The upsert of ``rows`` views of one user: ?1 is the user, then seven values a view."""
    values = ",".join(
        f"({', '.join(f'?{2 + 7 * row + column}' for column in range(7))}, ?1)"
        for row in range(rows)
    )
    return (
        "INSERT INTO views (course_id, created, id, url, interaction, shape, remote_ip, user_id)"
        f" VALUES {values} ON CONFLICT (user_id, created, id) DO UPDATE"
        " SET course_id = excluded.course_id, url = excluded.url,"
        " interaction = excluded.interaction, shape = excluded.shape,"
        " remote_ip = excluded.remote_ip"
    )


_UPSERT_VIEWS: Final = {rows: _upsert_views(rows) for rows in _UPSERT_SIZES}
_STORED = itemgetter(0, 1, 2, 3, 4, 5, 6)  # a Row's values kept in ``views``
_CREATED_OF = itemgetter(1)
_SHAPE_OF = itemgetter(5)
_FIELDS_OF = itemgetter(7)


class Views(Connection):
    """Page views, their shapes, and the reads of them reports make."""

    def add_views(self, rows: list[tuple[int, Row]]) -> None:
        """Store views of several users as they stream in (a part of an export file)."""
        by_user: dict[int, list[Row]] = {}
        for user_id, row in rows:
            by_user.setdefault(user_id, []).append(row)
        with self._tx():
            for user_id, user_rows in by_user.items():
                self._insert(user_id, user_rows)

    def _write_views(self, user_id: int, rows: list[Row]) -> None:
        """Upsert one user's views, a later copy of a view in ``rows`` winning."""
        # Oldest first: inserted newest first, as Canvas sends them, B-tree pages split in
        # half and the file grows by ~40 %. sorted() is stable: of two copies of a view in
        # ``rows`` the later still wins, as a statement's later row updates its earlier.
        ordered = sorted(rows, key=_CREATED_OF)
        at, count = 0, len(ordered)
        for size in _UPSERT_SIZES:
            while count - at >= size:
                values = chain.from_iterable(map(_STORED, ordered[at : at + size]))
                self._db.execute(_UPSERT_VIEWS[size], [user_id, *values])
                at += size

    def _insert(self, user_id: int, rows: list[Row]) -> None:
        """Store one user's views and the shapes among them the store may not hold."""
        self._write_views(user_id, rows)
        self._add_shapes(rows)

    def _add_shapes(self, rows: list[Row]) -> None:
        """Store the shapes of ``rows`` the store may not hold."""
        new = set(map(_SHAPE_OF, rows)).difference(self._shapes)
        if new:
            fields = dict(zip(map(_SHAPE_OF, rows), map(_FIELDS_OF, rows), strict=True))
            self._db.executemany(
                "INSERT INTO shapes VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(shape, fields[shape]) for shape in new],
            )
            # Known only once committed: a rolled-back page stores its shapes again.
            self._new_shapes.extend(new)

    # Reports ----------------------------------------------------------------

    def user_rows(self, user_id: int, course_id: int, start: str, end: str) -> Iterator[ReportRow]:
        """One user's views of a course in ``[start, end]``, by (time, id), each id once."""
        with (
            self._failing("read"),
            closing(
                self._db.execute(
                    "SELECT course_id, created, id, url, interaction FROM views"
                    " WHERE user_id = ? AND created BETWEEN ? AND ? AND course_id = ?"
                    " ORDER BY created, id",
                    (user_id, start, end, course_id),
                )
            ) as cursor,
        ):
            yield from cursor

    def course_users(self, course_id: int) -> list[tuple[int, str]]:
        """Users with stored views of a course, and their names, by user id."""
        return self._rows(
            "SELECT DISTINCT v.user_id, COALESCE(u.name, '') FROM views AS v"
            " LEFT JOIN users AS u USING (user_id) WHERE v.course_id = ? ORDER BY v.user_id",
            (course_id,),
        )

    def user_records(
        self, user_id: int, course_id: int, start: str, end: str
    ) -> Iterator[RecordRow]:
        """One user's views of a course with the researcher's fields, by (time, id):
        (created, id, url, seconds, shape fields, remote_ip)."""
        with (
            self._failing("read"),
            closing(
                self._db.execute(
                    "SELECT created, id, url, interaction, fields, remote_ip"
                    " FROM views LEFT JOIN shapes USING (shape)"
                    " WHERE user_id = ? AND created BETWEEN ? AND ? AND course_id = ?"
                    " ORDER BY created, id",
                    (user_id, start, end, course_id),
                )
            ) as cursor,
        ):
            yield from cursor
