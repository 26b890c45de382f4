"""Folders a run makes for its output and its store, taken back when it writes nothing.

A run that fails before it writes anything (Canvas out of reach, a rejected token)
leaves the file system as it found it: the folders it made are removed when empty,
deepest first; a folder that was already there, or that holds anything, stays.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def missing_folders(path: Path) -> list[Path]:
    """``path`` and its parents that do not exist yet, deepest first."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    return missing


@contextmanager
def made_for(*paths: Path) -> Iterator[None]:
    """Remove the empty folders of ``paths`` made in the block if it raises."""
    made = [folder for path in paths for folder in missing_folders(path)]
    try:
        yield
    except BaseException:
        for folder in sorted(set(made), key=lambda p: len(p.parts), reverse=True):
            with suppress(OSError):  # not empty, or already gone: it stays as it is
                folder.rmdir()
        raise
