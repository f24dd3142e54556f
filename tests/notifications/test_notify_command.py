"""``kuzet notify --config backend.yaml``: delivers the outbox with the channels of the settings file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from backend.db import connect, migrate, transaction
from backend.settings import Settings
from kuzet.commands.notify import notify
from notifications import outbox
from tests.backend.conftest import ADMIN, TEMPLATE_KEY
from tests.notifications.servers import SmtpServer
from tests.support.demos import notifications_demo


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def _config(tmp_path: Path, notifications: dict[str, Any]) -> Path:
    raw: dict[str, Any] = {"database": "k.sqlite", "admin_token": ADMIN, "notifications": notifications}
    if "template_key" in Settings.model_fields:
        raw["template_key"] = TEMPLATE_KEY
    path = tmp_path / "backend.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_once_delivers_what_is_due(tmp_path: Path, smtp: SmtpServer) -> None:
    config = _config(
        tmp_path, {"smtp": {"host": "127.0.0.1", "port": smtp.port, "sender": "k@s.kz", "starttls": False}}
    )
    db = connect(tmp_path / "k.sqlite")
    migrate(db)
    with transaction(db) as conn:
        outbox.enqueue(
            conn,
            channel="email",
            recipient="mum@example.kz",
            subject="s",
            body="Aruzhan entered school",
            dedupe_key="k1",
            school_id="s1",
            kind="entered",
            language="en",
        )
    db.conn.close()
    result = CliRunner().invoke(notify, ["--config", str(config), "--once"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["processed"] == 1 and summary["sent"] == 1 and summary["pending"] == 0
    assert [r.recipient for r in smtp.received] == ["mum@example.kz"]


@pytest.mark.parametrize(
    ("notifications", "message"),
    [
        ({}, "no channel configured"),
        ({"worker": {"max_attempts": 0}}, "field 'notifications.worker.max_attempts'"),
        ({"smtp": {"host": "h", "sender": "k@s.kz", "tls": True}}, "field 'notifications.smtp.tls'"),
    ],
)
def test_bad_config_is_one_line_exit_2(tmp_path: Path, notifications: dict[str, Any], message: str) -> None:
    result = CliRunner().invoke(notify, ["--config", str(_config(tmp_path, notifications)), "--once"])
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_demo_hook_delivers_three_languages(tmp_path: Path) -> None:
    lines = notifications_demo(tmp_path)
    assert "Aruzhan мектепке 07:52-де кірді" in lines[0]
    assert lines[-1].startswith("notify: 3 of 3 delivered")
