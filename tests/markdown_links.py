"""The relative links of Markdown pages, and the anchors a code host gives their headings.

Anchors follow GitHub's rules: a heading's text as rendered (no code ticks,
emphasis or link targets), lowercased, every character but letters, digits,
spaces, hyphens and underscores dropped, spaces made hyphens; a repeated anchor
gets ``-1``, ``-2``, ... Explicit ``<a id="...">`` (or ``name``) anchors count too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_CODE_SPAN = re.compile(r"`[^`]*`")
_LINK = re.compile(r"\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_INLINE_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def prose(text: str) -> str:
    """The text outside fenced code blocks (fenced lines become empty)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            lines.append("")
        else:
            lines.append("" if fenced else line)
    return "\n".join(lines)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading of this text (before de-duplication)."""
    text = _INLINE_LINK.sub(r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor a page offers: its headings' and its explicit ones."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    body = prose(text)
    for line in body.splitlines():
        heading = _HEADING.match(line)
        if heading:
            base = slug(heading.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    found.update(_HTML_ANCHOR.findall(body))
    return found


def links(text: str) -> Iterator[str]:
    """The targets of a page's inline links and images, outside code."""
    yield from _LINK.findall(_CODE_SPAN.sub("", prose(text)))


def broken_links(page: Path, root: Path) -> list[str]:
    """Each relative link of ``page`` whose file, or anchor in it, does not exist."""
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        if not target or _SCHEME.match(target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page.resolve()
        if not dest.is_relative_to(root.resolve()) or not dest.exists():
            broken.append(f"{target}: no such file")
        elif (
            anchor
            and dest.suffix == ".md"
            and anchor not in anchors(dest.read_text(encoding="utf-8"))
        ):
            broken.append(f"{target}: no such anchor in {dest.name}")
    return broken
