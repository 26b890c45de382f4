"""JSON Lines, Parquet, inactive users and the record-level dataset, read back as analysts do."""

from __future__ import annotations

import csv
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pageviews import TimeRange, UsageError
from pageviews.formats import parse_formats
from pageviews.options import BatchOptions
from pageviews.outputs.reportmeta import KINDS, seed_csv_header
from pageviews.testing import FakeConfig, World, expected_reports, serve
from pageviews.testing.analyst_truth import expected_inactive, expected_page_views
from pageviews.testing.report_files import files_in
from tests.cli_process import SEED_ARGS, run_cli, write_token
from tests.harvesting import END, START, STUDENTS
from tests.test_batch import batch

LABEL = "2015-01-26-2015-03-12"
ALL = ("csv", "json", "jsonl", "parquet")
UTC_SECONDS = pa.timestamp("ms", tz="UTC")


def stamp(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture(scope="module")
def harvested(small_world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A batch of 1693 and 169 in every format, with the records dataset and IPs."""
    out = tmp_path_factory.mktemp("analyst")

    async def go() -> None:
        async with serve(small_world, FakeConfig(throttle=None)) as canvas:
            await batch(canvas, out, 1693, 169, formats=ALL, records_dataset=True, include_ip=True)

    import anyio

    anyio.run(go, backend="asyncio")
    return out


def path(out: Path, course: int, kind: str, ext: str) -> Path:
    return out / str(course) / f"{kind}_{course}_{LABEL}.{ext}"


def jsonl(file: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in file.read_text().splitlines()]


def test_jsonl_reports_match_the_truth(small_world: World, harvested: Path) -> None:
    truth = expected_reports(small_world, 1693, START, END, enrollment_types=STUDENTS)
    records = jsonl(path(harvested, 1693, "user-pageviews", "jsonl"))
    assert [
        (r["user_id"], r["course_url"], r["request_date"], r["page_view_id"],
         r["interaction_seconds"], r["user_name"], r["course_id"])
        for r in records
    ] == [
        (r.user_id, r.url, r.created_at, r.id, r.interaction_seconds, truth.user_names[r.user_id],
         1693)
        for r in truth.records
    ]  # fmt: skip
    totals = jsonl(path(harvested, 1693, "total-pageviews", "jsonl"))
    assert [(t["course_url"], t["page_views"]) for t in totals] == truth.totals
    user_totals = jsonl(path(harvested, 1693, "total-user-pageviews", "jsonl"))
    assert [(t["user_id"], t["course_url"], t["page_views"]) for t in user_totals] == (
        truth.user_totals
    )


def test_parquet_reports_are_typed_and_match_the_truth(small_world: World, harvested: Path) -> None:
    truth = expected_reports(small_world, 1693, START, END, enrollment_types=STUDENTS)
    table = pq.read_table(path(harvested, 1693, "user-pageviews", "parquet"))
    assert table.schema.field("user_id").type == pa.int64()
    assert table.schema.field("course_id").type == pa.int64()
    assert table.schema.field("request_date").type == UTC_SECONDS
    assert table.schema.field("start_time").type == UTC_SECONDS
    assert table.schema.field("interaction_seconds").type == pa.float64()
    assert table.schema.field("page_view_id").type == pa.string()
    meta = table.schema.metadata
    assert meta[b"pageviews.course_id"] == b"1693"
    assert json.loads(meta[b"pageviews.selection"])["enrollment_types"] == list(STUDENTS)
    assert stamp(meta[b"pageviews.start_time"].decode()) == START
    rows = table.to_pylist()
    assert [(r["user_id"], r["page_view_id"], r["request_date"]) for r in rows] == [
        (r.user_id, r.id, stamp(r.created_at)) for r in truth.records
    ]
    assert rows[0]["start_time"] == START
    totals = pq.read_table(path(harvested, 1693, "total-pageviews", "parquet"))
    assert totals.schema.field("page_views").type == pa.int64()
    assert [(t["course_url"], t["page_views"]) for t in totals.to_pylist()] == truth.totals


def test_duckdb_queries_the_whole_batch(small_world: World, harvested: Path) -> None:
    relation = duckdb.sql(
        "SELECT course_id, count(*), count(DISTINCT user_id) FROM "
        f"read_parquet('{harvested}/*/user-pageviews_*.parquet') GROUP BY 1 ORDER BY 1"
    )
    assert relation is not None
    found = relation.fetchall()
    expected = []
    for course in (169, 1693):
        truth = expected_reports(small_world, course, START, END, enrollment_types=STUDENTS)
        expected.append((course, len(truth.records), len({r.user_id for r in truth.records})))
    assert found == expected


@pytest.mark.parametrize("course", [1693, 169])
def test_inactive_users_are_exact_in_every_format(
    small_world: World, harvested: Path, course: int
) -> None:
    truth = expected_inactive(small_world, course, START, END, enrollment_types=STUDENTS)
    assert truth, "the fake world has inactive students"
    assert any(t["last_activity_at"] for t in truth)
    assert jsonl(path(harvested, course, "inactive-users", "jsonl")) == truth
    document = json.loads(path(harvested, course, "inactive-users", "json").read_text())
    assert document["data"] == truth
    assert document["course_id"] == course
    with path(harvested, course, "inactive-users", "csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert rows == [
        {**t, "user_id": str(t["user_id"]), "course_id": str(course),
         "enrollment_types": ";".join(t["enrollment_types"]),
         "last_activity_at": t["last_activity_at"] or ""}
        for t in truth
    ]  # fmt: skip
    table = pq.read_table(path(harvested, course, "inactive-users", "parquet"))
    assert table.schema.field("enrollment_types").type == pa.list_(pa.string())
    assert table.schema.field("last_activity_at").type == UTC_SECONDS
    assert table.to_pylist() == [
        {**t, "last_activity_at": t["last_activity_at"] and stamp(t["last_activity_at"])}
        for t in truth
    ]


def links(view: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = view.get("links") or {}
    return found


FIELDS = ("id", "url", "context_type", "asset_type", "controller", "action",
          "interaction_seconds", "participated", "user_request", "http_method", "user_agent",
          "app_name", "remote_ip", "user_id")  # fmt: skip


def test_the_records_dataset_holds_every_researcher_field(
    small_world: World, harvested: Path
) -> None:
    truth = expected_page_views(small_world, 1693, START, END, enrollment_types=STUDENTS)
    names = {u: small_world.users[u].name for u in {v["user_id"] for v in truth}}
    lines = jsonl(path(harvested, 1693, "page-views", "jsonl"))
    assert [{k: r[k] for k in FIELDS} for r in lines] == [{k: v[k] for k in FIELDS} for v in truth]
    assert [(r["created_at"], r["context_id"], r["asset_id"], r["user_name"]) for r in lines] == [
        (v["created_at"], links(v).get("context"), links(v).get("asset"), names[v["user_id"]])
        for v in truth
    ]
    table = pq.read_table(path(harvested, 1693, "page-views", "parquet"))
    types = {f.name: f.type for f in table.schema}
    assert types["created_at"] == UTC_SECONDS
    assert types["participated"] == pa.bool_()
    assert types["asset_id"] == types["context_id"] == types["user_id"] == pa.int64()
    assert table.column("remote_ip").to_pylist() == [v["remote_ip"] for v in truth]


@pytest.mark.anyio
async def test_ip_addresses_only_when_asked(small_world: World, tmp_path: Path) -> None:
    async with serve(small_world, FakeConfig(throttle=None)) as canvas:
        await batch(canvas, tmp_path, 169, formats=("jsonl", "parquet"), records_dataset=True)
    line = jsonl(path(tmp_path, 169, "page-views", "jsonl"))[0]
    assert "remote_ip" not in line and "user_agent" in line
    assert "remote_ip" not in pq.read_schema(path(tmp_path, 169, "page-views", "parquet")).names
    # Only the chosen formats: no CSV or JSON of any report.
    assert not list((tmp_path / "169").glob("*.csv")) + list((tmp_path / "169").glob("*.json"))


def test_formats_are_named_and_checked() -> None:
    assert parse_formats(["parquet,csv", "jsonl"]) == ("csv", "jsonl", "parquet")
    with pytest.raises(UsageError, match="unknown format 'xlsx'"):
        parse_formats("csv,xlsx")


def test_parquet_without_pyarrow_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(UsageError, match=r"pip install 'pageviews\[parquet\]'"):
        BatchOptions(courses=(1,), time_range=TimeRange(START, END), formats=("parquet",))


def test_the_library_reads_typed_records_and_arrow_tables(
    small_world: World, harvested: Path
) -> None:
    from pageviews import PageViewRecord, course_records, records_table

    truth = expected_page_views(small_world, 1693, START, END, enrollment_types=STUDENTS)
    store = harvested / "pageviews-state.sqlite"
    found = list(course_records(store, 1693, START, END, users=[v["user_id"] for v in truth]))
    assert all(isinstance(r, PageViewRecord) for r in found)
    assert [(r.user_id, r.id, r.created_at, r.url, r.remote_ip) for r in found] == [
        (v["user_id"], v["id"], stamp(v["created_at"]), v["url"], None) for v in truth
    ]
    assert found[0].user_name == small_world.users[found[0].user_id].name
    table = records_table(store, 1693, START, END, include_ip=True, users={found[0].user_id})
    assert table.schema.field("created_at").type == UTC_SECONDS
    assert table.column("id").to_pylist() == [r.id for r in found if r.user_id == found[0].user_id]
    assert table.column("remote_ip").to_pylist()[0] is not None


@pytest.mark.anyio
async def test_the_cli_writes_the_chosen_formats_and_rebuilds_them(
    small_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, small_world.admin_token)
    flags = ["--format", "jsonl", "--format", "parquet", "--records-dataset", "--no-summary"]
    async with serve(small_world) as canvas:
        code, _, err = await run_cli(canvas, tmp_path, [*SEED_ARGS, *flags])
        assert code == 0, err
        written = {n: (tmp_path / n).read_bytes() for n in files_in(tmp_path) if "_1693_" in n}
        assert sorted(written) == sorted(
            f"{kind}_1693_{LABEL}.{ext}"
            for kind in ("total-pageviews", "total-user-pageviews", "user-pageviews",
                         "inactive-users", "page-views")
            for ext in ("jsonl", "parquet")
        )  # fmt: skip
        for name in written:
            (tmp_path / name).unlink()
        code, _, err = await run_cli(canvas, tmp_path, ["report", *SEED_ARGS, *flags])
        assert code == 0, err
    assert {n: (tmp_path / n).read_bytes() for n in written if n.endswith(".jsonl")} == {
        n: b for n, b in written.items() if n.endswith(".jsonl")
    }
    assert pq.read_table(tmp_path / f"page-views_1693_{LABEL}.parquet").num_rows > 0


@pytest.mark.anyio
async def test_an_unknown_format_is_a_usage_error(small_world: World, tmp_path: Path) -> None:
    write_token(tmp_path, small_world.admin_token)
    async with serve(small_world) as canvas:
        code, _, err = await run_cli(canvas, tmp_path, [*SEED_ARGS, "--format", "xlsx"])
        assert not canvas.requests
    assert code == 2
    assert err.strip().endswith("unknown format 'xlsx' (one or more of: csv, json, jsonl, parquet)")


@pytest.mark.anyio
async def test_column_names_are_snake_case_but_the_seeds_three_csv_reports(
    small_world: World, tmp_path: Path
) -> None:
    write_token(tmp_path, small_world.admin_token)
    flags = ["--format", "csv", "--format", "jsonl", "--records-dataset", "--out-dir", "out"]
    async with serve(small_world) as canvas:
        code, _, err = await run_cli(canvas, tmp_path, ["batch", "169", *SEED_ARGS, *flags])
    assert code == 0, err
    headers = {
        csv_file.relative_to(tmp_path / "out").as_posix(): next(
            csv.reader(csv_file.read_text().splitlines())
        )
        for csv_file in (tmp_path / "out").rglob("*.csv")
    }
    seed = {f"{course}/{kind}_{course}_{LABEL}.csv": seed_csv_header(kind)
            for course in (169, 1693) for kind in KINDS}  # fmt: skip
    assert {name: headers[name] for name in seed} == seed  # the original's titles
    others = {name: header for name, header in headers.items() if name not in seed}
    assert sorted(others) == sorted(
        ["batch-summary.csv"]
        + [f"{c}/{kind}_{c}_{LABEL}.csv" for c in (169, 1693)
           for kind in ("inactive-users", "page-views")]
    )  # fmt: skip
    for name, header in others.items():
        assert all(re.fullmatch(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*", h) for h in header), name
        lines = tmp_path / "out" / name.replace(".csv", ".jsonl")
        if lines.exists():  # the same names as the JSON Lines keys
            assert list(jsonl(lines)[0]) == header, name


def test_the_readme_says_how_columns_are_named() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "**Column names.** The three original CSV reports keep" in readme
    assert "Every other column name is\nsnake_case" in readme
