"""A throwaway PostgreSQL cluster for tests and benchmarks: Debian's ``initdb`` and ``pg_ctl``.

Invariants:
- The cluster lives in a temporary directory, listens on 127.0.0.1 at a free port
  and on a socket in that directory, trusts local logins, and is stopped and
  removed when the session ends. Nothing outside the directory is touched.
- PostgreSQL refuses to run as root: as root, the server runs as the ``postgres``
  user Debian's package creates (``runuser``), in a directory that user owns.
- Missing binaries are a failure naming the package, never a skip: the store's
  suite runs against PostgreSQL everywhere ``make test`` runs.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SUPERUSER = "pageviews"
#: A role that logs in with a password over TCP (scram-sha-256), as a team's would.
KEEPER, KEEPER_PASSWORD = "keeper", "k33p-s3cret"
#: Durability off: a test cluster is thrown away, and fsyncs would dominate its time.
_FAST = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


class Cluster:
    """A running cluster: hands out a new, empty database per call."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._names = itertools.count(1)

    def dsn(self, database: str = "postgres") -> str:
        """The URL of ``database`` on this cluster, as a user would give it to --state."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self, *schemas: str) -> str:
        """Create an empty database (with ``schemas``, the keeper's) and return its URL."""
        name = f"test_{next(self._names)}"
        with _connect(self.dsn()) as conn:
            conn.execute(f"CREATE DATABASE {name} OWNER {KEEPER}")
        with _connect(self.dsn(name)) as conn:
            for schema in schemas:
                conn.execute(f"CREATE SCHEMA {schema} AUTHORIZATION {KEEPER}")
        return self.dsn(name)

    def keeper_dsn(self, database: str, password: str = KEEPER_PASSWORD) -> str:
        """The URL of ``database`` for the role that logs in with a password."""
        return f"postgresql://{KEEPER}:{password}@127.0.0.1:{self.port}/{database}"


def bin_dir() -> Path:
    """The newest installed PostgreSQL's binaries; a failure naming the package when none."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        raise RuntimeError(
            "the PostgreSQL tests need initdb and pg_ctl: apt-get install postgresql"
        )
    return found[-1].parent


@contextmanager
def running_cluster(*, durable: bool = False) -> Iterator[Cluster]:
    """Start a cluster in a temporary directory; stop and remove it at the end.

    ``durable`` keeps PostgreSQL's own fsyncs, as a real server's (for benchmarks).
    """
    binaries = bin_dir()
    # Not under pytest's tmp_path: its parents are private to root, and as root the
    # server runs as another user, who must reach its directory.
    root = Path(tempfile.mkdtemp(prefix="pageviews-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"
    port = _free_port()
    try:
        _run([*as_user, str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER,
              "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])  # fmt: skip
        hba = data / "pg_hba.conf"  # first match wins: the keeper must give its password
        hba.write_text(f"host all {KEEPER} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        fast = "" if durable else _FAST
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 {fast}"
        _run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log),
              "-o", options, "-w", "start"], log)  # fmt: skip
        try:
            with _connect(Cluster(port).dsn()) as conn:
                conn.execute(f"CREATE ROLE {KEEPER} LOGIN PASSWORD '{KEEPER_PASSWORD}'")
            yield Cluster(port)
        finally:
            _run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate",
                  "-w", "stop"])  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _connect(dsn: str) -> Any:
    import psycopg  # the postgres extra: imported only where a cluster is started

    return psycopg.connect(dsn, autocommit=True)


def _run(command: list[str], log: Path | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        server = log.read_text(errors="replace") if log and log.exists() else ""
        raise RuntimeError(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}{server}"
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
