"""A local PostgreSQL cluster for the city setup: ``initdb`` into a folder and ``pg_ctl`` on a loopback port.

Debian's ``postgresql`` package installs the binaries in ``/usr/lib/postgresql/<major>/bin``; as root the server runs
as the ``postgres`` user (``runuser``) in a folder it owns. Durable settings (fsync and synchronous commit on, as in
production); trust authentication on loopback only, so no password is written anywhere.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from kuzet.city.nats import free_port


class PostgresMissingError(RuntimeError):
    """Debian's ``postgresql`` is not installed (or cannot run here); the message is one line saying what to do."""


def postgres_bin() -> Path | None:
    """The folder of ``initdb``/``pg_ctl``/``psql`` (PATH first, then the newest Debian install), or None."""
    found = shutil.which("pg_ctl")
    if found is not None and Path(found).with_name("initdb").exists():
        return Path(found).parent
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


def _run_as() -> list[str]:
    """Command prefix running the server as a user PostgreSQL accepts (it refuses root)."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise PostgresMissingError(
            "running as root and there is no 'postgres' user: apt-get install postgresql"
        ) from exc
    if runuser is None:
        raise PostgresMissingError("running as root without runuser: cannot start PostgreSQL as the postgres user")
    return [runuser, "-u", "postgres", "--"]


class LocalPostgres:
    """One cluster in ``root`` (kept between runs; ``stop`` stops the server, the files stay for a look). As root, when
    the ``postgres`` user cannot reach ``root`` (a private temporary folder), the cluster goes to a scratch folder of
    its own, deleted at ``stop``."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise PostgresMissingError("PostgreSQL is not installed: apt-get install postgresql (Debian), then retry")
        self.bin_dir = bin_dir
        self.prefix = _run_as()
        self.scratch = bool(self.prefix) and not _reachable(root.resolve())
        self.root = Path(tempfile.mkdtemp(prefix="kuzet-city-pg-")) if self.scratch else root.resolve()
        self.data = self.root / "data"
        self.port = port or free_port()
        self.user = "postgres" if self.prefix else pwd.getpwuid(os.geteuid()).pw_name
        self.started = False

    def _run(self, *args: str, timeout_s: float = 120.0) -> None:
        result = subprocess.run([*self.prefix, *args], capture_output=True, text=True, timeout=timeout_s, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({result.returncode}): {result.stderr.strip()[-500:]}")

    def start(self) -> LocalPostgres:
        """Create the cluster when there is none, then start it and wait until it accepts connections."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.prefix:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust",
                      "-E", "UTF8", "--locale=C")  # fmt: skip
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300"
            " -c shared_buffers=128MB -c wal_buffers=16MB -c max_wal_size=2GB"
        )
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")  # fmt: skip
        self.started = True
        return self

    def url(self, database: str = "postgres") -> str:
        """The ``postgresql://`` URL of one database (trust on loopback: no password)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def fresh_database(self, name: str) -> str:
        """Drop and create ``name``; its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown (waits); nothing when it was not started."""
        if not self.started:
            return
        self.started = False
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline and not (self.data / "postmaster.pid").exists():
            time.sleep(0.05)
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            if self.scratch:
                shutil.rmtree(self.root, ignore_errors=True)


def _reachable(path: Path) -> bool:
    """Whether another user can reach ``path`` (every existing folder on the way lets others pass)."""
    return all(not (folder.exists() and not folder.stat().st_mode & stat.S_IXOTH) for folder in [path, *path.parents])
