"""The one JSON writer: a report's header and its ``"data"`` rows, streamed; and JSON Lines.

A report is ``{<header>,"data":[`` then one row a line, then ``]}``: rows are
written as they come, so memory does not grow with them. Files are written
under a temporary name until published, as every output is.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from .atomic import StagedSink, write_atomic


class JsonFile(StagedSink):
    """One JSON report (JSON Lines with ``lines=True``); ``path=None`` writes nothing.

    ``head`` is the header object's text without its closing brace, e.g.
    ``{"course_id":1``; rows are encoded JSON objects.
    """

    def __init__(self, path: Path | None, head: bytes = b"{", *, lines: bool = False) -> None:
        super().__init__(path, binary=True)
        self._lines = lines
        self._separator = b"\n"
        if self.file is not None and not lines:
            self.file.write(head + b',"data":[')

    def write_rows(self, rows: list[bytes]) -> None:
        """Append encoded rows."""
        if self.file is None or not rows:
            return
        if self._lines:
            self.file.write(b"\n".join(rows) + b"\n")
        else:
            self.file.write(self._separator + b",\n".join(rows))
            self._separator = b",\n"

    def write_text_rows(self, rows: list[str]) -> None:
        """Append rows encoded as text (the seed reports' per-record path)."""
        if self.file is not None and rows:
            self.write_rows(
                [r.encode() for r in rows] if self._lines else [",\n".join(rows).encode()]
            )

    def close(self) -> None:
        """Finish the file under its temporary name."""
        if self.file is not None and not self._lines:
            self.file.write(b"\n]}\n")
        super().close()


def write_document(path: Path, document: object) -> Path:
    """A whole small JSON document, indented, written atomically (the batch summary)."""
    return write_atomic(path, orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
