"""A throwaway PostgreSQL cluster: initdb into a temporary folder, trust auth, loopback only.

The engine's PostgreSQL tests and the engine benchmark both need a database nobody else uses and
that vanishes afterwards; this is the one place that knows how to start and stop it. initdb refuses
root, so as root the cluster belongs to the `postgres` user. Where the server binaries are absent it
raises `PostgresUnavailable` (tests turn that into a skip with the same reason).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import HarnessError
from .servers import free_port

_START_TRIES = 5  # a port free when drawn can still be taken before the server binds it


class PostgresUnavailable(HarnessError, RuntimeError):
    """The PostgreSQL server binaries (initdb, pg_ctl) are not installed."""


class PostgresStartError(HarnessError, RuntimeError):
    """The server is installed but would not start (a test fails on it rather than skipping)."""


def _binaries() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def throwaway_postgres(*, max_connections: int = 200) -> Iterator[str]:
    """Start a fresh cluster on a free loopback port; yield the SQLAlchemy URL of its `oir` database."""
    bin_dir = _binaries()
    if bin_dir is None:
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl) are not installed; apt-get install postgresql"
        )
    folder = tempfile.mkdtemp(prefix="oir-pg-")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data = os.path.join(folder, "data")
    log = os.path.join(folder, "log")

    def run(*command: str) -> None:
        subprocess.run(_as_owner(list(command)), check=True, capture_output=True, timeout=120)

    def start() -> int:
        """Start the server on a free port; a port taken in the meantime by another process means another."""
        for _ in range(_START_TRIES):
            port = free_port()
            logged = os.path.getsize(log) if os.path.exists(log) else 0
            # lc_messages=C: the log's "could not bind" is read below, in English whatever the locale
            options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c lc_messages=C"
            try:
                run(
                    f"{bin_dir}/pg_ctl",
                    "-D",
                    data,
                    "-l",
                    log,
                    "-w",
                    "-o",
                    f"{options} -c max_connections={max_connections}",
                    "start",
                )
                return port
            except subprocess.CalledProcessError:
                if not os.path.exists(log):  # the server never started: not a port taken
                    raise
                with open(log, encoding="utf-8", errors="replace") as written:
                    written.seek(logged)
                    if "could not bind" not in written.read():
                        raise
        raise PostgresStartError(f"PostgreSQL could not bind a free loopback port in {_START_TRIES} tries")

    try:
        run(f"{bin_dir}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        port = start()
        run(f"{bin_dir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "oir")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/oir"
    finally:
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            subprocess.run(
                _as_owner([f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "stop"]),
                check=False,
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(folder, ignore_errors=True)
