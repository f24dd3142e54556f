"""An invalid config file exits 2 with one line naming the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

KEY = "template_key: q3b7mZ0pXo1Jv5wLk9Yt2sRfA8dHcE4uN6gTiP0eWzM=\n"
TOKEN = "9f3c1e7a52b8d40e6a1f93c7b25e08d4"
GOOD_DEVICE = "camera_id: door-1\nuplink:\n  backend_url: http://127.0.0.1:1\n  api_key: kz_0123456789_abcdefghij\n"


@pytest.mark.parametrize(
    ("command", "text", "field"),
    [
        ("serve", KEY + "admin_token: changeme-please-1234\n", "admin_token"),
        ("serve", KEY + "admin_token: passwordpassword\n", "admin_token"),
        ("serve", "admin_token: " + TOKEN + "\ntemplate_key: change-me\n", "template_key"),
        ("serve", KEY + "admin_token: " + TOKEN + "\nport: 70000\n", "port"),
        ("serve", KEY + "admin_token: " + TOKEN + "\ncolour: red\n", "colour"),
        ("serve", "admin_token: [unclosed\n", "not valid YAML"),
        ("serve", "- a list\n", "mapping"),
        ("edge uplink", GOOD_DEVICE + "  batch_size: 0\n", "uplink.batch_size"),
        ("edge uplink", GOOD_DEVICE.replace("door-1", "door 1!"), "camera_id"),
        ("edge uplink", GOOD_DEVICE.replace("http://127.0.0.1:1", "not a url"), "uplink.backend_url"),
        ("edge uplink", GOOD_DEVICE + "spool:\n  path: x.sqlite\n  size: 3\n", "spool.size"),
    ],
)
def test_invalid_file_exits_2_with_one_line(tmp_path: Path, command: str, text: str, field: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "kuzet", *command.split(), "--config", str(config)],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert field in lines[0] and str(config) in lines[0]


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kuzet", "serve", "--config", str(tmp_path / "nope.yaml")],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "no such config file" in result.stderr
