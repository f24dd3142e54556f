"""Vectorised box Kalman filter."""

from __future__ import annotations

import numpy as np
import pytest

from edge.tracking.kalman import BoxKalman, cxcywh_to_xyxy, xyxy_to_cxcywh


def test_box_conversions_round_trip() -> None:
    boxes = np.array([[10, 20, 50, 80], [0, 0, 1, 1]], np.float32)
    assert np.allclose(cxcywh_to_xyxy(xyxy_to_cxcywh(boxes)), boxes)


@pytest.mark.parametrize("velocity", [(0.0, 0.0), (5.0, 0.0), (-3.0, 4.0), (12.0, 7.5)])
def test_learns_constant_velocity_and_predicts_ahead(velocity: tuple[float, float]) -> None:
    kf = BoxKalman()
    start = np.array([[100.0, 100.0, 160.0, 140.0]])
    step = np.array([*velocity, *velocity])
    mean, cov = kf.initiate(start)
    for k in range(1, 30):
        mean, cov = kf.predict(mean, cov)
        mean, cov = kf.update(mean, cov, start + k * step)
    assert np.allclose(mean[0, 4:6], velocity, atol=0.2)
    for _ in range(5):  # five frames without a measurement
        mean, cov = kf.predict(mean, cov)
    assert np.allclose(cxcywh_to_xyxy(mean[:, :4]), start + 34 * step, atol=2.0)


def test_batch_equals_one_at_a_time() -> None:
    kf = BoxKalman()
    rng = np.random.default_rng(1)
    boxes = rng.uniform(0, 300, (6, 2))
    boxes = np.concatenate([boxes, boxes + rng.uniform(10, 80, (6, 2))], axis=1)
    mean, cov = kf.initiate(boxes)
    mean, cov = kf.predict(mean, cov)
    measured = boxes + rng.normal(0, 2, boxes.shape)
    batch_mean, batch_cov = kf.update(mean, cov, measured)
    for i in range(6):
        m, c = kf.update(mean[i : i + 1], cov[i : i + 1], measured[i : i + 1])
        assert np.allclose(m, batch_mean[i : i + 1]) and np.allclose(c, batch_cov[i : i + 1])
    assert np.all(np.linalg.eigvalsh(batch_cov) > 0)  # covariances stay positive definite


def test_empty_input() -> None:
    kf = BoxKalman()
    mean, cov = kf.initiate(np.zeros((0, 4)))
    assert mean.shape == (0, 8) and cov.shape == (0, 8, 8)
    assert kf.predict(mean, cov)[0].shape == (0, 8)
    assert kf.update(mean, cov, np.zeros((0, 4)))[0].shape == (0, 8)
