"""``kuzet eval speed`` on a small generated scenario set: the contract's keys and honest uncertainties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kuzet.cli import main
from kuzet.devsets.traffic import generate


@pytest.fixture(scope="module")
def speed_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("speed")
    generate(out, seed=8, count=12)
    return out


def test_eval_speed_json(speed_set: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "speed", "--data", str(speed_set), "--json"])
    assert result.exit_code == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    keys = {"vehicles", "measured", "mae_kmh", "max_abs_err_kmh", "coverage_2sigma", "mean_sigma_kmh", "by_tag"}
    assert keys <= set(out)
    assert out["vehicles"] >= 10 and out["measured"] >= 0.8 * out["vehicles"]
    assert out["mae_kmh"] < 3.0 and out["coverage_2sigma"] >= 0.85
    assert all({"measured", "mae_kmh", "coverage_2sigma"} <= set(row) for row in out["by_tag"].values())


def test_eval_speed_bad_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "speed", "--data", str(tmp_path), "--json"])
    assert result.exit_code == 2 and "no *.json" in result.stderr
