"""``kuzet eval plate-band``: each held-out source gets the option chosen on the others, scored through the real
reader; bad input is one line and exit 2."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from kuzet.cli import main
from kuzet.eval.plate_band import NO_BAND, grid, leave_one_out, option_name, run
from models.plates.synth import render

SCORES = {
    NO_BAND: {"a": 0.70, "b": 0.90, "c": 0.80},
    "0.2-0.8": {"a": 0.80, "b": 0.92, "c": 0.70},
    "0.1-0.9": {"a": 0.75, "b": 0.95, "c": 0.85},
}


@pytest.mark.parametrize(
    ("held_out", "chosen", "exact", "best_there"),
    [
        ("a", "0.1-0.9", 0.75, "0.2-0.8"),  # the others (b, c) prefer 0.1-0.9; a alone would have picked 0.2-0.8
        ("b", "0.1-0.9", 0.95, "0.1-0.9"),
        ("c", "0.2-0.8", 0.70, "0.1-0.9"),  # a + b prefer 0.2-0.8 (0.86 vs 0.85), which is worse on c
    ],
)
def test_leave_one_out_chooses_on_the_other_sources_only(
    held_out: str, chosen: str, exact: float, best_there: str
) -> None:
    row = next(r for r in leave_one_out(SCORES, ["a", "b", "c"]) if r["held_out"] == held_out)
    assert (row["chosen"], row["exact"], row["best_there"]) == (chosen, exact, best_there)
    assert row["without_band"] == SCORES[NO_BAND][held_out]


def test_grid_names_every_pair() -> None:
    bands = grid((0.1, 0.2), (0.8, 0.9))
    assert [option_name(b) for b in bands] == ["0.1-0.8", "0.1-0.9", "0.2-0.8", "0.2-0.9"]


def _folder(root: Path, plates: list[str]) -> Path:
    """Rendered plates on a tall crop with a text line above and below (what the band is for)."""
    (root / "images").mkdir(parents=True)
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "plate"])
        for i, text in enumerate(plates):
            plate = render(text)
            crop = np.full((plate.shape[0] * 2, plate.shape[1], 3), 230, np.uint8)
            crop[plate.shape[0] // 2 : plate.shape[0] // 2 + plate.shape[0]] = plate
            cv2.putText(crop, "FREEDOM STATE", (20, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (20, 20, 20), 3)
            cv2.imwrite(str(root / "images" / f"{i}.png"), crop)
            writer.writerow([f"images/{i}.png", text])
        writer.writerow(["images/missing.png", "000AAA00"])
    return root


def test_run_scores_every_option_on_every_source(tmp_path: Path) -> None:
    folders = {"x": _folder(tmp_path / "x", ["123ABC02", "777KZA01"]), "y": _folder(tmp_path / "y", ["450BKT15"])}
    result = run(folders, bands=[(0.2, 0.8), (0.25, 0.75)], threads=1)
    assert result["sources"] == {"x": 2, "y": 1}  # the missing image is skipped
    assert result["options"] == 3 and set(result["scores"]) == {NO_BAND, "0.2-0.8", "0.25-0.75"}
    assert [r["held_out"] for r in result["held_out"]] == ["x", "y"]
    assert all(0.0 <= v <= 1.0 for s in result["scores"].values() for v in s.values())
    assert result["shipped"] == "0.2-0.8" and set(result["shipped_exact"]) == {"x", "y"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "only=/tmp"], "at least two"),
        (["--data", "nodir", "--data", "b=/tmp"], "NAME=DIR"),
        (["--data", "a=/tmp", "--data", "a=/var"], "distinct NAME"),
        (["--data", "a=/nonexistent-folder", "--data", "b=/tmp"], "is not a folder"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["eval", "plate-band", *args])
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_json_is_the_last_line(tmp_path: Path) -> None:
    a, b = _folder(tmp_path / "a", ["123ABC02"]), _folder(tmp_path / "b", ["777KZA01"])
    result = CliRunner().invoke(
        main, ["eval", "plate-band", "--data", f"a={a}", "--data", f"b={b}", "--threads", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["sources"] == {"a": 1, "b": 1} and report["options"] == len(grid()) + 1
