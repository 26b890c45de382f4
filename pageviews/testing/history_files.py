"""The export files of the PageView History API: rows, columns, CSV or JSONL, gzip.

The files' exact columns are produced by closed-source code (docs/canvas.md#history-files), so
the fake serves the names §9 lists, or the back end's raw names, with ids in
global form, rows shuffled and a few repeated, `created_at` to the millisecond.
Bodies are produced in chunks, so a large file is never one bytes object.
"""

from __future__ import annotations

import csv
import io
import random
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any, Final

import orjson

from .history_config import HistoryConfig
from .history_jobs import Format
from .records import ROOT_ACCOUNT_ID
from .timeparse import epoch_us, to_iso_millis
from .world import World

EXPORT_COLUMNS: Final = (
    "id",
    "url",
    "context_type",
    "created_at",
    "user_agent",
    "participated",
    "interaction_seconds",
    "session_id",
    "developer_key_id",
    "asset_user_access_id",
    "links_user",
    "links_context",
    "links_asset",
    "links_real_user",
    "links_account",
    "http_method",
    "remote_ip",
)
# The back end's own names for some columns (docs/canvas.md#history-files); `url` becomes two.
RAW_NAMES: Final = {
    "created_at": "timestamp",
    "context_type": "canvas_context_type",
    "links_context": "canvas_context_id",
    "session_id": "sessionid",
    "user_agent": "agent",
}
RAW_COLUMNS: Final = (
    "id",
    "vhost",
    "http_request",
    *(RAW_NAMES.get(c, c) for c in EXPORT_COLUMNS if c not in ("id", "url")),
)
DEVELOPER_KEY_ID: Final = 170  # the key behind `app_name` views, as a local id
_ROWS_PER_CHUNK: Final = 2_000
_GLOBAL: Final = 10**13

Ref = tuple[int, int]  # (user id, index into that user's views)


def month_bounds_ms(start: date, end: date) -> tuple[int, int]:
    """Return epoch-ms bounds [lo, hi) of the months from `start` up to `end`."""
    return _day_ms(start), _day_ms(end)


def _day_ms(day: date) -> int:
    return epoch_us(datetime(day.year, day.month, day.day, tzinfo=UTC)) // 1000


def view_refs(
    world: World, user_ids: Iterable[int], start: date, end: date, now_ms: int
) -> list[Ref]:
    """Return (user, index) of each view in the months, up to `now_ms`, by user and time."""
    lo, hi = month_bounds_ms(start, end)
    refs: list[Ref] = []
    for user_id in user_ids:
        millis = world.views(user_id).ms
        first = bisect_left(millis, lo)
        last = min(bisect_left(millis, hi), bisect_right(millis, now_ms))
        refs.extend((user_id, i) for i in range(first, last))
    return refs


def file_order(world: World, refs: Sequence[Ref], config: HistoryConfig, seed: str) -> list[Ref]:
    """Return the rows as a file holds them: shuffled, some twice (docs/canvas.md#history-files)."""
    rows = list(refs)
    for user_id, index in refs:
        view_id = world.views(user_id).ids[index]
        if zlib.crc32(view_id.encode()) % 10_000 < config.repeat_share * 10_000:
            rows.append((user_id, index))
    random.Random(seed).shuffle(rows)
    return rows


def export_row(world: World, ref: Ref, config: HistoryConfig) -> dict[str, Any]:
    """Return one file row by column name, as `config.columns` names them."""
    user_id, index = ref
    store = world.views(user_id)
    view = store.to_json(index, user_id, world.tables)
    links = view.get("links") or {}
    millis = store.ms[index]

    def glob(local: int | None) -> int | None:
        return None if local is None else config.shard * _GLOBAL + local

    row: dict[str, Any] = {
        "id": view["id"],
        "url": view["url"],
        "context_type": view["context_type"],
        "created_at": _stamp(millis, config),
        "user_agent": view["user_agent"],
        "participated": view["participated"],
        "interaction_seconds": view["interaction_seconds"],
        # One session per user and hour: a stand-in for the browser session.
        "session_id": f"{zlib.crc32(f'{user_id}:{millis // 3_600_000}'.encode()):08x}",
        "developer_key_id": glob(DEVELOPER_KEY_ID) if view["app_name"] else None,
        "asset_user_access_id": None,
        "links_user": glob(user_id),
        "links_context": glob(links.get("context")),
        "links_asset": None,  # not available in exports (docs/canvas.md#history-files)
        "links_real_user": glob(links.get("real_user")),
        "links_account": glob(ROOT_ACCOUNT_ID),
        "http_method": view["http_method"],
        "remote_ip": view["remote_ip"],
    }
    if user_id in config.idless_users and zlib.crc32(view["id"].encode()) % 5 == 0:
        row["id"] = None
    if config.columns == "export":
        return row
    raw = {RAW_NAMES.get(k, k): v for k, v in row.items() if k != "url"}
    host, _, path = row["url"].partition("://")[2].partition("/")
    raw["vhost"] = host
    raw["http_request"] = "/" + path
    return raw


def _stamp(millis: int, config: HistoryConfig) -> str:
    iso = to_iso_millis(millis)  # YYYY-MM-DDTHH:MM:SS.mmmZ
    if config.timestamps == "offset":
        return iso[:-1] + "+00:00"
    if config.timestamps == "naive":
        return iso[:-1].replace("T", " ")
    return iso


def file_chunks(
    world: World, rows: Sequence[Ref], format: Format, config: HistoryConfig
) -> Iterator[bytes]:
    """Yield the file's bytes in chunks, gzipped when `config.compress`."""
    text = _text_chunks(world, rows, format, config)
    if not config.compress:
        yield from text
        return
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip member
    for chunk in text:
        if packed := packer.compress(chunk):
            yield packed
    yield packer.flush()


def _text_chunks(
    world: World, rows: Sequence[Ref], format: Format, config: HistoryConfig
) -> Iterator[bytes]:
    columns = EXPORT_COLUMNS if config.columns == "export" else RAW_COLUMNS
    if format == "csv":
        yield (",".join(columns) + "\n").encode()
    for at in range(0, len(rows), _ROWS_PER_CHUNK):
        batch = [export_row(world, ref, config) for ref in rows[at : at + _ROWS_PER_CHUNK]]
        if format == "jsonl":
            yield b"".join(orjson.dumps({c: r[c] for c in columns}) + b"\n" for r in batch)
            continue
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows([_csv_cell(r[c]) for c in columns] for r in batch)
        yield out.getvalue().encode()


def _csv_cell(value: object) -> str:
    """Spell a value as an export CSV does: empty for null, lowercase booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
