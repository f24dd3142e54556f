"""Violations area: vectorised lane look-up vs a per-point OpenCV loop, batched vs one-at-a-time light crops."""

from __future__ import annotations

import time

import cv2
import numpy as np

from edge.traffic.scene import points_in_polygon
from models.lights import build_light_classifier
from tests.models.lights.test_classifier import signal_head

LANE = np.array([[215, 150], [280, 150], [583, 351], [311, 351]], dtype=np.float64)


def _loop_in_polygon(points: np.ndarray) -> np.ndarray:
    contour = LANE.astype(np.float32).reshape(-1, 1, 2)
    return np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), False) > 0 for x, y in points])


def test_points_in_polygon_vs_opencv_loop(benchmark, report: list[str]) -> None:  # type: ignore[no-untyped-def]
    points = np.random.default_rng(0).uniform(0, 640, (20_000, 2))
    start = time.perf_counter()
    expected = _loop_in_polygon(points)
    loop_s = time.perf_counter() - start
    result = benchmark(points_in_polygon, points, LANE)
    inside_differs = np.count_nonzero(result != expected)
    ratio = loop_s / benchmark.stats.stats.mean
    benchmark.extra_info.update(loop_s=loop_s, ratio=ratio)
    report.append(f"scene: points_in_polygon on 20k points {ratio:.1f}x faster than a cv2.pointPolygonTest loop")
    assert inside_differs <= 2  # points exactly on an edge may differ
    assert ratio > 1.0


def test_light_crops_batched_vs_one_by_one(benchmark, report: list[str]) -> None:  # type: ignore[no-untyped-def]
    classifier = build_light_classifier()
    crops = [signal_head(("red", "yellow", "green")[k % 3], 24 + k % 20, k) for k in range(300)]
    start = time.perf_counter()
    single = [classifier.predict([c])[0][0] for c in crops]
    single_s = time.perf_counter() - start
    labels, _ = benchmark(classifier.predict, crops)
    ratio = single_s / benchmark.stats.stats.mean
    benchmark.extra_info.update(single_ms_per_crop=1000 * single_s / 300, ratio=ratio)
    report.append(
        f"lights: {1000 * benchmark.stats.stats.mean / 300:.3f} ms/crop batched vs"
        f" {1000 * single_s / 300:.3f} ms/crop one at a time ({ratio:.1f}x)"
    )
    assert labels.tolist() == single
