"""Temperature: radiometric frames of known temperatures, replayed through the sensor interface, read back
through a non-trivial visible->thermal homography within 0.3 C; no thermal data gives None, never 0.

The frames here are rendered (labelled ``synthetic`` in their replay files): these tests check the ROI, the
registration, the blackbody correction and the labels that travel with each reading, not a sensor's accuracy
(that is ``tests/hardware/test_thermal_*``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from edge.school.config import ThermalSettings
from edge.school.temperature import Reading, face_roi, measure_readings, pass_temperature
from hardware.thermal import Registration, ReplayThermalSensor, ThermalFrame, map_roi, quad_pixel_mask, write_replay
from hardware.thermal.registration import save_registration
from kuzet.contracts import EntryEvent


def celsius_of(*args: Any) -> list[float | None]:
    """The degrees of ``measure_readings`` alone (None where there is no reading)."""
    return [None if r is None else r.celsius for r in measure_readings(*args)]


T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
VISIBLE = (640, 480)


def registration(thermal_size: tuple[int, int]) -> Registration:
    """Scale to the thermal size, rotate 4 degrees, shift and add a little perspective (a real rig is not ideal)."""
    sx, sy = thermal_size[0] / VISIBLE[0], thermal_size[1] / VISIBLE[1]
    angle = np.deg2rad(4.0)
    rot = np.array([[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0], [0.0, 0.0, 1.0]])
    shift = np.array([[1.0, 0.0, 0.03 * thermal_size[0]], [0.0, 1.0, -0.02 * thermal_size[1]], [0.0, 0.0, 1.0]])
    persp = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2e-5, -1e-5, 1.0]])
    return Registration.from_matrix(shift @ rot @ np.diag([sx, sy, 1.0]) @ persp, thermal_size)


def landmarks_for(box: tuple[float, float, float, float]) -> NDArray[np.float32]:
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    rel = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.8], [0.65, 0.8]], np.float32)
    return (np.array([x1, y1], np.float32) + rel * np.array([w, h], np.float32))[None]


def render(
    reg: Registration, box: tuple[float, float, float, float], skin_c: float, seed: int, bias_c: float = 0.0
) -> NDArray[np.float32]:
    """A radiometric frame: 22 C room, the face ellipse at ``skin_c`` (sensor noise 0.05 C), plus a sensor bias."""
    w, h = reg.thermal_size
    ys, xs = np.mgrid[0:h, 0:w]
    centres = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5, np.ones(h * w)], axis=1)
    visible = centres @ np.linalg.inv(reg.matrix).T
    vx, vy = visible[:, 0] / visible[:, 2], visible[:, 1] / visible[:, 2]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    rx, ry = (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
    inside = ((vx - cx) / rx) ** 2 + ((vy - cy) / ry) ** 2 <= 1.0
    rng = np.random.default_rng(seed)
    frame = np.where(inside, skin_c, 22.0) + rng.normal(0.0, 0.05, h * w) + bias_c
    return frame.reshape(h, w).astype(np.float32)


def replay(tmp_path: Path, frames: list[NDArray[np.float32]], sigma_c: float | None = None) -> ReplayThermalSensor:
    path = tmp_path / "thermal.npz"
    times = np.array([(T0 + timedelta(seconds=i / 8.0)).timestamp() for i in range(len(frames))])
    write_replay(path, np.stack(frames), times, source="synthetic", sigma_c=sigma_c)
    return ReplayThermalSensor(path, tolerance_s=0.1)


@pytest.mark.parametrize(
    ("thermal_size", "box", "skin_c", "offset_c", "roi"),
    [
        ((160, 120), (250.0, 120.0, 390.0, 300.0), 36.6, 0.0, "canthus"),
        ((160, 120), (60.0, 200.0, 160.0, 330.0), 38.4, 0.0, "canthus"),
        ((160, 120), (420.0, 60.0, 560.0, 240.0), 34.2, 2.4, "forehead"),
        ((32, 24), (230.0, 100.0, 410.0, 330.0), 37.9, 0.0, "canthus"),
        ((32, 24), (100.0, 150.0, 260.0, 360.0), 35.1, 1.5, "forehead"),
    ],
)
def test_recovers_face_temperature_through_registration(
    tmp_path: Path,
    thermal_size: tuple[int, int],
    box: tuple[float, float, float, float],
    skin_c: float,
    offset_c: float,
    roi: str,
) -> None:
    reg = registration(thermal_size)
    sensor = replay(tmp_path, [render(reg, box, skin_c, seed) for seed in range(3)])
    settings = ThermalSettings(registration=reg, offset_c=offset_c, roi=roi)  # type: ignore[arg-type]
    for i in range(3):
        frame = sensor.frame_at(T0 + timedelta(seconds=i / 8.0 + 0.01))
        assert frame is not None and frame.index == i
        (measured,) = celsius_of(frame, landmarks_for(box), settings)
        assert measured is not None
        assert abs(measured - (skin_c + offset_c)) <= 0.3


def test_blackbody_in_view_corrects_sensor_bias(tmp_path: Path) -> None:
    reg = registration((160, 120))
    box = (250.0, 120.0, 390.0, 300.0)
    frame = render(reg, box, 36.8, seed=7, bias_c=-0.9)
    frame[5:15, 140:155] = 35.0 - 0.9  # the blackbody, set to 35.0 C, read with the same bias
    sensor = replay(tmp_path, [frame])
    settings = ThermalSettings(registration=reg, blackbody_xyxy=(140, 5, 155, 15), blackbody_c=35.0)
    (measured,) = celsius_of(sensor.frame_at(T0), landmarks_for(box), settings)
    assert measured is not None and abs(measured - 36.8) <= 0.3
    (uncorrected,) = celsius_of(sensor.frame_at(T0), landmarks_for(box), ThermalSettings(registration=reg))
    assert uncorrected is not None and abs(uncorrected - 36.8) > 0.6
    (reading,) = measure_readings(sensor.frame_at(T0), landmarks_for(box), settings)
    assert reading is not None and reading.blackbody_offset_c == pytest.approx(0.9, abs=0.05)  # reported
    assert reading.sigma_c == pytest.approx(0.2, abs=0.02)  # the blackbody's uncertainty (a uniform patch)
    assert reading.source == "synthetic"


def test_uncertainty_is_the_sensors_unless_configured(tmp_path: Path) -> None:
    reg = registration((32, 24))
    box = (230.0, 100.0, 410.0, 330.0)
    sensor = replay(tmp_path, [render(reg, box, 36.9, seed=4)], sigma_c=1.0)
    (own,) = measure_readings(sensor.frame_at(T0), landmarks_for(box), ThermalSettings(registration=reg))
    (set_,) = measure_readings(sensor.frame_at(T0), landmarks_for(box), ThermalSettings(registration=reg, sigma_c=0.4))
    assert own is not None and (own.sigma_c, own.blackbody_offset_c) == (1.0, None)
    assert set_ is not None and set_.sigma_c == 0.4


@pytest.mark.parametrize(
    ("values", "sources", "fever_c", "expected", "fever", "source"),
    [
        ([37.4, 37.5, 37.5], ["sensor"] * 3, 37.5, 37.5, True, "sensor"),  # at the threshold is fever (>=)
        ([37.4, 37.49, 37.6], ["sensor"] * 3, 37.5, 37.49, False, "sensor"),
        ([36.6, 36.7], ["sensor", "synthetic"], 37.5, 36.65, False, "synthetic"),  # any synthetic: synthetic
        ([38.0], ["sensor"], 38.5, 38.0, False, "sensor"),  # the door's own threshold
    ],
)
def test_pass_temperature_and_fever_decision(
    values: list[float], sources: list[str], fever_c: float, expected: float, fever: bool, source: str
) -> None:
    settings = ThermalSettings(registration=registration((32, 24)), fever_c=fever_c)
    readings = [Reading(v, 0.3, s, None) for v, s in zip(values, sources, strict=True)]  # type: ignore[arg-type]
    result = pass_temperature(readings, settings)
    assert result is not None
    assert (result.temperature_c, result.fever, result.source, result.sigma_c) == (expected, fever, source, 0.3)
    event = EntryEvent.model_validate(
        {"event_id": "6f1c1f5e-6a7e-4c4b-9a51-0d7a4d0e1a11", "camera_id": "door-1", "captured_at": T0,
         "clock_source": "ntp", "school_id": "s1", "identity": "unknown", "direction": "entered", "track_id": 1,
         **result.event_fields()}
    )  # fmt: skip
    assert (event.temperature_source, event.fever_threshold_c, event.temperature_sigma_c) == (source, fever_c, 0.3)
    assert ("synthetic" in result.describe()) == (source == "synthetic")
    assert pass_temperature([], settings) is None


@pytest.mark.parametrize(
    ("fields", "ok"),
    [
        ({"temperature_c": 36.6, "temperature_source": "none"}, False),
        ({"temperature_source": "synthetic"}, False),
        ({"temperature_source": "none"}, True),
        ({"temperature_c": 36.6}, True),  # an older device that does not say
    ],
)
def test_event_labels_must_match_the_temperature(fields: dict[str, object], ok: bool) -> None:
    base = {"event_id": "6f1c1f5e-6a7e-4c4b-9a51-0d7a4d0e1a11", "camera_id": "door-1", "captured_at": T0,
            "clock_source": "ntp", "school_id": "s1", "identity": "unknown", "direction": "entered",
            "track_id": 1}  # fmt: skip
    if ok:
        EntryEvent.model_validate(base | fields)
    else:
        with pytest.raises(ValueError):
            EntryEvent.model_validate(base | fields)


def test_registration_file_is_what_the_config_points_at(tmp_path: Path) -> None:
    reg = registration((32, 24))
    save_registration(tmp_path / "reg.json", reg)
    settings = ThermalSettings.model_validate({"registration_path": "reg.json"}, context={"base_dir": tmp_path})
    assert settings.mapping == reg
    with pytest.raises(ValueError, match="registration"):
        ThermalSettings.model_validate({})
    with pytest.raises(ValueError, match="cannot read"):
        ThermalSettings.model_validate({"registration_path": str(tmp_path / "missing.json")})


def _all_nan(frame: NDArray[np.float32]) -> NDArray[np.float32]:
    return np.full_like(frame, np.nan)


def _nan_face(frame: NDArray[np.float32]) -> NDArray[np.float32]:
    out = frame.copy()
    out[out > 30.0] = np.nan
    return out


@pytest.mark.parametrize(
    ("case", "box", "at_s"),
    [
        ("all-NaN frame", (250.0, 120.0, 390.0, 300.0), 0.0),
        ("NaN where the face is", (250.0, 120.0, 390.0, 300.0), 0.0),
        ("no thermal frame near this time", (250.0, 120.0, 390.0, 300.0), 5.0),
        ("face outside the thermal field of view", (-900.0, -900.0, -760.0, -720.0), 0.0),
    ],
)
def test_no_thermal_data_is_none_never_zero(
    tmp_path: Path, case: str, box: tuple[float, float, float, float], at_s: float
) -> None:
    reg = registration((160, 120))
    frame = render(reg, (250.0, 120.0, 390.0, 300.0), 36.6, seed=1)
    frame = {"all-NaN frame": _all_nan, "NaN where the face is": _nan_face}.get(case, lambda f: f)(frame)
    sensor = replay(tmp_path, [frame])
    thermal = sensor.frame_at(T0 + timedelta(seconds=at_s))
    result = celsius_of(thermal, landmarks_for(box), ThermalSettings(registration=reg))
    assert result == [None], case


def test_several_faces_are_read_at_once_and_missing_sensor_gives_none() -> None:
    reg = registration((160, 120))
    boxes = [(60.0, 200.0, 160.0, 330.0), (420.0, 60.0, 560.0, 240.0)]
    frame = np.maximum(render(reg, boxes[0], 36.1, seed=2), render(reg, boxes[1], 37.7, seed=3))
    landmarks = np.concatenate([landmarks_for(b) for b in boxes])
    got = celsius_of(ThermalFrame(frame, T0, 0), landmarks, ThermalSettings(registration=reg))
    assert got[0] is not None and abs(got[0] - 36.1) <= 0.3
    assert got[1] is not None and abs(got[1] - 37.7) <= 0.3
    assert celsius_of(None, landmarks, ThermalSettings(registration=reg)) == [None, None]


def test_roi_mapping_covers_the_mapped_quad() -> None:
    reg = Registration.scaled(VISIBLE, (160, 120))
    quads = map_roi(reg, np.array([[0.0, 0.0, 40.0, 40.0], [320.0, 240.0, 321.0, 241.0]]))
    mask = quad_pixel_mask(quads, (120, 160))
    assert mask[0].sum() == 100  # 40 px = 10 thermal px square
    assert mask[1].sum() == 1  # too small for a pixel centre: the pixel under its centre
    assert face_roi(landmarks_for((0.0, 0.0, 100.0, 100.0)), "canthus").shape == (1, 4)
