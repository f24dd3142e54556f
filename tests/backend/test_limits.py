"""Limits that hold against a real uvicorn server on loopback: a 50 MB JSON body is refused (413) without the server
holding it (its resident memory grows by less than 20 MB), declared or chunked; passwords hashed at scrypt N=2^17; and a
bounded schemathesis run over the OpenAPI document, as a device and as a school's staff (school admin): no answer may
be a server error, and every answer must be a status the document declares for the operation.

The fuzzing is bounded: ``EXAMPLES`` seeded examples per operation and generation mode, valid inputs everywhere and
invalid ones where a body or query carries them, no example database, so it takes seconds. Logouts are left out (they
would end the session the rest of the run uses).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.support.accounts import password_hash_of
from tests.support.servers import BackendProcess

FIFTY_MB = 50 * 1024 * 1024
EXAMPLES = 2
SKIPPED = {("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/operators/logout")}
DEVICE_PATHS = ("/api/v1/events", "/api/v1/media", "/api/v1/gallery")
PASSWORD = "schema-run-password-1"
CREDENTIAL_HEADERS = ("authorization", "x-api-key")


@dataclass
class Run:
    """What the run saw: the calls made and every answer that breaks the rules."""

    calls: int = 0
    server_errors: list[str] = field(default_factory=list)
    undeclared: list[str] = field(default_factory=list)
    unsatisfiable: int = 0


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


@pytest.fixture(scope="module")
def accounts(server: BackendProcess) -> tuple[dict[str, str], dict[str, str]]:
    """(device headers, school admin headers) on the server: a door of school-1 and its school admin."""
    device = {"X-API-Key": server.register("door-1", site="school-1")}
    admin = {"Authorization": f"Bearer {server.admin_token}"}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        client.post("/api/v1/schools", json={"school_id": "school-1", "name": "School"}, headers=admin)
        user = {"username": "head-1", "password": PASSWORD, "role": "school_admin"}
        assert client.post("/api/v1/schools/school-1/users", json=user, headers=admin).status_code == 201
        token = client.post("/api/v1/auth/login", json={"username": "head-1", "password": PASSWORD}).json()["token"]
    return device, {"Authorization": f"Bearer {token}"}


def test_the_real_server_hashes_passwords_at_current_guidance(
    server: BackendProcess, accounts: tuple[dict[str, str], dict[str, str]]
) -> None:
    stored = password_hash_of(server.root / "backend.sqlite", "head-1")
    assert stored.startswith("scrypt$131072$8$1$")  # N=2^17, r=8, p=1


def _exercise(operation: schemathesis.APIOperation, mode: GenerationMode, auth: dict[str, str], run: Run) -> None:
    """Call ``operation`` with ``EXAMPLES`` generated cases and record what breaks the rules."""
    pinned = {"school_id": "school-1"} if "{school_id}" in operation.path else None
    declared = {str(code) for code in operation.definition.raw.get("responses", {})}

    @seed(14)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=pinned))
    def call(case: schemathesis.Case) -> None:
        case.headers = {
            k: v for k, v in (case.headers or {}).items() if k.lower() not in ("authorization", "x-api-key")
        }
        response = case.call(headers=auth, timeout=30)
        run.calls += 1
        where = f"{operation.method.upper()} {operation.path} -> {response.status_code}"
        if response.status_code >= 500:
            run.server_errors.append(f"{where}: {response.text[:200]}")
        elif str(response.status_code) not in declared:
            run.undeclared.append(where)

    try:
        call()
    except Unsatisfiable:  # nothing invalid to generate (an operation without inputs in negative mode)
        run.unsatisfiable += 1


def _modes(operation: schemathesis.APIOperation) -> tuple[GenerationMode, ...]:
    """Valid inputs everywhere; invalid ones where a body or query carries them (invalid headers and path strings
    only slow generation down: every one is answered by the same authentication or 404)."""
    raw = operation.definition.raw
    has_input = "requestBody" in raw or any(p.get("in") == "query" for p in raw.get("parameters", []))
    return (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if has_input else (GenerationMode.POSITIVE,)


def test_schemathesis_finds_no_server_errors_and_only_declared_statuses(
    server: BackendProcess, accounts: tuple[dict[str, str], dict[str, str]]
) -> None:
    """Last in this module: its login fuzzing uses up the loopback client's login attempts."""
    device, staff = accounts
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    run = Run()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        auth = device if operation.path.startswith(DEVICE_PATHS) else staff
        for mode in _modes(operation):
            _exercise(operation, mode, auth, run)
    assert len(operations) >= 40 and run.calls >= 2 * len(operations), (len(operations), run.calls)
    assert run.server_errors == [], run.server_errors
    assert sorted(set(run.undeclared)) == [], "answers the OpenAPI document does not declare"
