"""Report formats: which exist, which are chosen by default, and Parquet's optional engine."""

from __future__ import annotations

from types import ModuleType
from typing import Final

from .errors import UsageError

FORMATS: Final = ("csv", "json", "jsonl", "parquet")
#: The seed's pair, unchanged.
DEFAULT_FORMATS: Final = ("csv", "json")
PARQUET_MISSING: Final = (
    "Parquet needs pyarrow, which is not installed: pip install 'pageviews[parquet]'"
)


def parse_formats(values: list[str] | tuple[str, ...] | str) -> tuple[str, ...]:
    """Formats named one by one or comma-separated, each once, in the order of FORMATS."""
    items = [values] if isinstance(values, str) else list(values)
    chosen = {v.strip().lower() for item in items for v in item.split(",") if v.strip()}
    unknown = sorted(chosen - set(FORMATS))
    if unknown:
        raise UsageError(f"unknown format {unknown[0]!r} (one or more of: {', '.join(FORMATS)})")
    if not chosen:
        raise UsageError(f"no format chosen (one or more of: {', '.join(FORMATS)})")
    return tuple(f for f in FORMATS if f in chosen)


def arrow() -> tuple[ModuleType, ModuleType]:
    """``pyarrow`` and ``pyarrow.parquet``, or a UsageError naming the extra."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError(PARQUET_MISSING) from None
    return pa, pq
