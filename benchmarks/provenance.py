"""Which code a benchmark run measured: the commit, and what differed from it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

#: Changes that cannot move a figure: documentation (the bench writes some of it).
_NOT_CODE = ("docs/",)
_NOT_CODE_SUFFIX = ".md"


def code_state(root: Path) -> dict[str, Any]:
    """The commit checked out in ``root`` and the paths that differ from it.

    ``commit`` is None outside a git checkout; ``changed`` lists modified, added or
    untracked files (ignored ones aside) other than documentation.
    """
    try:
        commit = _git(root, "rev-parse", "--short", "HEAD").strip()
        status = _git(root, "status", "--porcelain", "--untracked-files=all")
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "changed": []}
    # "XY path", or "R  old -> new" for a rename.
    changed = [line[3:].split(" -> ")[-1] for line in status.splitlines() if line[3:]]
    return {"commit": commit, "changed": [p for p in changed if _is_code(p)]}


def _is_code(path: str) -> bool:
    return not path.startswith(_NOT_CODE) and not path.endswith(_NOT_CODE_SUFFIX)


def describe(code: dict[str, Any]) -> str:
    """``commit 1a2b3c4``, with the changed files when the tree differed from it."""
    if code.get("commit") is None:
        return "code outside a git checkout (commit unknown)"
    changed: list[str] = code.get("changed") or []
    if not changed:
        return f"commit {code['commit']}"
    shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    return f"commit {code['commit']} with uncommitted changes ({shown})"


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout
