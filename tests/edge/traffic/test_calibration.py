"""Image -> road homography: exact recovery, reported reprojection error, refusal of bad surveys."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from edge.traffic.calibration import Calibration, CalibrationConfig, CalibrationError


def pinhole_road_to_image(f: float = 800.0, height_m: float = 6.0, tilt_deg: float = 15.0) -> np.ndarray:
    """3x3 homography road (x right, y ahead, metres) -> image pixels of a 1280x720 camera above the road."""
    t = np.radians(tilt_deg)
    # camera axes in road coordinates: x right, y down (image), z forward (optical axis), tilted down by t
    r = np.array([[1, 0, 0], [0, -np.sin(t), -np.cos(t)], [0, np.cos(t), -np.sin(t)]], float)
    centre = np.array([0.0, 0.0, height_m])
    k = np.array([[f, 0, 640], [0, f, 360], [0, 0, 1]], float)
    rt = r @ np.column_stack([np.eye(3), -centre])  # 3x4
    return k @ rt[:, [0, 1, 3]]  # the road plane z = 0


def project(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.column_stack([pts, np.ones(len(pts))]) @ h.T
    return p[:, :2] / p[:, 2:3]


SURVEY = np.array([[-3.5, 8.0], [3.5, 8.0], [-3.5, 40.0], [3.5, 40.0], [0.0, 20.0], [-3.5, 20.0]])


def config_for(h: np.ndarray, noise_px: float = 0.0, seed: int = 0, **kw: object) -> CalibrationConfig:
    image = project(h, SURVEY) + np.random.default_rng(seed).normal(0, noise_px, SURVEY.shape)
    return CalibrationConfig(
        version="test-1",
        image_points=[tuple(p) for p in image.tolist()],
        road_points=[tuple(p) for p in SURVEY.tolist()],
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(("tilt", "height"), [(10.0, 5.0), (15.0, 6.0), (25.0, 8.0), (35.0, 12.0)])
def test_exact_points_recover_the_homography(tilt: float, height: float) -> None:
    h = pinhole_road_to_image(tilt_deg=tilt, height_m=height)
    calibration = Calibration(config_for(h))
    road = np.array([[1.0, 12.0], [-2.0, 30.0], [3.0, 9.0]])
    assert np.allclose(calibration.to_road(project(h, road)), road, atol=1e-4)
    assert np.allclose(calibration.to_image(road), project(h, road), atol=1e-4)
    assert calibration.error.rms_m < 1e-4 and calibration.error.rms_px < 1e-3


def test_reprojection_error_grows_with_survey_noise() -> None:
    h = pinhole_road_to_image()
    errors = [Calibration(config_for(h, noise, max_error_m=5.0)).error for noise in (0.5, 2.0, 5.0)]
    assert 0 < errors[0].rms_px < errors[1].rms_px < errors[2].rms_px
    assert errors[0].rms_m < errors[2].rms_m and all(e.max_m >= e.rms_m for e in errors)


def test_bad_surveys_are_refused() -> None:
    h = pinhole_road_to_image()
    with pytest.raises(CalibrationError, match="exceeds max_error_m"):
        Calibration(config_for(h, noise_px=8.0, max_error_m=0.05))
    with pytest.raises(CalibrationError, match="degenerate"):
        Calibration(
            CalibrationConfig(
                version="x",
                image_points=[(0, 0), (1, 1), (2, 2), (3, 3)],
                road_points=[(0, 0), (1, 1), (2, 2), (3, 3)],
            )
        )
    with pytest.raises(ValidationError, match="road_points"):
        CalibrationConfig(version="x", image_points=[(0, 0)] * 5, road_points=[(0, 0)] * 4)


def test_metres_per_pixel_grows_towards_the_horizon() -> None:
    h = pinhole_road_to_image()
    calibration = Calibration(config_for(h))
    scale = calibration.metres_per_pixel(project(h, np.array([[0.0, 8.0], [0.0, 30.0], [0.0, 120.0]])))
    assert scale[0] < scale[1] < scale[2]
    assert calibration.covers(project(h, np.array([[0.0, 8.0], [0.0, 400.0]]))).tolist() == [True, False]
