"""Encode report fields as CSV and JSON text, fast, for the per-record path.

The csv module and a dict per row cost several microseconds a record; these
encoders produce the same text (csv's minimal quoting, compact JSON) from
plain strings, and callers cache them for values that repeat (URLs, names).
"""

from __future__ import annotations

import orjson

_CSV_SPECIAL = frozenset(',"\r\n')
#: A cell starting with one of these runs as a formula in Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@")


def csv_field(value: str) -> str:
    """Quote a CSV field as ``csv.writer`` does with QUOTE_MINIMAL."""
    if _CSV_SPECIAL.isdisjoint(value):
        return value
    return '"' + value.replace('"', '""') + '"'


def excel_field(value: str) -> str:
    """Like :func:`csv_field`, but a would-be formula gets a leading ``'`` (shown as text)."""
    return csv_field("'" + value if value.startswith(FORMULA_STARTS) else value)


def json_string(value: str) -> str:
    """A JSON string literal; plain printable ASCII needs no escaping beyond the quotes."""
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return orjson.dumps(value).decode()
