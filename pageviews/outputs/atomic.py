"""Every file the user sees is written under a temporary name beside it, then renamed.

A rename within one directory is atomic, so an interrupted or failed run leaves
either the previous file or the new one whole, never a half-written one; the
temporary file (``.<name>.part``) is removed when the write does not finish.
Nothing is fsynced: the promise is against interruption, not power loss.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import IO, Any, Self


class Staged:
    """One file being written under its temporary name until :meth:`publish`."""

    __slots__ = ("final", "part")

    def __init__(self, final: Path) -> None:
        self.final = final
        self.part = final.with_name(f".{final.name}.part")

    def open_text(self) -> IO[str]:
        """The temporary file for text: UTF-8, line endings written as given."""
        return open(self.part, "w", newline="", encoding="utf-8")

    def open_binary(self) -> IO[bytes]:
        """The temporary file for bytes."""
        return open(self.part, "wb")

    def publish(self) -> None:
        """Rename the finished temporary file to its final name."""
        os.replace(self.part, self.final)

    def discard(self) -> None:
        """Remove the temporary file, if any; the final name is left as it was."""
        self.part.unlink(missing_ok=True)


class StagedSink:
    """A writer's one open temporary file; with no path it takes rows and writes nothing.

    As a context manager: closed and published when the block ends, discarded when
    it raises. A writer of several files closes them all, then publishes them all.
    """

    def __init__(self, path: Path | None, *, binary: bool) -> None:
        self.staged = None if path is None else Staged(path)
        self.file: IO[Any] | None = None
        if self.staged is not None:
            self.file = self.staged.open_binary() if binary else self.staged.open_text()

    def close(self) -> None:
        """Finish the file under its temporary name."""
        if self.file is not None:
            self.file.close()

    def publish(self) -> None:
        """Rename the closed file into place."""
        if self.staged is not None:
            self.staged.publish()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        try:
            if exc_type is None:
                self.close()
                self.publish()
        finally:
            self.discard()  # after a publish there is nothing left to remove

    def discard(self) -> None:
        """Close and remove the temporary file."""
        if self.file is not None:
            with suppress(OSError):  # on a full disk the last flush fails too
                self.file.close()
        if self.staged is not None:
            self.staged.discard()


def publish_all(staged: Iterable[Staged]) -> None:
    """Rename finished files into place, in order (a set's last name shows it is whole)."""
    for item in staged:
        item.publish()


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` whole or not at all; return ``path``."""
    staged = Staged(path)
    try:
        staged.part.write_bytes(data)
        staged.publish()
    finally:
        staged.discard()  # only left when the write or the rename failed
    return path
