"""Plate speed: our batched PP-OCRv6 reader and scene reader against RapidOCR()'s default pipeline, same run.

Run with ``make bench`` (or ``pytest tests/benchmarks/test_plates.py --benchmark-enable``); prints ms per plate,
ms per scene and the ratios. Uses the real EU crops/scenes when ../shared/data is present, synthetic KZ plates
otherwise. RapidOCR() is built from the model files inside the installed package (it logs "File exists and is
valid" and downloads nothing).
"""

from __future__ import annotations

import csv
import logging
import statistics
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import pytest

from models.plates.config import PlateReaderConfig
from models.plates.ocr import build_plate_reader
from models.plates.pipeline import ScenePlateReader
from models.plates.synth import generate, render
from models.runtime import RunnerConfig
from tests.conftest import shared_data_root

N_CROPS = 8


def _crops() -> tuple[list[np.ndarray], str]:
    root = shared_data_root() / "traffic/plates/openalpr_eu_crops"
    if (root / "labels.csv").is_file():
        with (root / "labels.csv").open(newline="") as handle:
            rows = list(csv.DictReader(handle))[:N_CROPS]
        return [cv2.imread(str(root / r["image"])) for r in rows], "openalpr_eu_crops"
    return [p.image for p in generate(N_CROPS, seed=0)], "synthetic KZ"


def _scene() -> tuple[np.ndarray, str]:
    path = shared_data_root() / "traffic/scenes/openalpr_eu/images/eu1.jpg"
    if path.is_file():
        return cv2.imread(str(path)), "openalpr_eu/eu1.jpg"
    scene = np.full((480, 640, 3), 90, np.uint8)
    scene[300:345, 216:424] = cv2.resize(render("123ABC02"), (208, 45))
    return scene, "synthetic scene"


def _median_ms(function: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


@pytest.fixture(scope="module")
def rapidocr() -> Any:
    from rapidocr import RapidOCR

    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    return RapidOCR()


def test_plate_reads_vs_rapidocr(benchmark, report: list[str], rapidocr: Any) -> None:
    crops, source = _crops()
    reader = build_plate_reader(PlateReaderConfig(runner=RunnerConfig(intra_op_threads=2)))

    def ours() -> int:
        return sum(bool(r.text) for r in reader.read_batch(crops))

    def baseline() -> int:
        return sum(bool(rapidocr(c).txts) for c in crops)

    assert ours() >= N_CROPS - 1
    base_ms = _median_ms(baseline, rounds=1) / len(crops)
    benchmark.pedantic(ours, rounds=5, iterations=1, warmup_rounds=1)
    ours_ms = 1000 * benchmark.stats.stats.median / len(crops)
    report.append(
        f"plate read ({source}, {len(crops)} crops batched, {len(reader.config.variants)} variants each):"
        f" ours {ours_ms:.1f} ms/plate,"
        f" RapidOCR() {base_ms:.1f} ms/plate, ratio x{base_ms / ours_ms:.1f}"
    )


def test_scene_vs_rapidocr(benchmark, report: list[str], rapidocr: Any) -> None:
    scene, source = _scene()
    reader = ScenePlateReader.build("both", "any", threads=2)

    def ours() -> int:
        return len(reader.read_image(scene))

    def baseline() -> int:
        return len(rapidocr(scene).txts or ())

    assert ours() >= 1
    base_ms = _median_ms(baseline, rounds=2)
    benchmark.pedantic(ours, rounds=3, iterations=1, warmup_rounds=1)
    ours_ms = 1000 * benchmark.stats.stats.median
    report.append(
        f"plate scene ({source}, platedet + cascade + reader): ours {ours_ms:.0f} ms/scene,"
        f" RapidOCR() on the whole image {base_ms:.0f} ms/scene, ratio x{base_ms / ours_ms:.2f}"
    )
