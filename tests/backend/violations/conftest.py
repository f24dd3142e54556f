"""An in-process backend on a real SQLite file with traffic cameras (their evidence keys registered) and operators
(each with a sealed signing key) in two districts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.settings import Settings
from edge.traffic.evidence_keys import load_or_create_key, public_hex
from kuzet.contracts import ViolationEvent
from tests.backend.conftest import ADMIN, TEMPLATE_KEY
from tests.backend.violations.evidence import make_package

PASSWORD = "operator-password-1"
CAMERAS = {"cam-a": "almaty-1", "cam-b": "astana-2"}
OPERATORS = {"op-a": "almaty-1", "op-b": "astana-2"}


def upload(client: TestClient, key: str, event: ViolationEvent, media: dict[str, bytes]) -> Any:
    """PUT every attachment, then POST the event; returns the ingest reply."""
    for attachment in event.attachments:
        response = client.put(
            f"/api/v1/media/{attachment.sha256}",
            content=media[attachment.sha256],
            headers={"X-API-Key": key, "Content-Type": attachment.media_type},
        )
        assert response.status_code in (200, 201), response.text
    response = client.post(
        "/api/v1/events", json={"events": [event.model_dump(mode="json")]}, headers={"X-API-Key": key}
    )
    assert response.status_code == 200, response.text
    return response.json()


@dataclass
class Traffic:
    client: TestClient
    settings: Settings
    root: Path
    keys: dict[str, str]
    tokens: dict[str, str]

    def auth(self, operator: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[operator]}"}

    def post(self, camera: str, plate: str | None = "123ABC02") -> tuple[str, ViolationEvent, dict[str, bytes]]:
        event, media = make_package(self.root, camera, plate)
        upload(self.client, self.keys[camera], event, media)
        return str(event.event_id), event, media


@pytest.fixture
def traffic(tmp_path: Path) -> Iterator[Traffic]:
    settings = Settings(
        database=tmp_path / "k.sqlite", media_dir=tmp_path / "media", admin_token=ADMIN, template_key=TEMPLATE_KEY
    )
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with TestClient(create_app(settings)) as client:
        keys, tokens = {}, {}
        for camera, district in CAMERAS.items():
            evidence_key = public_hex(load_or_create_key(tmp_path / "keys", camera))
            body = {"camera_id": camera, "kind": "traffic", "site": district, "evidence_public_key": evidence_key}
            response = client.post("/api/v1/devices", json=body, headers=admin)
            assert response.status_code == 201, response.text
            keys[camera] = response.json()["api_key"]
        for name, district in OPERATORS.items():
            body = {"username": name, "password": PASSWORD, "district": district}
            assert client.post("/api/v1/operators", json=body, headers=admin).status_code == 201
            response = client.post("/api/v1/operators/login", json={"username": name, "password": PASSWORD})
            assert response.status_code == 200, response.text
            tokens[name] = response.json()["token"]
        client.cookies.clear()
        yield Traffic(client, settings, tmp_path, keys, tokens)
