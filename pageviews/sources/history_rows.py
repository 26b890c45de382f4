"""Read a PageView History export file as it streams in: pure, no I/O.

The export files come from closed-source code, so their exact columns are not
known (contract §9): they are read by header name, tolerantly. The body may be
gzip whatever the headers say (batch results never set ``Content-Encoding``), so
it is sniffed by its magic bytes; CSV and JSONL are told apart by the first
byte. Each row becomes a list-endpoint view and goes through the same course
filter and whole-second clip as pages do (:func:`~.records.course_rows`).
"""

from __future__ import annotations

import codecs
import csv
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import Any, Final

import orjson

from ..canvas.responses import GZIP_MAGIC
from ..errors import ProtocolError
from .records import Row, course_rows, local_id

INFLATE_STEP: Final = 1 << 20  # bytes of text turned into rows at a time
_FOREIGN: Final = -1  # whose a row is when it names a user outside the query
# Canonical field -> the names it goes by: §9's export names first, then the back end's.
_ALIASES: Final = {
    "id": ("id", "request_id"),
    "created_at": ("created_at", "timestamp"),
    "url": ("url",),
    "context_type": ("context_type", "canvas_context_type"),
    "context": ("links_context", "canvas_context_id", "context_id"),
    "user": ("links_user", "user_id", "canvas_user_id"),
    "interaction_seconds": ("interaction_seconds",),
    "vhost": ("vhost",),
    "http_request": ("http_request",),
}


class DamagedExportError(ProtocolError):
    """The export file is not whole: its gzip stream is damaged or cut short."""


class ExportReader:
    """Turn chunks of an export file of ``users`` into their rows within ``[start, end]``.

    Rows come as ``(user, row)``. What cannot be kept is counted, never dropped
    unsaid: ``refused`` holds, per user, the course views without an id or a
    readable time (they cannot be told apart from repeats); ``unattributed`` the
    course views of a batch file that name no user at all (they may be anyone's
    of the query). A row naming a user outside the query is not this query's.
    """

    def __init__(self, start: str, end: str, users: tuple[int, ...]) -> None:
        self.start, self.end = start, end
        self.wanted = frozenset(users)
        # One user's file needs no user column to say whose rows they are.
        self._only = users[0] if len(users) == 1 else None
        self.refused: Counter[int] = Counter()
        self.unattributed = 0
        self._head = b""  # bytes held until gzip can be told apart
        self._inflate: Any = None
        self._sniffed = False
        self._text = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""  # an incomplete line (or a CSV record open inside quotes)
        self._jsonl: bool | None = None
        self._header: list[str] | None = None

    def feed(self, chunk: bytes) -> Iterator[list[tuple[int, Row]]]:
        """Take the next bytes of the file; yield the rows they complete, in bounded batches."""
        for text in self._decode(chunk):
            yield self._lines(text, final=False)

    def close(self) -> Iterator[list[tuple[int, Row]]]:
        """End the file; yield the rows still held. A gzip stream cut short is an error."""
        if not self._sniffed:
            self._sniffed = True
            data, self._head = self._head, b""
            yield from self.feed(data)
        elif self._inflate is not None and not self._inflate.eof:
            raise DamagedExportError("the export file ended inside its gzip stream (cut short)")
        yield self._lines(self._text.decode(b"", final=True), final=True)

    def _decode(self, chunk: bytes) -> Iterator[str]:
        """The text of ``chunk``, at most ``INFLATE_STEP`` bytes of it at a time."""
        if not self._sniffed:
            self._head += chunk
            if len(self._head) < len(GZIP_MAGIC):
                return
            self._sniffed = True
            chunk, self._head = self._head, b""
            if chunk.startswith(GZIP_MAGIC):
                self._inflate = zlib.decompressobj(wbits=31)
        if self._inflate is None:
            for at in range(0, len(chunk), INFLATE_STEP):
                yield self._text.decode(chunk[at : at + INFLATE_STEP])
            return
        # A few compressed bytes can inflate to gigabytes: take them a step at a time.
        while chunk:
            try:
                if self._inflate.eof:  # another gzip member follows the last
                    self._inflate = zlib.decompressobj(wbits=31)
                out = self._inflate.decompress(chunk, INFLATE_STEP)
            except zlib.error as exc:
                raise DamagedExportError(f"the export file is damaged gzip ({exc})") from None
            inflate = self._inflate
            chunk = inflate.unused_data if inflate.eof else inflate.unconsumed_tail
            yield self._text.decode(out)

    def _lines(self, text: str, *, final: bool) -> list[tuple[int, Row]]:
        text = self._pending + text
        lines = text.split("\n")
        self._pending = "" if final else lines.pop()
        views: list[tuple[int | None, dict[str, Any]]] = []
        record = ""
        for line in lines:
            if self._jsonl is None:
                if not line.strip():
                    continue
                self._jsonl = line.lstrip().startswith("{")
            if self._jsonl:
                if line.strip():
                    views.append(self._from_json(line))
                continue
            record = f"{record}\n{line}" if record else line
            if record.count('"') % 2:
                continue  # a quoted field runs on to the next line
            if record.strip():
                self._from_csv(record.rstrip("\r"), views)
            record = ""
        if record:
            self._pending = record + ("\n" + self._pending if self._pending else "")
        by_user: dict[int | None, list[dict[str, Any]]] = {}
        for user, view in views:
            by_user.setdefault(user, []).append(view)
        found: list[tuple[int, Row]] = []
        for user, group in by_user.items():
            if user == _FOREIGN:
                continue
            rows, unusable = course_rows(group, None, self.start, self.end)
            if user is None:
                self.unattributed += len(rows) + unusable
                continue
            if unusable:
                self.refused[user] += unusable
            found += [(user, row) for row in rows]
        return found

    def incomplete(self) -> dict[int, str]:
        """The query's users whose file rows could not all be kept, and why."""
        if self.unattributed:
            why = (
                f"Canvas's history file held {self.unattributed:,} page views naming no "
                "user: they may be any of its users', so none is reported"
            )
            return dict.fromkeys(self.wanted, why)
        return {
            user: f"Canvas's history file held {n:,} page views without an id or a readable "
            "time: they cannot be told apart from repeats or placed in time, so none are "
            "reported"
            for user, n in self.refused.items()
        }

    def _from_csv(self, record: str, views: list[tuple[int | None, dict[str, Any]]]) -> None:
        cells = next(csv.reader([record]))
        if self._header is None:
            self._header = [name.strip().lower() for name in cells]
            return
        raw = {k: v for k, v in zip(self._header, cells, strict=False) if v != ""}
        views.append(self._view(raw))

    def _from_json(self, line: str) -> tuple[int | None, dict[str, Any]]:
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError:
            raw = {}
        if not isinstance(raw, dict):
            raw = {}
        return self._view({str(k).lower(): v for k, v in raw.items() if v is not None})

    def _view(self, raw: dict[str, Any]) -> tuple[int | None, dict[str, Any]]:
        """Whose view, and the list-endpoint view (contract §3) from an export row's fields.

        Whose: a user of the query, ``_FOREIGN`` for a user outside it, or None when
        the row names nobody and the file is not one user's.
        """
        field = {name: _pick(raw, names) for name, names in _ALIASES.items()}
        user = _integer(field["user"])
        # Files name users by global id; the query named them as the roster gave them.
        owner = self._only if user is None else self._owner(user)
        context = _integer(field["context"])
        url = field["url"]
        if url is None and field["http_request"] is not None:
            host = field["vhost"]
            url = f"https://{host}{field['http_request']}" if host else field["http_request"]
        seconds = field["interaction_seconds"]
        try:
            seconds = None if seconds is None else float(seconds)
        except (TypeError, ValueError):
            seconds = None
        view_id = field["id"]
        return owner, {
            "id": str(view_id) if view_id is not None else None,
            "created_at": field["created_at"],
            "url": url,
            "context_type": field["context_type"],
            "interaction_seconds": seconds,
            # Ids in the files are global (shard * 10**13 + local): a course compares locally.
            "links": {"context": None if context is None else local_id(context)},
        }

    def _owner(self, user: int) -> int:
        if user in self.wanted:
            return user
        local = local_id(user)
        matches = [u for u in self.wanted if local_id(u) == local]
        if len(matches) == 1:
            return matches[0]
        return self._only if self._only is not None else _FOREIGN


def _pick(raw: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in raw:
            return raw[name]
    return None


def _integer(value: Any) -> int | None:
    if type(value) is int:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None
