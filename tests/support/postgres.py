"""A real PostgreSQL server for tests: ``initdb`` into a temporary folder and ``pg_ctl`` on a free loopback port.

One server per pytest process (session scope, so one per xdist worker) and one fresh database per test that asks for
one. As root (this machine, CI) the server runs as the ``postgres`` user through ``runuser`` in a folder it owns;
otherwise as the current user. Tests that need it skip with the reason when the binaries are absent (Debian's
``postgresql`` package puts them in ``/usr/lib/postgresql/<major>/bin``).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kuzet.city.postgres import postgres_bin as pg_bin
from tests.support.servers import free_port

_COUNTER = itertools.count()


def _run_as() -> list[str]:
    """The command prefix that runs a server binary as a user PostgreSQL accepts (never root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run the PostgreSQL server as")
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root and `runuser` is absent: cannot start PostgreSQL as the postgres user")
    return [runuser, "-u", "postgres", "--"]


class PostgresServer:
    """A throwaway PostgreSQL cluster on ``127.0.0.1:<free port>``, trust authentication, fsync off."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.prefix = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="kuzet-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user = "postgres" if self.prefix else pwd.getpwuid(os.geteuid()).pw_name
        self.template: str | None = None
        self.shared: str | None = None
        if self.prefix:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self.prefix, *args], capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr[-2000:]}")

    def start(self) -> PostgresServer:
        """initdb, then start and wait until it accepts connections."""
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip
        return self

    def url(self, database: str = "postgres") -> str:
        """The ``postgresql://`` URL of one database on this server."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t", *, migrated: bool = False) -> str:
        """A new database, empty or with every migration applied (copied from a template migrated once); its URL."""
        import psycopg

        template = f' TEMPLATE "{self._template()}"' if migrated else ""
        name = f"{prefix}_{os.getpid()}_{next(_COUNTER)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{template}')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Close this process's pool of ``url`` and drop the database."""
        from backend.db import close_pools

        close_pools(url)
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')

    def clean_database(self) -> str:
        """This process's migrated test database, emptied: every table but ``schema_migrations`` truncated (one
        statement, identities restarted). Much cheaper than a new database per test; tests in one process run one
        after the other, and each xdist worker has its own server."""
        import psycopg

        if self.shared is None:
            self.shared = self.create_database("shared", migrated=True)
        with psycopg.connect(self.shared, autocommit=True) as conn:
            conn.execute(self._emptying(conn))
        return self.shared

    @staticmethod
    def _emptying(conn: Any) -> bytes:
        """One round trip that deletes every row (foreign-key triggers off for it) and restarts the identities."""
        tables = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            " AND c.relname <> 'schema_migrations'"
        ).fetchall()
        sequences = conn.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'").fetchall()
        statements = ["SET session_replication_role = replica"]
        statements += [f'DELETE FROM "{t}"' for (t,) in tables]
        statements += [f"SELECT setval('\"{q}\"', 1, false)" for (q,) in sequences]
        statements.append("SET session_replication_role = DEFAULT")
        return ";".join(statements).encode()

    def _template(self) -> str:
        if self.template is None:
            from backend.db import close_pools, connect, migrate

            url = self.create_database("template")
            db = connect(url)
            try:
                migrate(db)
            finally:
                db.conn.close()
                close_pools(url)
            self.template = url.rsplit("/", 1)[1]
        return self.template

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its folder."""
        from backend.db import close_pools

        close_pools()
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for this pytest process (each xdist worker has its own)."""
    bin_dir = pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin)")
    server = PostgresServer(bin_dir).start()
    yield server
    server.stop()


ENGINES = ("sqlite", "postgresql")


@pytest.fixture(params=ENGINES)
def db_engine(request: pytest.FixtureRequest) -> str:
    """The database engine a storage or service test runs on (each such test runs once per engine)."""
    engine: str = request.param
    return engine


@pytest.fixture
def database_url(db_engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of the engine under test: an empty SQLite file in ``tmp_path``, or this process's PostgreSQL
    test database with every migration applied and every row removed (``migrate`` on it applies nothing more)."""
    if db_engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    yield server.clean_database()
