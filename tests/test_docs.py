"""The README fits a newcomer's first screens, and every page's links work on the code host."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.docs import splice
from pageviews import errors
from pageviews.cli.shell import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_TERMINATED

from .markdown_links import anchors, broken_links, links, slug

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]


def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_the_readme_fits_a_few_screens() -> None:
    assert len(readme().splitlines()) <= 250


def test_the_readme_opens_with_the_two_commands() -> None:
    text = readme()
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    assert "\n## " not in text[: text.index(first_block)]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert [c for c in commands if c] == ["make demo", "make test"]


def first_command(text: str) -> int:
    """Where the text first uses a ``pageviews ...`` command, in code or inline."""
    found = re.search(r"^pageviews |`pageviews [^`]*`", text, flags=re.MULTILINE)
    assert found, "no pageviews command"
    return found.start()


def test_the_readme_says_how_to_get_the_command_before_using_it() -> None:
    text = readme()
    before = text[: first_command(text)]
    for way in ("source .venv/bin/activate", "pipx install .", "pip install ."):
        assert way in before


def test_github_anchors() -> None:
    assert slug("Older page views: never, auto, only") == "older-page-views-never-auto-only"
    assert slug("Measured apart from `make bench`") == "measured-apart-from-make-bench"
    assert slug("Is it there?") == "is-it-there"
    assert slug("Getting the `pageviews` command") == "getting-the-pageviews-command"
    assert slug("The [store](x.md) and `--state_file`") == "the-store-and---state_file"
    page = '# A\n\n## Notes\n\n```sh\n# Notes\n```\n\n## Notes\n\n<a id="kept"></a>\n'
    assert anchors(page) == {"a", "notes", "notes-1", "kept"}


def test_links_outside_code_only() -> None:
    page = '[a](a.md#x) `[b](b.md)`\n```\n[c](c.md)\n```\n![d](d.png "title")\n[e](<e.md>)'
    assert list(links(page)) == ["a.md#x", "d.png", "e.md"]


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("# B\n\n## Here\n")
    page = tmp_path / "a.md"
    page.write_text("[ok](b.md#here) [self](#a) [no](c.md) [gone](b.md#there) [up](../x.md)\n# A\n")
    assert broken_links(page, tmp_path) == [
        "c.md: no such file",
        "b.md#there: no such anchor in b.md",
        "../x.md: no such file",
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page, ROOT) == []


def test_the_readme_links_every_page() -> None:
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in links(readme()) if t}
    assert {p.resolve() for p in DOCS.glob("*.md")} <= linked


def test_the_bench_finds_its_markers() -> None:
    """``make bench`` writes the README's headline and performance.md's blocks in place."""
    splice(readme(), {"headline": "x"}, "README.md")
    names = re.findall(r"<!-- bench:([\w-]+) -->", (DOCS / "performance.md").read_text())
    assert {"run", "acceptance", "single", "batch", "history", "export-memory"} <= set(names)
    splice((DOCS / "performance.md").read_text(), dict.fromkeys(names, "x"), "performance.md")


def documented_exit_codes() -> list[int]:
    usage = (DOCS / "usage.md").read_text(encoding="utf-8")
    table = usage.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    return [int(code) for code in re.findall(r"^\| (\d+) \|", table, flags=re.MULTILINE)]


def raised_exit_codes() -> set[int]:
    classes, codes = [errors.PageviewsError], set()
    while classes:
        for sub in classes.pop().__subclasses__():
            codes.add(sub.exit_code)
            classes.append(sub)
    return codes


def test_every_exit_code_is_documented_once() -> None:
    documented = documented_exit_codes()
    assert sorted(documented) == documented and len(set(documented)) == len(documented)
    expected = {0, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_TERMINATED} | raised_exit_codes()
    assert set(documented) == expected
