"""The benchmark writes its own figures into the docs, naming the code it measured."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmarks.docs import DocsError, check_complete, splice
from benchmarks.provenance import code_state, describe

DOC = """# Performance

Prose stays.
<!-- bench:run -->
old run line
<!-- /bench:run -->
More prose.
<!-- bench:single -->
```
old table
```
<!-- /bench:single -->
The end.
"""


def test_splice_replaces_only_what_the_markers_hold() -> None:
    blocks = {"run": "From commit abc1234.", "single": "```\nnew table\n```"}
    text = splice(DOC, blocks, "performance.md")
    assert "old" not in text
    assert (
        text.replace("From commit abc1234.", "old run line").replace("new table", "old table")
        == DOC
    )
    assert splice(text, blocks, "performance.md") == text


@pytest.mark.parametrize(
    "doc",
    [
        DOC.replace("<!-- /bench:single -->\n", ""),
        DOC + "<!-- bench:single -->\n",
        DOC.replace(
            "<!-- bench:run -->\nold run line\n<!-- /bench:run -->",
            "<!-- /bench:run -->\n<!-- bench:run -->",
        ),
    ],
)
def test_a_missing_or_doubled_marker_is_an_error(doc: str) -> None:
    with pytest.raises(DocsError, match="needs one"):
        splice(doc, {"run": "x", "single": "y"}, "performance.md")


def test_the_docs_take_every_group_from_one_run() -> None:
    with pytest.raises(DocsError, match=r"latency-bound.*export-memory"):
        check_complete({"scenarios": [], "batch": {"runs": []}})


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def test_the_run_names_its_commit_and_any_code_changed_since(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "README.md").write_text("# r\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "c")
    clean = code_state(tmp_path)
    assert clean["changed"] == [] and describe(clean) == f"commit {clean['commit']}"
    (tmp_path / "README.md").write_text("# the bench writes its figures here\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "performance.md").write_text("tables\n")
    assert code_state(tmp_path)["changed"] == []  # documentation cannot move a figure
    (tmp_path / "code.py").write_text("x = 2\n")
    (tmp_path / "new.py").write_text("y = 1\n")
    dirty = code_state(tmp_path)
    assert dirty["changed"] == ["code.py", "new.py"]
    assert describe(dirty).endswith("with uncommitted changes (code.py, new.py)")
    assert code_state(tmp_path / "absent")["commit"] is None
