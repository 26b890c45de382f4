"""The export-file reader: gzip sniffed, CSV or JSONL by header name, raw names, global ids."""

from __future__ import annotations

import csv
import gzip

import pytest

from pageviews.errors import ProtocolError
from pageviews.sources.history_rows import INFLATE_STEP, ExportReader
from pageviews.sources.records import Row

CSV = (
    b"id,url,context_type,created_at,interaction_seconds,links_user,links_context\n"
    b"a,https://c.example/courses/1693/x,Course,2015-02-05T22:13:31.458Z,1.5,10000000000007,10000000000001693\n"
    b'b,"https://c.example/courses/1693/y,z",Course,2015-02-05T22:13:32+00:00,,10000000000007,10000000000001693\n'
    b"c,https://c.example/,,2015-02-05 22:13:33.999,,10000000000007,\n"
)


def read(
    chunks: list[bytes],
    start: str = "2015-01-01T00:00:00Z",
    end: str = "2015-12-31T23:59:59Z",
    users: tuple[int, ...] = (10000000000007,),
) -> tuple[list[Row], ExportReader]:
    reader = ExportReader(start, end, users)
    rows: list[Row] = []
    for chunk in chunks:
        rows += [row for batch in reader.feed(chunk) for _, row in batch]
    rows += [row for batch in reader.close() for _, row in batch]
    return rows, reader


def test_csv_by_header_with_global_ids_and_any_timestamp_form() -> None:
    rows, reader = read([CSV[:37], CSV[37:90], CSV[90:]])
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (1693, "2015-02-05T22:13:31Z", "a"),
        (1693, "2015-02-05T22:13:32Z", "b"),
    ]
    assert rows[1][3] == "https://c.example/courses/1693/y,z" and rows[1][4] is None
    assert reader.incomplete() == {}


@pytest.mark.parametrize(
    "cell",
    [
        '"https://c.example/courses/1693/a,b"',  # a quoted cell holding a comma
        '"https://c.example/courses/1693/""q"""',  # quotes inside, doubled
        '"https://c.example/courses/1693/x\ny"',  # a line break inside
        'https://c.example/courses/1693/"p"',  # quotes inside an unquoted cell
        '"https://c.example/courses/1693/"t',  # text after the closing quote
        'h"ttps://c.example/courses/1693/"',  # text before the opening quote
    ],
)
def test_a_cell_with_quotes_is_read_as_csv_reads_it(cell: str) -> None:
    record = f"a,{cell},Course,2015-02-05T22:13:31Z,10000000000007,10000000000001693"
    want = next(csv.reader([record]))
    header = "id,url,context_type,created_at,links_user,links_context"
    rows, _ = read([f"{header}\n{record}\n".encode()])
    assert [(r[2], r[3], r[1]) for r in rows] == [(want[0], want[1], "2015-02-05T22:13:31Z")]


def test_rows_are_given_to_the_query_users_they_name() -> None:
    reader = ExportReader("2015-01-01T00:00:00Z", "2015-12-31T23:59:59Z", (7, 8))
    # The file names users by global id; the query named them locally.
    batches = [*reader.feed(CSV), *reader.close()]
    found = [pair for batch in batches for pair in batch]
    assert [(user, row[2]) for user, row in found] == [(7, "a"), (7, "b")]


def test_gzip_is_sniffed_whatever_the_headers() -> None:
    packed = gzip.compress(CSV)
    rows, _ = read([packed[:5], packed[5:]])
    assert [r[2] for r in rows] == ["a", "b"]


def test_jsonl_with_raw_back_end_names() -> None:
    body = (
        b'{"id":"r1","timestamp":"2015-03-01T00:00:00.2Z","vhost":"c.example",'
        b'"http_request":"/courses/17/pages","canvas_context_type":"Course",'
        b'"canvas_context_id":10000000000017,"interaction_seconds":2}\n'
        b'{"id":"r2","timestamp":"2015-02-28T23:59:59.9Z","canvas_context_type":"Course",'
        b'"canvas_context_id":10000000000017}\n'
    )
    rows, _ = read([body], start="2015-03-01T00:00:00Z")
    assert [row[:5] for row in rows] == [
        (17, "2015-03-01T00:00:00Z", "r1", "https://c.example/courses/17/pages", 2.0)
    ]


def test_clipped_to_whole_seconds_of_the_range() -> None:
    body = (
        b"id,created_at,context_type,links_context\n"
        b"in,2015-02-01T10:00:00.999Z,Course,5\n"
        b"out,2015-02-01T10:00:01.000Z,Course,5\n"
        b"early,2015-02-01T09:59:59.999Z,Course,5\n"
    )
    rows, _ = read([body], start="2015-02-01T10:00:00Z", end="2015-02-01T10:00:00Z")
    assert [r[2] for r in rows] == ["in"]


def test_rows_without_id_or_time_name_their_user() -> None:
    body = (
        b"id,created_at,context_type,links_context\n,2015-02-01T10:00:00Z,Course,5\nx,,Course,5\n"
    )
    rows, reader = read([body])
    assert rows == []
    (why,) = reader.incomplete().values()
    assert "held 2 page views without an id or a readable time" in why


def test_a_batch_file_row_naming_no_user_makes_every_user_incomplete() -> None:
    # Anyone's of the query: a row naming another user is simply not this query's.
    body = (
        b"id,created_at,context_type,links_context,links_user\n"
        b"a,2015-02-01T10:00:00Z,Course,5,7\n"
        b"b,2015-02-01T10:00:01Z,Course,5,9\n"
        b"c,2015-02-01T10:00:02Z,Course,5,\n"
    )
    reader = ExportReader("2015-01-01T00:00:00Z", "2015-12-31T23:59:59Z", (7, 8))
    found = [pair for batch in [*reader.feed(body), *reader.close()] for pair in batch]
    assert [(user, row[2]) for user, row in found] == [(7, "a")]
    assert set(reader.incomplete()) == {7, 8}
    assert "1 page views naming no user" in reader.incomplete()[8]


HEADER = b"id,created_at,context_type,links_context,url\n"
LINE = b"v%07d,2015-02-01T10:00:00Z,Course,5,https://c.example/courses/5/pages/p\n"


def test_a_gzip_bomb_is_read_in_bounded_batches() -> None:
    # 100,000 rows (8 MB) squeeze into one small chunk: they must not become one list.
    body = HEADER + b"".join(LINE % n for n in range(100_000))
    packed = gzip.compress(body)
    assert len(packed) < INFLATE_STEP
    reader = ExportReader("2015-01-01T00:00:00Z", "2015-12-31T23:59:59Z", (7,))
    batches = [len(batch) for batch in reader.feed(packed)]
    batches += [len(batch) for batch in reader.close()]
    assert sum(batches) == 100_000
    assert max(batches) <= INFLATE_STEP // len(LINE % 0) + 1


def test_a_large_plain_chunk_is_read_in_bounded_batches() -> None:
    body = HEADER + b"".join(LINE % n for n in range(30_000))
    reader = ExportReader("2015-01-01T00:00:00Z", "2015-12-31T23:59:59Z", (7,))
    batches = [len(batch) for batch in reader.feed(body)] + [len(b) for b in reader.close()]
    assert sum(batches) == 30_000
    assert max(batches) <= INFLATE_STEP // len(LINE % 0) + 1


def test_gzip_members_one_after_another_are_read_whole() -> None:
    first, second = CSV.split(b"\nb,", 1)
    rows, _ = read([gzip.compress(first + b"\n") + gzip.compress(b"b," + second)])
    assert [r[2] for r in rows] == ["a", "b"]


@pytest.mark.parametrize(
    "body",
    [gzip.compress(CSV)[:-12], b"\x1f\x8b" + b"\x00" * 40],
    ids=["cut short", "damaged"],
)
def test_a_gzip_file_cut_short_or_damaged_is_an_error(body: bytes) -> None:
    with pytest.raises(ProtocolError, match="export file"):
        read([body])
