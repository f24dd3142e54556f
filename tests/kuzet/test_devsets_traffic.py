"""``kuzet devset traffic``: scenario files in the EVAL.md format, reproducible from the seed, with honest truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kuzet.cli import main
from kuzet.commands.scenarios import scenario_count
from kuzet.devsets.traffic import generate


def test_same_seed_same_files_in_the_contract_format(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert generate(a, seed=3, count=11) == 11
    result = CliRunner().invoke(main, ["devset", "traffic", "--out", str(b), "--seed", "3", "--count", "11"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in a.glob("*.json"))
    assert names == sorted(p.name for p in b.glob("*.json"))
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)
    for name in names:
        data = json.loads((a / name).read_text())
        assert data["format"] == "kuzet-scenario/1" and len(data["calibration"]["image_points"]) >= 4
        assert {"point_sigma_m", "scale_sigma"} <= set(data["calibration"]) and data["timing"]["timestamp_sigma_s"] > 0
        times = [f["t"] for f in data["frames"]]
        assert times == sorted(times) and all(len(d) == 7 for f in data["frames"] for d in f["detections"])
        width, height = data["image_size"]
        for f in data["frames"]:
            for x1, y1, x2, y2, *_ in f["detections"]:
                assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
        assert set(data["truth"]) == {"objects", "violations"}


def test_acceptance_plan_writes_the_three_sets(tmp_path: Path) -> None:
    assert generate(tmp_path, seed=4, count=2, plan="acceptance") == 6
    for path in tmp_path.glob("stopped_before-*.json"):
        data = json.loads(path.read_text())
        assert [v for v in data["truth"]["violations"] if v["object"] == 1] == []  # it stops before the line
    for path in tmp_path.glob("at_limit-*.json"):
        data = json.loads(path.read_text())
        assert "calibration_error" in data["tags"] and "frame_loss" in data["tags"]
        assert data["truth"]["objects"]["1"]["speed_kmh"] <= 70.0 + 1e-6


@pytest.mark.parametrize(
    ("plan", "count", "expected"),
    [("dev", None, 1100), ("acceptance", None, 200), ("acceptance", 1100, 1100), ("dev", 7, 7)],
)
def test_count_defaults_to_the_plan_s_size(plan: str, count: int | None, expected: int) -> None:
    assert scenario_count(plan, count) == expected
