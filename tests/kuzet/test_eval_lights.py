"""``kuzet eval lights``: the EVAL.md contract on a built folder, on the real data, and on a bad folder."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from kuzet.cli import main
from tests.conftest import require_data
from tests.models.lights.test_classifier import signal_head


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["eval", "lights", *args])
    return result.exit_code, result.stdout, result.stderr


def build_folder(root: Path, with_split: bool) -> None:
    lines = ["image,colour,split" if with_split else "image,colour"]
    for k, colour in enumerate(["red", "red", "yellow", "green"]):
        cv2.imwrite(str(root / f"{k}.png"), signal_head(colour, 30, k))
        lines.append(f"{k}.png,{colour},test" if with_split else f"{k}.png,{colour}")
    (root / "bad.jpg").write_bytes(b"not an image")
    lines.append("bad.jpg,green,test" if with_split else "bad.jpg,green")
    if with_split:
        lines.append("0.png,red,train")  # train rows are not evaluated
    (root / "labels.csv").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("with_split", [True, False])
def test_contract_on_built_folder(tmp_path: Path, with_split: bool) -> None:
    build_folder(tmp_path, with_split)
    code, out, err = run("--data", str(tmp_path), "--json")
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["n"] == 5
    assert result["unreadable"] == 1
    assert result["accuracy"] == pytest.approx(0.8)
    assert (result["recall_red"], result["recall_yellow"], result["recall_green"]) == (1.0, 1.0, 0.5)
    assert result["ms_per_crop"] > 0
    assert "lights:" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no labels.csv"),
        ("image,label\na.png,red\n", "needs columns image and colour"),
        ("image,colour\na.png,blue\n", "colour must be one of"),
        ("image,colour,split\na.png,red,train\n", "no rows to evaluate"),
    ],
)
def test_bad_layout_exits_2(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "labels.csv").write_text(content)
    code, _, err = run("--data", str(tmp_path), "--json")
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_off_rows_count_off_and_unknown_as_right(tmp_path: Path) -> None:
    lines = ["image,colour"]
    for k, (colour, img) in enumerate(
        [
            ("off", np.zeros((60, 30, 3), np.uint8)),
            ("off", np.full((60, 30, 3), 255, np.uint8)),
            ("off", signal_head("green", 30, 1)),
            ("red", signal_head("red", 30, 2)),
        ]
    ):
        cv2.imwrite(str(tmp_path / f"{k}.png"), img)
        lines.append(f"{k}.png,{colour}")
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    code, out, err = run("--data", str(tmp_path), "--json")
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["recall_off"] == pytest.approx(2 / 3)  # black reads off, white unknown, a lit green head green
    assert result["n_off"] == 3 and result["accuracy"] == pytest.approx(0.75)
    assert result["confusion"]["off"]["green"] == 1


def test_no_recall_off_without_off_rows(tmp_path: Path) -> None:
    build_folder(tmp_path, with_split=False)
    code, out, _ = run("--data", str(tmp_path), "--json")
    assert code == 0 and "recall_off" not in json.loads(out.strip().splitlines()[-1])


def test_real_lights_test_split() -> None:
    data = require_data("traffic/lights")
    code, out, err = run("--data", str(data), "--json")
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["n"] == 297
    assert result["accuracy"] >= 0.97
    assert min(result["recall_red"], result["recall_yellow"], result["recall_green"]) >= 0.85


def test_devset_lights_off_refuses_a_wrong_folder(tmp_path: Path) -> None:
    made = CliRunner().invoke(main, ["devset", "lights-off", "--traffic", str(tmp_path), "--out", str(tmp_path / "o")])
    assert made.exit_code == 2 and "not the traffic data folder" in made.stderr
