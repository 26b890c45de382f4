"""One run per state store: an exclusive lock on a file beside it.

Invariants:
- The lock is an ``flock`` on ``<store>.lock``. The kernel drops it when the
  holder's process ends, however it ends (even ``kill -9``), so a lock file left
  behind by a killed run holds no lock and the next run simply takes it over.
- A run removes the file while still holding the lock. A run that opened the old
  file just before may then lock a file no longer in place: so a lock counts only
  when the path still names the locked file, and otherwise the run tries again.
- The file holds the holder's pid and start time, only for the message a second
  run prints; the lock itself is the ``flock``, never the file's content.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from ..errors import StateError, StoreBusyError


def lock_path(store: Path) -> Path:
    """The lock file beside ``store``."""
    return store.with_name(store.name + ".lock")


@contextmanager
def store_lock(store: Path) -> Iterator[None]:
    """Hold the store's lock for the block; fail at once if another run holds it."""
    path = lock_path(store)
    fd = _locked(store, path)
    try:
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {started}\n".encode(), 0)
        yield
    finally:
        with suppress(OSError):  # removed while still held: see the invariants
            path.unlink()
        os.close(fd)  # releases the flock


def holder(store: Path) -> tuple[int, str] | None:
    """The pid and start time of the run holding the store, if one is running.

    Read from the lock file without taking the lock, so a run starting meanwhile is
    never refused: a file left by a killed run names a pid that is gone.
    """
    try:
        pid_text, started = [*lock_path(store).read_text().split(), "?"][:2]
        pid = int(pid_text)
        os.kill(pid, 0)  # signal 0: only whether the process exists
    except PermissionError:  # it exists, under another user
        return pid, started
    except (OSError, ValueError):  # no file, an empty one, or its holder is gone
        return None
    return pid, started


def _locked(store: Path, path: Path) -> int:
    """Open and lock the file at ``path``, making sure it is still the one there."""
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            reason = exc.strerror
            if path.parent.exists() and not path.parent.is_dir():  # mkdir says "File exists"
                reason = f"{path.parent} is a file, not a directory"
            raise StateError(f"cannot open the state store {store}: {reason}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _same_file(fd, path):
                return fd
        except BlockingIOError:
            holder = os.pread(fd, 256, 0)
            os.close(fd)
            raise StoreBusyError(_busy_message(store, holder)) from None
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the holder removed it as we opened it: lock the new one


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _busy_message(store: Path, holder: bytes) -> str:
    # The holder writes its line just after locking: it may not be there yet.
    pid, started = ([*holder.decode(errors="replace").split(), "?", "?"])[:2]
    return (
        f"the state store {store} is in use by another pageviews run (pid {pid}, started "
        f"{started}); wait for it to end, or use another --state"
    )
