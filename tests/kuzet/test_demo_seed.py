"""The demo's seeding: sample people become pupils with guardians, and their entries produce parent messages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from backend.app import create_app
from backend.settings import Settings
from kuzet.contracts import EventBatch
from kuzet.demo.seed import demo_messages, seed_demo_school
from tests.backend.conftest import ADMIN, TEMPLATE_KEY
from tests.support.events import entry


def test_sample_entries_give_parent_messages_in_their_languages(tmp_path: Path) -> None:
    settings = Settings(database=tmp_path / "k.sqlite", media_dir=tmp_path / "m", admin_token=ADMIN,
                        template_key=TEMPLATE_KEY)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        lines = seed_demo_school(
            settings.database, staff_password="demo password 1", template_key=settings.template_key_bytes
        )
        assert any("alex_lacamoire, biden, obama" in line for line in lines)
        assert "school service: enrolled obama in the backend, 2/2 photos accepted" in lines
        key = client.post(
            "/api/v1/devices",
            json={"camera_id": "demo-door-1", "kind": "school", "site": "demo-school"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        ).json()["api_key"]
        at = datetime(2026, 9, 1, 2, 52, tzinfo=UTC)  # 07:52 in Almaty
        events = [
            entry("demo-door-1", i, school_id="demo-school", pupil_id=p, captured_at=at)
            for i, p in enumerate(["alex_lacamoire", "biden", "obama"])
        ]
        reply = client.post("/api/v1/events", json=EventBatch(events=tuple(events)).model_dump(mode="json"),
                            headers={"X-API-Key": key})  # fmt: skip
        assert reply.status_code == 200
        login = client.post("/api/v1/auth/login", json={"username": "demo-staff", "password": "demo password 1"})
        assert login.status_code == 200
        gallery = client.get("/api/v1/gallery", headers={"X-API-Key": key}).json()
        assert {t["pupil_id"] for t in gallery["added"]} == {"alex_lacamoire", "biden", "obama"}
    text = "\n".join(demo_messages(settings.database))
    assert "3 messages" in text
    assert "[kk]" in text and "[ru]" in text and "[en]" in text
    assert "Obama entered school at 07:52" in text
