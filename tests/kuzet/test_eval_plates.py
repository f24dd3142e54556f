"""``kuzet eval plates`` / ``kuzet eval scenes`` follow EVAL.md: JSON last line, exit 2 on bad layout, unreadable
images counted, on synthetic KZ plates (always present) and on real photos when the shared data is there."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from kuzet.cli import main
from kuzet.eval.plate_errors import ErrorTally, confusable_pairs, error_kind
from models.plates.synth import generate, render
from tests.conftest import require_data


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def synthetic_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kz_plates")
    (root / "images").mkdir()
    rows = []
    for i, plate in enumerate(generate(12, seed=2)):
        cv2.imwrite(str(root / "images" / f"{i}.png"), plate.image)
        rows.append({"image": f"images/{i}.png", "plate": plate.text})
    (root / "images" / "broken.png").write_bytes(b"not an image")
    rows.append({"image": "images/broken.png", "plate": "123ABC02"})
    rows.append({"image": "images/missing.png", "plate": "123ABC02"})
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["image", "plate"])
        writer.writeheader()
        writer.writerows(rows)
    return root


@pytest.mark.parametrize("region", ["any", "kz"])
def test_eval_plates_json_and_unreadable(synthetic_folder: Path, region: str) -> None:
    code, out, _ = _run("eval", "plates", "--data", str(synthetic_folder), "--region", region, "--json")
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    assert {"n", "exact", "char_accuracy", "ms_per_plate", "unreadable"} <= set(result)
    assert result["n"] == 14 and result["unreadable"] == 2
    assert 0.0 <= result["exact"] <= 12 / 14
    errors = result["errors"]
    assert errors["by_kind"]["unreadable"] == 2
    assert errors["wrong"] == sum(errors["by_kind"].values()) == round(14 * (1 - result["exact"]))
    assert result["exact"] <= errors["exact_confusables_folded"] <= 12 / 14
    if region == "kz":
        assert result["exact"] >= 10 / 14  # the grammar reads nearly all synthetic plates


@pytest.mark.parametrize(
    ("read", "truth", "kind", "pairs"),
    [
        ("ABC123", "ABC123", None, []),
        ("", "ABC123", "empty", []),
        ("CHOP8Y", "CH0P8Y", "confusable", ["0->O"]),
        ("5I00251", "5L0D951", "substitution", ["D->0"]),
        ("NAY8803", "AY8803", "too_long", []),
        ("UVR090", "5UVR090", "too_short", []),
        ("B5XBT", "85X8T", "confusable", ["8->B", "8->B"]),
    ],
)
def test_error_kinds(read: str, truth: str, kind: str | None, pairs: list[str]) -> None:
    assert error_kind(read, truth) == kind
    assert confusable_pairs(read, truth) == pairs


def test_error_tally_counts_kinds_evidence_and_folded_exact() -> None:
    tally = ErrorTally(small_char_height=16)
    tally.add("ABC123", "ABC123", 30.0, 1)
    tally.add("CHOP8Y", "CH0P8Y", 12.0, 1)  # look-alike, small print
    tally.add("AZNAY8803", "AY8803", 30.0, 3)  # a state name read along
    tally.add("", "XYZ", None, 0)
    tally.add_missed("not_found")
    report = tally.report()
    assert report["wrong"] == 4
    assert report["by_kind"] == {
        "not_found": 1, "empty": 1, "confusable": 1, "substitution": 0, "too_long": 1, "too_short": 0
    }  # fmt: skip
    assert report["confusable_pairs"] == {"0->O": 1}
    assert (report["extra_text_lines"], report["small_chars"], report["no_character_row"]) == (1, 1, 1)
    assert report["exact_confusables_folded"] == 2 / 5


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "labels.csv"),
        ({"labels.csv": "file,text\na.png,ABC\n"}, "image, plate"),
        ({"labels.csv": "image,plate\n"}, "no rows"),
    ],
)
def test_eval_plates_bad_layout_exits_2(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    code, _, err = _run("eval", "plates", "--data", str(tmp_path), "--json")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err


def test_eval_scenes_bad_layout_exits_2(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("image,plate\na.jpg,ABC\n")
    code, _, err = _run("eval", "scenes", "--data", str(tmp_path))
    assert code == 2 and "x1" in err


def test_eval_scenes_on_a_synthetic_scene(tmp_path: Path) -> None:
    scene = np.full((480, 640, 3), 90, np.uint8)
    plate = cv2.resize(render("123ABC02"), (208, 45))
    scene[300:345, 216:424] = plate
    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "car.png"), scene)
    (tmp_path / "labels.csv").write_text(
        "image,x1,y1,x2,y2,plate\nimages/car.png,216,300,424,345,123ABC02\nimages/gone.png,1,1,5,5,X\n"
    )
    code, out, _ = _run("eval", "scenes", "--data", str(tmp_path), "--region", "kz", "--json")
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    assert {"n", "plate_found", "exact", "ms_per_image"} <= set(result)
    assert result["n"] == 2 and result["unreadable"] == 1
    assert result["errors"]["by_kind"]["unreadable"] == 1
    assert result["errors"]["wrong"] == sum(result["errors"]["by_kind"].values())


def test_eval_scenes_on_real_photos(tmp_path: Path) -> None:
    source = require_data("traffic/scenes/openalpr_eu")
    with (source / "labels.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        rows = list(reader)[:6]
    (tmp_path / "images").mkdir()
    for row in rows:
        shutil.copy(source / row["image"], tmp_path / row["image"])
    with (tmp_path / "labels.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        writer.writerows(rows)
    code, out, _ = _run("eval", "scenes", "--data", str(tmp_path), "--json")
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    assert result["plate_found"] >= 5 / 6 and result["exact"] >= 4 / 6


def test_demo_lines_run_offline(tmp_path: Path) -> None:
    from tests.support.demos import plates_demo_lines

    lines = plates_demo_lines(tmp_path)
    assert len(lines) == 4 and all(line.startswith("plates: ") for line in lines)
    assert "watchlist -> stolen" in lines[-1]
