"""Real servers for tests: the backend as a uvicorn subprocess on loopback (killable with SIGKILL)."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BackendProcess:
    """``kuzet serve`` in a child process, with its own settings file, database and media folder."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.admin_token = secrets.token_hex(20)
        self.config = root / "backend.yaml"
        self.config.write_text(
            yaml.safe_dump(
                {
                    "database": str(root / "backend.sqlite"),
                    "media_dir": str(root / "media"),
                    "admin_token": self.admin_token,
                    "template_key": base64.b64encode(secrets.token_bytes(32)).decode(),
                    "port": self.port,
                    "max_upload_bytes": 200_000,
                }
            )
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> BackendProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kuzet", "serve", "--config", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "backend.log", "ab"),  # noqa: SIM115
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"backend exited: {(self.root / 'backend.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("backend did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flush; what SQLite committed must survive."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def register(self, camera_id: str, kind: str = "school", site: str = "school-1") -> str:
        response = httpx.post(
            f"{self.url}/api/v1/devices",
            json={"camera_id": camera_id, "kind": kind, "site": site},
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )
        response.raise_for_status()
        return str(response.json()["api_key"])
