"""Tables for analysts: a table's rows as CSV, JSON, JSON Lines and typed Parquet, streamed.

A :class:`TableSink` takes rows a batch at a time, one list per column. Text
formats are written as they come; Parquet rows are buffered up to a row group
and written with their types (timestamps as UTC, ids as int64). All go to
temporary names, renamed by :meth:`TableSink.commit`, as the seed's reports are.
CSV cells: null is empty, booleans ``true``/``false``, name lists joined by ``;``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import IO, Any, Final

import orjson

from .formats import arrow

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


def _part(path: Path) -> Path:
    return path.with_name(f".{path.name}.part")


class TableSink:
    """One table written as JSON Lines and/or Parquet, under temporary names until commit."""

    def __init__(
        self,
        stem: Path,
        columns: Columns,
        formats: Sequence[str],
        metadata: dict[str, str],
        json_head: bytes = b"{",
    ) -> None:
        self.columns = list(columns)
        self.names = [name for name, _ in columns]
        self.paths: dict[str, Path] = {}
        self._csv: IO[str] | None = None
        self._json: IO[bytes] | None = None
        self._json_separator = b"\n"
        self._jsonl: IO[bytes] | None = None
        self._parquet: Any = None
        self._buffer: list[list[Any]] = [[] for _ in columns]
        self._buffered = 0
        if "csv" in formats:
            self.paths["csv"] = stem.with_name(f"{stem.name}.csv")
            self._csv = open(_part(self.paths["csv"]), "w", newline="", encoding="utf-8")  # noqa: SIM115
            self._csv_writer = csv.writer(self._csv, lineterminator="\r\n")
            self._csv_writer.writerow(self.names)
        if "json" in formats:
            self.paths["json"] = stem.with_name(f"{stem.name}.json")
            self._json = open(_part(self.paths["json"]), "wb")  # noqa: SIM115
            self._json.write(json_head + b',"data":[')
        if "jsonl" in formats:
            self.paths["jsonl"] = stem.with_name(f"{stem.name}.jsonl")
            self._jsonl = open(_part(self.paths["jsonl"]), "wb")  # noqa: SIM115
        if "parquet" in formats:
            _, pq = arrow()
            self.paths["parquet"] = stem.with_name(f"{stem.name}.parquet")
            self._schema = arrow_schema(columns, metadata)
            self._parquet = pq.ParquetWriter(_part(self.paths["parquet"]), self._schema)

    def add_columns(self, data: Sequence[list[Any]]) -> None:
        """Append rows given as one list per column, all of the same length."""
        if not data or not data[0]:
            return
        if self._json is not None or self._jsonl is not None:
            names, dumps = self.names, orjson.dumps
            lines = [dumps(dict(zip(names, row, strict=True))) for row in zip(*data, strict=True)]
            if self._jsonl is not None:
                self._jsonl.write(b"\n".join(lines) + b"\n")
            if self._json is not None:
                self._json.write(self._json_separator + b",\n".join(lines))
                self._json_separator = b",\n"
        if self._csv is not None:
            self._csv_writer.writerows(map(_csv_row, zip(*data, strict=True)))
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
        if self._csv is not None:
            self._csv.close()
        if self._json is not None:
            self._json.write(b"\n]}\n")
            self._json.close()
        if self._jsonl is not None:
            self._jsonl.close()
        if self._parquet is not None:
            self._flush()
            self._parquet.close()
        for final in self.paths.values():
            _part(final).replace(final)

    def discard(self) -> None:
        """Close and remove the temporary files."""
        with suppress(Exception):  # a failed flush on a full disk: the file goes anyway
            for file in (self._csv, self._json, self._jsonl):
                if file is not None:
                    file.close()
            if self._parquet is not None:
                self._parquet.close()
        for final in self.paths.values():
            _part(final).unlink(missing_ok=True)
