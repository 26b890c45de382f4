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
from operator import itemgetter

from .rows import RecordRow, ReportRow, Row
from .schema import Connection

_UPSERT_VIEW = (
    # ?8 (the row's shape fields) goes to ``shapes``, not here: rows bind as they come.
    "INSERT INTO views (course_id, created, id, url, interaction, shape, remote_ip, user_id)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?9) ON CONFLICT (user_id, created, id) DO UPDATE"
    " SET course_id = excluded.course_id, url = excluded.url,"
    " interaction = excluded.interaction, shape = excluded.shape, remote_ip = excluded.remote_ip"
)
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

    def _insert(self, user_id: int, rows: list[Row]) -> None:
        if rows:
            self._db.executemany(_UPSERT_VIEW, [(*row, user_id) for row in rows])
            shapes = dict(zip(map(_SHAPE_OF, rows), map(_FIELDS_OF, rows), strict=True))
            new = [item for item in shapes.items() if item[0] not in self._shapes]
            if new:
                self._db.executemany("INSERT OR IGNORE INTO shapes VALUES (?, ?)", new)
                # Known only once committed: a rolled-back page stores its shapes again.
                self._new_shapes.extend(shape for shape, _ in new)

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
