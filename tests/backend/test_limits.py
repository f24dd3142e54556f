"""Limits that hold against a real uvicorn server: a 50 MB JSON body is refused (413) without the server holding it
(its resident memory grows by less than 20 MB), declared or chunked; passwords hashed at scrypt N=2^17."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.db import connect
from tests.support.servers import BackendProcess

FIFTY_MB = 50 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendProcess]:
    backend = BackendProcess(Path(tmp_path_factory.mktemp("limits-backend")))
    backend.start()
    yield backend
    backend.stop()


def _rss_mb(backend: BackendProcess) -> float:
    assert backend.proc is not None
    status = Path(f"/proc/{backend.proc.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) / 1024


def _json_body(size: int) -> bytes:
    padding = b"x" * (size - 40)
    return b'{"username": "a", "password": "' + padding + b'"}'


def test_three_50_mb_json_logins_are_413_and_not_held_in_memory(server: BackendProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        client.post("/api/v1/auth/login", json={"username": "warm", "password": "up"})
        before = _rss_mb(server)
        body = _json_body(FIFTY_MB)
        for _ in range(3):
            reply = client.post("/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"})
            assert reply.status_code == 413, reply.text
            assert reply.headers["content-type"].startswith("application/problem+json")
            assert "limit" in reply.json()["detail"]
        after = _rss_mb(server)
    assert after - before < 20, f"server RSS grew from {before:.0f} MB to {after:.0f} MB"


def test_a_chunked_body_without_length_is_cut_at_the_cap(server: BackendProcess) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            yield b"x" * (256 * 1024)

    with httpx.Client(base_url=server.url, timeout=60) as client:
        before = _rss_mb(server)
        reply = client.post("/api/v1/auth/login", content=chunks(), headers={"Content-Type": "application/json"})
        assert reply.status_code == 413, reply.text
        assert _rss_mb(server) - before < 20
        small = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "wrong password"})
        assert small.status_code == 401, "an ordinary body under the cap still reaches the login"


def _hash_of(database: Path, username: str) -> str:
    db = connect(database)
    try:
        return str(db.execute("SELECT password_hash FROM users WHERE username = ?", [username]).fetchone()[0])
    finally:
        db.conn.close()


def test_the_real_server_hashes_passwords_at_current_guidance(server: BackendProcess) -> None:
    admin = {"Authorization": f"Bearer {server.admin_token}"}
    body = {"username": "op-hash", "password": "operator-password-1", "district": "almaty-1"}
    assert httpx.post(f"{server.url}/api/v1/operators", json=body, headers=admin).status_code == 201
    assert _hash_of(server.root / "backend.sqlite", "op-hash").startswith("scrypt$131072$8$1$")  # N=2^17, r=8, p=1
