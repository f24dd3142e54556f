"""Wrong broker or object-store settings: ``kuzet serve`` exits 2 with one line naming the setting, no secret in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kuzet.cli import main
from tests.backend.conftest import ADMIN, TEMPLATE_KEY
from tests.support.servers import free_port


@pytest.mark.parametrize(
    ("section", "setting"),
    [
        ({"broker": {"url": "nats://kuzet:s3cret-pass@127.0.0.1:{port}", "publish_timeout_s": 1.0}}, "broker.url"),
        (
            {"media": {"store": "s3://kuzet-media/x", "endpoint_url": "http://127.0.0.1:{port}",
                       "access_key_id": "kuzet", "secret_access_key": "s3cret-pass", "timeout_s": 1.0}},
            "media.store",
        ),
    ],
)  # fmt: skip
def test_a_service_that_does_not_answer_exits_2_naming_the_setting(
    section: dict[str, Any], setting: str, tmp_path: Path
) -> None:
    text = yaml.safe_dump(section).replace("{port}", str(free_port()))
    config = tmp_path / "backend.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": str(tmp_path / "k.sqlite"),
                "media_dir": str(tmp_path / "m"),
                "admin_token": ADMIN,
                "template_key": TEMPLATE_KEY,
            }
        )
        + text
    )
    result = CliRunner().invoke(main, ["serve", "--config", str(config)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"setting '{setting}'" in lines[0] and "s3cret-pass" not in result.output
