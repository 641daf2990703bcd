"""Real servers for the tests: a throwaway PostgreSQL cluster per test process.

`.ci/run` installs Debian's `postgresql` package and sets DATACANARY_REQUIRE_SERVICES=1, so that in CI a
missing server fails the tests instead of skipping them. Elsewhere the Postgres tests skip, saying why.
DATACANARY_TEST_POSTGRES_URL points the tests at a server of your own instead (a superuser's URL).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REQUIRED = os.environ.get("DATACANARY_REQUIRE_SERVICES") == "1"


def unavailable(what: str, why: str) -> None:
    """Skip (or, in CI, fail) a test that needs `what`."""
    message = f"{what} is not available here: {why}"
    if REQUIRED:
        pytest.fail(message + " (DATACANARY_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(message)


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A PostgreSQL cluster in a temp dir on a loopback port, trusted local auth, stopped at exit.
    As root it runs as the `postgres` user (PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
        if not initdb or not pg_ctl:
            unavailable("PostgreSQL", "no initdb/pg_ctl (apt-get install postgresql)")
        self.pg_ctl = str(pg_ctl)
        self.dir = Path(tempfile.mkdtemp(prefix="datacanary-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run(
            [str(initdb), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]
        )
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        self._run([self.pg_ctl, "-D", str(self.data), "-l", str(self.dir / "log"), "-o", opts, "-w", "start"])
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, cmd: list[str]) -> None:
        done = subprocess.run([*self.as_user, *cmd], capture_output=True, text=True, check=False)
        if done.returncode:
            unavailable("PostgreSQL", f"{cmd[0]} failed: {(done.stderr or done.stdout).strip()[-400:]}")

    def database(self, name: str) -> str:
        """A new empty database `name`; its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


class ExternalPostgres(PostgresServer):
    def __init__(self, url: str) -> None:  # noqa: D107 - a server somebody else runs
        self.url = url

    def stop(self) -> None:
        pass


def start_postgres() -> PostgresServer:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("PostgreSQL", "the psycopg driver is not installed (pip install -e '.[test]')")
    url = os.environ.get("DATACANARY_TEST_POSTGRES_URL")
    server = ExternalPostgres(url) if url else PostgresServer()
    deadline = time.monotonic() + 10
    import psycopg

    while True:
        try:
            psycopg.connect(server.url, connect_timeout=2).close()
            return server
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                server.stop()
                unavailable("PostgreSQL", f"cannot connect: {exc}")
            time.sleep(0.1)
