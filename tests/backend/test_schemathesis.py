"""A bounded schemathesis run against the OpenAPI document of a real server on loopback: every operation, valid and
invalid inputs, as a device and as a school's staff (school admin); no answer may be a server error, and every answer
must be a status the document declares for the operation.

Bounded: ``EXAMPLES`` examples per operation and generation mode (seeded, no example database), so the run takes
seconds, not minutes. Logouts are left out (they would end the session the rest of the run uses).
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

from tests.support.servers import BackendProcess

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
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BackendProcess, dict[str, str], dict[str, str]]]:
    backend = BackendProcess(Path(tmp_path_factory.mktemp("schema-backend")))
    backend.start()
    device = {"X-API-Key": backend.register("door-1", site="school-1")}
    admin = {"Authorization": f"Bearer {backend.admin_token}"}
    with httpx.Client(base_url=backend.url, timeout=30) as client:
        client.post("/api/v1/schools", json={"school_id": "school-1", "name": "School"}, headers=admin)
        user = {"username": "head-1", "password": PASSWORD, "role": "school_admin"}
        assert client.post("/api/v1/schools/school-1/users", json=user, headers=admin).status_code == 201
        token = client.post("/api/v1/auth/login", json={"username": "head-1", "password": PASSWORD}).json()["token"]
    yield backend, device, {"Authorization": f"Bearer {token}"}
    backend.stop()


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


def test_no_server_errors_and_only_declared_statuses(
    server: tuple[BackendProcess, dict[str, str], dict[str, str]],
) -> None:
    backend, device, staff = server
    schema = schemathesis.openapi.from_url(f"{backend.url}/openapi.json")
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
