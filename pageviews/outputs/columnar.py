"""Tables for analysts: a table's rows as CSV, JSON, JSON Lines and typed Parquet, streamed.

A :class:`TableSink` takes rows a batch at a time, one list per column. Text
formats are written as they come; Parquet rows are buffered up to a row group
and written with their types (timestamps as UTC, ids as int64). All go to
temporary names, renamed by :meth:`TableSink.commit`, through the one CSV and
JSON writers (:mod:`.csvfile`, :mod:`.jsonfile`) the seed's reports use.
CSV cells: null is empty, booleans ``true``/``false``, name lists joined by ``;``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, Final

import orjson

from ..formats import FORMATS, arrow
from .atomic import Staged
from .csvfile import CsvFile
from .jsonfile import JsonFile

#: Column kinds: each maps to one Arrow type.
INT, STR, FLOAT, BOOL, TIME, NAMES = "int", "str", "float", "bool", "time", "names"
Columns = Sequence[tuple[str, str]]
_ROW_GROUP: Final = 65_536


def arrow_type(kind: str) -> Any:
    """The Arrow type of a column kind."""
    pa, _ = arrow()
    return {
        INT: pa.int64(),
        STR: pa.string(),
        FLOAT: pa.float64(),
        BOOL: pa.bool_(),
        TIME: pa.timestamp("ms", tz="UTC"),  # Parquet has no seconds unit
        NAMES: pa.list_(pa.string()),
    }[kind]


def arrow_schema(columns: Columns, metadata: dict[str, str] | None = None) -> Any:
    """The Arrow schema of ``columns``, with file-level metadata."""
    pa, _ = arrow()
    return pa.schema([(name, arrow_type(kind)) for name, kind in columns], metadata=metadata)


def arrow_table(columns: Columns, data: Sequence[list[Any]], schema: Any) -> Any:
    """An Arrow table from column lists; timestamps arrive as ISO 8601 text."""
    pa, _ = arrow()
    arrays = []
    for (_, kind), values in zip(columns, data, strict=True):
        if kind == TIME:
            # Arrow parses ISO 8601 with Z or an offset into UTC; None stays null.
            arrays.append(pa.array(values, pa.string()).cast(arrow_type(TIME)))
        else:
            arrays.append(pa.array(values, arrow_type(kind)))
    return pa.Table.from_arrays(arrays, schema=schema)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(value)
    return value


def _csv_row(row: tuple[Any, ...]) -> list[Any]:
    return [_csv_cell(v) for v in row]


class TableSink:
    """One table in the chosen formats, under temporary names until :meth:`commit`.

    ``excel``: the CSV is written for spreadsheets, as the seed's reports are.
    """

    def __init__(
        self,
        stem: Path,
        columns: Columns,
        formats: Sequence[str],
        metadata: dict[str, str],
        json_head: bytes = b"{",
        *,
        excel: bool = False,
    ) -> None:
        self.columns = list(columns)
        self.names = [name for name, _ in columns]
        self.paths = {f: stem.with_name(f"{stem.name}.{f}") for f in FORMATS if f in formats}
        self._files: list[CsvFile | JsonFile] = []
        self._csv: CsvFile | None = None
        self._json: JsonFile | None = None
        self._jsonl: JsonFile | None = None
        self._parquet: Any = None
        self._staged_parquet: Staged | None = None
        self._buffer: list[list[Any]] = [[] for _ in columns]
        self._buffered = 0
        try:
            if "csv" in formats:
                self._csv = CsvFile(self.paths["csv"], self.names, excel=excel)
                self._files.append(self._csv)
            if "json" in formats:
                self._json = JsonFile(self.paths["json"], json_head)
                self._files.append(self._json)
            if "jsonl" in formats:
                self._jsonl = JsonFile(self.paths["jsonl"], lines=True)
                self._files.append(self._jsonl)
            if "parquet" in formats:
                _, pq = arrow()
                self._schema = arrow_schema(columns, metadata)
                self._staged_parquet = Staged(self.paths["parquet"])
                self._parquet = pq.ParquetWriter(self._staged_parquet.part, self._schema)
        except BaseException:
            self.discard()
            raise

    def add_columns(self, data: Sequence[list[Any]]) -> None:
        """Append rows given as one list per column, all of the same length."""
        if not data or not data[0]:
            return
        if self._json is not None or self._jsonl is not None:
            names, dumps = self.names, orjson.dumps
            lines = [dumps(dict(zip(names, row, strict=True))) for row in zip(*data, strict=True)]
            for file in (self._jsonl, self._json):
                if file is not None:
                    file.write_rows(lines)
        if self._csv is not None:
            self._csv.write_rows(map(_csv_row, zip(*data, strict=True)))
        if self._parquet is not None:
            for column, values in zip(self._buffer, data, strict=True):
                column.extend(values)
            self._buffered += len(data[0])
            if self._buffered >= _ROW_GROUP:
                self._flush()

    def _flush(self) -> None:
        if self._buffered:
            self._parquet.write_table(arrow_table(self.columns, self._buffer, self._schema))
            self._buffer = [[] for _ in self.columns]
            self._buffered = 0

    def commit(self) -> None:
        """Finish the files and rename them into place."""
        for file in self._files:
            file.close()
        if self._parquet is not None:
            self._flush()
            self._parquet.close()
        for file in self._files:
            file.publish()
        if self._staged_parquet is not None:
            self._staged_parquet.publish()

    def discard(self) -> None:
        """Close and remove the temporary files."""
        for file in self._files:
            file.discard()
        if self._staged_parquet is not None:
            if self._parquet is not None:
                with suppress(Exception):  # a failed flush on a full disk: the file goes anyway
                    self._parquet.close()
            self._staged_parquet.discard()
