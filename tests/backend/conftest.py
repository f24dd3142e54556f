"""An in-process app on a real SQLite file, with one registered device."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.settings import Settings

ADMIN = "a-very-random-admin-token-0123"
TEMPLATE_KEY = "q3b7mZ0pXo1Jv5wLk9Yt2sRfA8dHcE4uN6gTiP0eWzM="


@dataclass
class Api:
    client: TestClient
    settings: Settings
    key: str

    @property
    def device(self) -> dict[str, str]:
        return {"X-API-Key": self.key}

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN}"}


@contextmanager
def open_api(database: Path | str, tmp_path: Path) -> Iterator[Api]:
    """The in-process app on ``database`` (a SQLite path or an engine URL), with door-1 registered."""
    settings = Settings(
        database=database,
        media_dir=tmp_path / "media",
        admin_token=ADMIN,
        template_key=TEMPLATE_KEY,
        max_upload_bytes=50_000,
    )
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/api/v1/devices",
            json={"camera_id": "door-1", "kind": "school", "site": "school-1"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert response.status_code == 201, response.text
        yield Api(client, settings, response.json()["api_key"])


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with open_api(tmp_path / "k.sqlite", tmp_path) as opened:
        yield opened
