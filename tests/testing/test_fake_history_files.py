"""The history export files: rows, columns, timestamps, repeats, CSV, JSONL and gzip."""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections import Counter
from datetime import UTC, date, datetime
from typing import Literal

import orjson
import pytest

from pageviews.testing import HistoryConfig, World, expected_history_ids
from pageviews.testing.history_files import (
    EXPORT_COLUMNS,
    RAW_COLUMNS,
    export_row,
    file_chunks,
    file_order,
    view_refs,
)

JAN, APR = date(2015, 1, 1), date(2015, 4, 1)
FOREVER = 2**62


def _busiest(world: World) -> int:
    return max(world.user_ids, key=world.page_view_count)


def _csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_refs_cover_whole_months_up_to_now(small_world: World) -> None:
    uid = _busiest(small_world)
    refs = view_refs(small_world, [uid], JAN, APR, FOREVER)
    assert len(refs) == small_world.page_view_count(uid)
    feb = view_refs(small_world, [uid], date(2015, 2, 1), date(2015, 3, 1), FOREVER)
    stamps = [small_world.views(uid).ms[i] for _, i in feb]
    start, end = datetime(2015, 2, 1, tzinfo=UTC), datetime(2015, 3, 1, tzinfo=UTC)
    assert all(start.timestamp() * 1000 <= ms < end.timestamp() * 1000 for ms in stamps)
    cut = stamps[len(stamps) // 2]
    assert len(view_refs(small_world, [uid], JAN, APR, cut)) < len(refs)


def test_csv_rows_carry_every_view_once_or_twice_with_global_ids(small_world: World) -> None:
    uid = _busiest(small_world)
    config = HistoryConfig(compress=False)
    rows = file_order(small_world, view_refs(small_world, [uid], JAN, APR, FOREVER), config, "q")
    parsed = _csv(b"".join(file_chunks(small_world, rows, "csv", config)))
    assert tuple(parsed[0]) == EXPORT_COLUMNS
    ids = Counter(r["id"] for r in parsed)
    assert set(ids) == expected_history_ids(small_world, [uid], JAN, APR)
    assert set(ids.values()) == {1, 2}  # a few repeats (docs/canvas.md#history-files)
    assert {r["links_user"] for r in parsed} == {str(10**13 + uid)}
    assert {r["links_account"] for r in parsed} == {str(10**13 + 1)}
    course = [r for r in parsed if r["context_type"] == "Course"]
    assert course
    assert all(int(r["links_context"]) > 10**13 for r in course)
    assert {r["participated"] for r in parsed} <= {"true", "false"}
    assert all(r["links_asset"] == "" for r in parsed)


def test_rows_are_shuffled_the_same_way_for_the_same_query(small_world: World) -> None:
    uid = _busiest(small_world)
    refs = view_refs(small_world, [uid], JAN, APR, FOREVER)
    config = HistoryConfig()
    once = file_order(small_world, refs, config, "a")
    assert once == file_order(small_world, refs, config, "a")
    assert once != file_order(small_world, refs, config, "b")
    assert once[: len(refs)] != refs  # not by time
    assert file_order(small_world, refs, HistoryConfig(repeat_share=0), "a") != once
    assert len(file_order(small_world, refs, HistoryConfig(repeat_share=0), "a")) == len(refs)


@pytest.mark.parametrize(
    ("style", "pattern"),
    [
        ("z", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"),
        ("offset", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00"),
        ("naive", r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"),
    ],
)
def test_created_at_has_milliseconds_in_the_configured_style(
    small_world: World, style: Literal["z", "offset", "naive"], pattern: str
) -> None:
    uid = _busiest(small_world)
    config = HistoryConfig(timestamps=style)
    ref = view_refs(small_world, [uid], JAN, APR, FOREVER)[0]
    row = export_row(small_world, ref, config)
    assert re.fullmatch(pattern, row["created_at"])
    parsed = datetime.fromisoformat(row["created_at"]).replace(tzinfo=UTC)
    assert parsed.timestamp() * 1000 == small_world.views(uid).ms[ref[1]]


def test_raw_columns_use_the_back_end_names(small_world: World) -> None:
    uid = _busiest(small_world)
    ref = view_refs(small_world, [uid], JAN, APR, FOREVER)[0]
    plain = export_row(small_world, ref, HistoryConfig())
    raw = export_row(small_world, ref, HistoryConfig(columns="raw"))
    assert tuple(raw) != tuple(plain)
    assert set(raw) == set(RAW_COLUMNS)
    assert f"https://{raw['vhost']}{raw['http_request']}" == plain["url"]
    assert raw["timestamp"] == plain["created_at"]
    assert raw["canvas_context_id"] == plain["links_context"]
    assert raw["canvas_context_type"] == plain["context_type"]
    assert raw["sessionid"] == plain["session_id"]
    assert raw["agent"] == plain["user_agent"]


def test_jsonl_keeps_types_and_gzip_wraps_the_same_bytes(small_world: World) -> None:
    uid = _busiest(small_world)
    refs = view_refs(small_world, [uid], JAN, APR, FOREVER)
    plain = b"".join(file_chunks(small_world, refs, "jsonl", HistoryConfig(compress=False)))
    packed = b"".join(file_chunks(small_world, refs, "jsonl", HistoryConfig()))
    assert packed[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed) == plain
    rows = [orjson.loads(line) for line in plain.splitlines()]
    assert len(rows) == len(refs)
    assert all(isinstance(r["participated"], bool) for r in rows)
    assert all(isinstance(r["links_user"], int) for r in rows)
    assert all(r["interaction_seconds"] is None or isinstance(r["interaction_seconds"], float)
               for r in rows)  # fmt: skip


def test_a_big_file_comes_in_several_chunks(test_world: World) -> None:
    users = sorted(test_world.user_ids, key=test_world.page_view_count)[-10:]
    refs = view_refs(test_world, users, JAN, APR, FOREVER)
    assert len(refs) > 5_000
    chunks = list(file_chunks(test_world, refs, "csv", HistoryConfig(compress=False)))
    assert len(chunks) > 2
    assert sum(c.count(b"\n") for c in chunks) == len(refs) + 1
