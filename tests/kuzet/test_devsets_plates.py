"""``kuzet devset plates`` cuts an openalpr-benchmark-style checkout into the EVAL.md plate and scene layouts, and
``kuzet eval plates`` reads what it wrote (rendered plates pasted into grey photos stand in for the benchmark)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from kuzet.cli import main
from kuzet.devsets.plates import PlateLabel, crop_box, parse_label
from models.plates.synth import render

PLATES = ("123ABC02", "777KZA01", "450BKT15")


def _benchmark(root: Path) -> Path:
    """endtoend/kz/ with three photos holding one rendered plate each, plus a broken photo and a malformed label."""
    country = root / "endtoend" / "kz"
    country.mkdir(parents=True)
    for i, text in enumerate(PLATES):
        plate = render(text)
        photo = np.full((720, 1100, 3), 90, np.uint8)
        x, y = 80 + 180 * i, 300 - 60 * i
        photo[y : y + plate.shape[0], x : x + plate.shape[1]] = plate
        cv2.imwrite(str(country / f"car{i}.jpg"), photo)
        (country / f"car{i}.txt").write_text(
            f"car{i}.jpg\t{x}\t{y}\t{plate.shape[1]}\t{plate.shape[0]}\t{text.lower()}\n"
        )
    (country / "broken.jpg").write_bytes(b"not a jpeg")
    (country / "broken.txt").write_text("broken.jpg 1 1 10 10 AB123\n")
    (country / "bad.txt").write_text("only three words\n")
    return root


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a.jpg 10 20 30 40 ab123\n", PlateLabel("a.jpg", 10, 20, 30, 40, "AB123")),
        ("a.jpg\t10\t20\t30\t40\tAB 123", PlateLabel("a.jpg", 10, 20, 30, 40, "AB123")),
        ("a.jpg 10 20 0 40 AB123", None),
        ("a.jpg 10 twenty 30 40 AB123", None),
        ("a.jpg 10 20 30 40", None),
        ("", None),
    ],
)
def test_parse_label(text: str, expected: PlateLabel | None) -> None:
    assert parse_label(text) == expected


@pytest.mark.parametrize(
    ("label", "margin", "expected"),
    [
        (PlateLabel("a", 50, 50, 100, 40, "X"), 0.1, (40, 46, 160, 94)),
        (PlateLabel("a", 0, 0, 100, 40, "X"), 0.1, (0, 0, 110, 44)),
        (PlateLabel("a", 150, 90, 100, 40, "X"), 0.1, (140, 86, 200, 100)),
        (PlateLabel("a", 300, 50, 100, 40, "X"), 0.0, None),
    ],
)
def test_crop_box_grows_by_the_margin_and_clips_to_the_photo(
    label: PlateLabel, margin: float, expected: tuple[int, int, int, int] | None
) -> None:
    assert crop_box(label, 200, 100, margin) == expected


def test_devset_writes_both_layouts_and_eval_reads_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["devset", "plates", "--from", str(_benchmark(tmp_path / "bench")), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "3 plates" in result.stdout and "unreadable photo" in result.stdout and "malformed label" in result.stdout

    crops = _rows(out / "kz_crops" / "labels.csv")
    assert [r["plate"] for r in crops] == list(PLATES)
    first = cv2.imread(str(out / "kz_crops" / crops[0]["image"]))
    plate_h, plate_w = render(PLATES[0]).shape[:2]
    assert first.shape[:2] == (plate_h + 2 * int(0.1 * plate_h), plate_w + 2 * int(0.1 * plate_w))

    scenes = _rows(out / "kz_scenes" / "labels.csv")
    assert [(r["image"], r["plate"]) for r in scenes] == [(f"car{i}.jpg", p) for i, p in enumerate(PLATES)]
    assert all((out / "kz_scenes" / r["image"]).is_file() for r in scenes)

    evaluated = CliRunner().invoke(
        main, ["eval", "plates", "--region", "kz", "--data", str(out / "kz_crops"), "--json"]
    )
    report = json.loads(evaluated.stdout.strip().splitlines()[-1])
    assert report["n"] == 3 and report["unreadable"] == 0
    assert report["exact"] == 1.0  # the rendered plates read whole through the cut crops


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--country", "xx"], "no labelled endtoend/ folder for xx"),
        (["--margin", "2"], "Invalid value for '--margin'"),
    ],
)
def test_devset_refuses_bad_input_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    bench = _benchmark(tmp_path / "bench")
    result = CliRunner().invoke(main, ["devset", "plates", "--from", str(bench), "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2 and message in result.output


def test_devset_refuses_a_folder_that_is_not_the_benchmark(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["devset", "plates", "--from", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no endtoend/ folder" in result.stderr and len(result.stderr.strip().splitlines()) == 1
