"""`kuzet edge school`: the device file is validated (exit 2, one line naming the field) before any model loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from edge.school.config import DEFAULT_THRESHOLD, SchoolDeviceConfig
from kuzet.commands.school import edge_school
from kuzet.config import load_config


def test_sample_device_file_is_valid(samples: Path) -> None:
    device = load_config(samples / "school" / "device.yaml", SchoolDeviceConfig)
    assert device.school.thermal is not None
    assert device.school.thermal.replay_path == (samples / "school" / "thermal_replay.npz").resolve()
    assert device.school.thermal.registration.thermal_size == (32, 24)
    assert device.school.identify.threshold == pytest.approx(DEFAULT_THRESHOLD)  # SFace, 1e-3 per pass, 1,000


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("camera_id: d1\nuplink: {backend_url: 'http://x', api_key: 'k' }\n", "api_key"),
        (
            "camera_id: d1\nuplink: {backend_url: 'http://x', api_key: '0123456789abcdef'}\n"
            "school: {school_id: s, identify: {threshold: 1.5}}\n",
            "school.identify.threshold",
        ),
        (
            "camera_id: d1\nuplink: {backend_url: 'http://x', api_key: '0123456789abcdef'}\n"
            "school: {school_id: s, thermal: {registration: {homography: [[0,0,0],[0,0,0],[0,0,0]], "
            "thermal_size: [32, 24]}}}\n",
            "singular",
        ),
        (
            "camera_id: d1\nuplink: {backend_url: 'http://x', api_key: '0123456789abcdef'}\nschool: {school_id: s}\n",
            "no camera",
        ),
        (
            "camera_id: d1\nuplink: {backend_url: 'http://x', api_key: '0123456789abcdef'}\nschool: {school_id: s}\n"
            "camera_health: {baseline_path: missing-baseline.npz}\n",
            "kuzet camera baseline",
        ),
    ],
)
def test_bad_device_file_exits_2_with_one_line(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "device.yaml"
    path.write_text(yaml_text)
    result = CliRunner().invoke(edge_school, ["--config", str(path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
