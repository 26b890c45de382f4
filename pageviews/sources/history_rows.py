"""Read a PageView History export file as it streams in: pure, no I/O.

The export files come from closed-source code, so their exact columns are not
known (docs/canvas.md#history-files): they are read by header name, tolerantly.
The body may be gzip whatever the headers say (batch results never set
``Content-Encoding``), so it is sniffed by its magic bytes; CSV and JSONL are told
apart by the first byte. Each row is a list-endpoint view of a few fields, kept or
not as a page's would be (:func:`~.records.file_row`, the rules of
:func:`~.records.course_rows`), without building the view: a CSV row is split and
its cells taken by position.
"""

from __future__ import annotations

import codecs
import csv
import zlib
from collections import Counter
from collections.abc import Iterator
from operator import itemgetter
from typing import Any, Final

import orjson

from ..canvas.responses import GZIP_MAGIC
from ..errors import ProtocolError
from .records import UNUSABLE, Row, file_row, local_id

INFLATE_STEP: Final = 1 << 20  # bytes of text turned into rows at a time
_FOREIGN: Final = -1  # whose a row is when it names a user outside the query
#: Users of a file remembered with whose they are (a bound: a file may name many).
OWNERS_REMEMBERED: Final = 4_096
# Canonical field -> the names it goes by: the export's names first, then the back end's.
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


#: A part of a file by user (None: naming nobody), as first met: its rows kept, and how
#: many views it refused (a one-item list, counted up in place).
_Batch = dict[int | None, tuple[list[Row], list[int]]]


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
        # The cells of a CSV record each field takes (see _plan), and whose each user is.
        self._take: Any = None
        self._field_limit = csv.field_size_limit()
        # One csv reader for every quoted record: it reads each from this slot.
        self._quoted = _Slot()
        self._csv = csv.reader(self._quoted)
        self._owners: dict[int, int] = {}
        # A CSV file's cells repeat (its users, its courses): each read once (bounded).
        self._cell_owners: dict[str, int | None] = {}
        self._cell_contexts: dict[str, int | None] = {}
        self._width = -1  # cells of a record the plan reads by position (the header's)

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
        batch: _Batch = {}
        record = ""
        for line in lines:
            if self._jsonl is None:
                if not line.strip():
                    continue
                self._jsonl = line.lstrip().startswith("{")
            if self._jsonl:
                if line.strip():
                    self._keep(self._from_json(line), batch)
                continue
            record = f"{record}\n{line}" if record else line
            if record.count('"') % 2:
                continue  # a quoted field runs on to the next line
            if record and not record.isspace():
                self._from_csv(record.rstrip("\r"), batch)
            record = ""
        if record:
            self._pending = record + ("\n" + self._pending if self._pending else "")
        found: list[tuple[int, Row]] = []
        for user, (rows, refused) in batch.items():
            if user is None:
                self.unattributed += len(rows) + refused[0]
                continue
            if refused[0]:
                self.refused[user] += refused[0]
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

    def _from_csv(self, record: str, batch: _Batch) -> None:
        # Without a carriage return or a field past csv's limit, a record without quotes,
        # or with one quoted cell, is split here: what csv would find, at several times
        # the cost.
        cells = None
        if "\r" not in record and len(record) <= self._field_limit:
            cells = _one_quoted(record) if '"' in record else record.split(",")
        if cells is None:
            self._quoted.line = record
            cells = next(self._csv)
        if len(cells) == self._width:
            cells.append("")  # the cell of the fields the file has no column for
            view_id, created, url, context_type, context, user, seconds, host, request = self._take(
                cells
            )
            # As _keep reads these fields, an empty cell being null; the cells of the
            # owner and the context remembered as read.
            owner = self._cell_owners.get(user, _UNREAD)
            if owner is _UNREAD:
                owner = _remember(self._cell_owners, user, self._owner_of(_integer(user or None)))
            if owner == _FOREIGN:
                return
            course = self._cell_contexts.get(context, _UNREAD)
            if course is _UNREAD:
                course = _remember(self._cell_contexts, context, _local(_integer(context or None)))
            if not url and request:
                url = f"https://{host}{request}" if host else request
            try:
                seconds = float(seconds) if seconds else None
            except ValueError:
                seconds = None
            row = file_row(
                view_id or None, created or None, url or None, context_type or None, course,
                seconds, self.start, self.end,
            )  # fmt: skip
            self._add(owner, row, batch)
            return
        if self._header is None:
            self._header = [name.strip().lower() for name in cells]
            self._take = _plan(self._header)
            self._width = -1 if self._take is None else len(self._header)
            return
        raw = {k: v for k, v in zip(self._header, cells, strict=False) if v != ""}
        self._keep([_pick(raw, names) for names in _ALIASES.values()], batch)

    def _from_json(self, line: str) -> list[Any]:
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError:
            raw = {}
        if not isinstance(raw, dict):
            raw = {}
        raw = {str(k).lower(): v for k, v in raw.items() if v is not None}
        return [_pick(raw, names) for names in _ALIASES.values()]

    def _keep(self, fields: list[Any], batch: _Batch) -> None:
        """Keep a row's view, given its fields in the order of ``_ALIASES``, in ``batch``.

        The row is a list-endpoint view (docs/canvas.md#history-files) of these fields;
        whose it is: a user of the query, ``_FOREIGN`` for a user outside it (dropped), or
        None when the row names nobody and the file is not one user's.
        """
        view_id, created, url, context_type, context, user, seconds, host, request = fields
        owner = self._owner_of(_integer(user))
        context = _integer(context)
        if url is None and request is not None:
            url = f"https://{host}{request}" if host else request
        try:
            seconds = None if seconds is None else float(seconds)
        except (TypeError, ValueError):
            seconds = None
        if owner == _FOREIGN:
            return
        view_id = None if view_id is None else str(view_id)
        row = file_row(
            view_id, created, url, context_type, _local(context), seconds, self.start, self.end
        )
        self._add(owner, row, batch)

    @staticmethod
    def _add(owner: int | None, row: Row | int, batch: _Batch) -> None:
        """Keep ``owner``'s (not ``_FOREIGN``) row in ``batch``, or count it refused."""
        kept = batch.get(owner)
        if kept is None:
            kept = batch[owner] = ([], [0])
        if type(row) is tuple:
            kept[0].append(row)
        elif row == UNUSABLE:
            kept[1][0] += 1

    def _owner_of(self, user: int | None) -> int | None:
        """Whose the rows naming ``user`` are (see :meth:`_keep`)."""
        # Files name users by global id; the query named them as the roster gave them.
        return self._only if user is None else self._owner(user)

    def _owner(self, user: int) -> int:
        owner = self._owners.get(user)
        if owner is None:
            if len(self._owners) >= OWNERS_REMEMBERED:
                self._owners.clear()
            owner = self._owners[user] = self._find_owner(user)
        return owner

    def _find_owner(self, user: int) -> int:
        if user in self.wanted:
            return user
        local = local_id(user)
        matches = [u for u in self.wanted if local_id(u) == local]
        if len(matches) == 1:
            return matches[0]
        return self._only if self._only is not None else _FOREIGN


class _Slot:
    """The one record a reused csv reader is handed at a time; then, the record's end."""

    def __init__(self) -> None:
        self.line: str | None = None

    def __iter__(self) -> _Slot:
        return self

    def __next__(self) -> str:
        line, self.line = self.line, None
        if line is None:
            raise StopIteration
        return line


def _plan(header: list[str]) -> Any:
    """What takes a record's cells for each field of ``_ALIASES``, in order, or None.

    A field's cell is its column's, or the record's added last cell (empty) when the file
    has no column for it. None when a field has more than one column to choose from
    (then a record is read by name, as ``_pick`` does).
    """
    at: list[int] = []
    for names in _ALIASES.values():
        columns = [i for i, name in enumerate(header) if name in names]
        if len(columns) > 1:
            return None
        at += columns or [len(header)]
    return itemgetter(*at)


_UNREAD: Final[Any] = object()  # a cell not read yet


def _one_quoted(record: str) -> list[str] | None:
    """The cells of a record whose one quoted cell is the whole of its cell (a user agent
    or an address with commas), as csv reads them; None for any other record."""
    if record.count('"') != 2:
        return None
    head, quoted, tail = record.split('"')
    if (head and head[-1] != ",") or (tail and tail[0] != ","):
        return None  # text beside the quotes in the cell: csv's rules, csv's reading
    cells = head.split(",")
    cells[-1] = quoted  # the quoted cell, where the split found it empty
    if tail:
        cells += tail[1:].split(",")
    return cells


def _remember(cells: dict[str, int | None], cell: str, value: int | None) -> int | None:
    """``value``, remembered as what ``cell`` reads as (a bounded number of cells)."""
    if len(cells) >= OWNERS_REMEMBERED:
        cells.clear()
    cells[cell] = value
    return value


def _local(context: int | None) -> int | None:
    # Ids in the files are global (shard * 10**13 + local): a course compares locally.
    return None if context is None else local_id(context)


def _pick(raw: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in raw:
            return raw[name]
    return None


def _integer(value: Any) -> int | None:
    if type(value) is str and value.isdigit():  # a CSV cell, the common case
        return int(value)
    if type(value) is int:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None
