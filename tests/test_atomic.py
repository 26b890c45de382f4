"""Every output is written whole or not at all: the one atomic-write helper and its writers."""

from __future__ import annotations

from pathlib import Path

import pytest

from pageviews.outputs.atomic import write_atomic
from pageviews.outputs.csvfile import CsvFile
from pageviews.outputs.jsonfile import JsonFile


def test_a_write_replaces_the_file_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "index.html"
    target.write_bytes(b"old")
    assert write_atomic(target, b"new") == target
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html"]


def test_a_write_that_cannot_rename_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # a directory: the rename fails after the bytes were written
    (target / "inside").write_bytes(b"")
    with pytest.raises(IsADirectoryError):
        write_atomic(target, b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_a_writer_interrupted_mid_file_keeps_the_previous_file(
    tmp_path: Path, failure: type[BaseException]
) -> None:
    csv_path, json_path = tmp_path / "r.csv", tmp_path / "r.json"
    csv_path.write_bytes(b"previous")

    def interrupted() -> None:
        with CsvFile(csv_path, ["a", "b"]) as table, JsonFile(json_path) as document:
            table.write_rows([["x", 1]])
            document.write_rows([b'{"a":"x"}'])
            raise failure

    with pytest.raises(failure):
        interrupted()
    assert csv_path.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


def test_csv_for_spreadsheets_guards_text_cells_only(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    with CsvFile(path, ["name", "n", "note"], excel=True, lineterminator="\n") as table:
        table.write_rows([["=1+1", -2, "a=b"], ["@x", 3.5, ""], ["+1", 0, '-"q"']])
    assert path.read_bytes() == (
        b'\xef\xbb\xbfname,n,note\n\'=1+1,-2,a=b\n\'@x,3.5,\n\'+1,0,"\'-""q"""\n'
    )


def test_json_reports_and_lines_stream_their_rows(tmp_path: Path) -> None:
    with JsonFile(tmp_path / "r.json", b'{"course_id":1') as document:
        document.write_rows([b'{"a":1}'])
        document.write_text_rows(['{"a":2}', '{"a":3}'])
    with JsonFile(tmp_path / "r.jsonl", lines=True) as lines:
        lines.write_rows([b'{"a":1}', b'{"a":2}'])
    assert (tmp_path / "r.json").read_bytes() == (
        b'{"course_id":1,"data":[\n{"a":1},\n{"a":2},\n{"a":3}\n]}\n'
    )
    assert (tmp_path / "r.jsonl").read_bytes() == b'{"a":1}\n{"a":2}\n'
