"""The one CSV writer: every CSV file the tool writes goes through :class:`CsvFile`.

It streams (rows are written as they come, nothing is kept), writes under a
temporary name until published, and owns what ``--excel`` means for every CSV:
a UTF-8 byte-order mark, so Excel reads the file as UTF-8, and a ``'`` before
any text cell that would otherwise run as a formula.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .atomic import StagedSink
from .textcodec import FORMULA_STARTS, csv_field, excel_field

#: Excel reads a CSV as UTF-8 only when it starts with a byte-order mark.
BOM = "\ufeff"


def cell_encoder(excel: bool) -> Callable[[str], str]:
    """The text-cell encoder of :meth:`CsvFile.write_lines`: formula-guarded for ``--excel``."""
    return excel_field if excel else csv_field


def _guarded(row: Sequence[Any]) -> list[Any]:
    return ["'" + v if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v for v in row]


class CsvFile(StagedSink):
    """One CSV file and its header row; ``path=None`` takes rows and writes nothing.

    Rows come either as cells (:meth:`write_rows`, quoted as ``csv.writer`` does)
    or already encoded with :func:`cell_encoder` (:meth:`write_lines`), the
    per-record path of the seed's reports.
    """

    def __init__(
        self,
        path: Path | None,
        header: Sequence[str],
        *,
        excel: bool = False,
        lineterminator: str = "\r\n",
    ) -> None:
        super().__init__(path, binary=False)
        self.excel = excel
        self._writer: Any = None
        if self.file is not None:
            self._writer = csv.writer(self.file, lineterminator=lineterminator)
            self.file.write(BOM if excel else "")
            self._writer.writerow(header)

    def write_lines(self, lines: list[str]) -> None:
        """Append rows already encoded, each ending with its line terminator."""
        if self.file is not None:
            self.file.write("".join(lines))

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        """Append rows of cells: text, numbers, or ``""`` for none."""
        if self._writer is not None:
            self._writer.writerows(map(_guarded, rows) if self.excel else rows)
