"""Visible->thermal registration measured from point pairs (affine / homography, least squares) with its
reprojection RMS; and replay files that always say whether their frames are measured or synthetic."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from hardware.thermal import Registration, ReplayThermalSensor, write_replay
from hardware.thermal.registration import fit_registration, load_registration, read_pairs, save_registration

TRUE = np.array([[0.048, 0.004, 1.2], [-0.003, 0.052, -0.8], [1.5e-5, -2e-5, 1.0]])  # a tilted 32x24 rig


def pairs(n: int, noise_px: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    visible = rng.uniform([20, 20], [620, 460], size=(n, 2))
    thermal = Registration.from_matrix(TRUE, (32, 24)).map_points(visible).astype(np.float64)
    return visible, thermal + rng.normal(0.0, noise_px, thermal.shape)


@pytest.mark.parametrize(
    ("model", "n", "noise_px", "max_rms", "max_error"),
    [
        ("homography", 4, 0.0, 1e-4, 1e-3),  # exact from the minimum number of pairs
        ("homography", 12, 0.15, 0.25, 0.2),  # clicked points: ~0.15 px noise
        ("affine", 12, 0.0, 0.3, 0.4),  # perspective the affine model cannot express shows up as RMS
    ],
)
def test_fit_recovers_mapping_and_reports_rms(
    model: str, n: int, noise_px: float, max_rms: float, max_error: float
) -> None:
    visible, thermal = pairs(n, noise_px, seed=n)
    fitted = fit_registration(visible, thermal, (32, 24), model)  # type: ignore[arg-type]
    assert fitted.model == model and fitted.pairs == n
    assert fitted.rms_px is not None and fitted.rms_px <= max_rms
    probe = np.array([[100.0, 100.0], [320.0, 240.0], [600.0, 400.0]])
    truth = Registration.from_matrix(TRUE, (32, 24)).map_points(probe)
    assert np.abs(fitted.map_points(probe) - truth).max() <= max_error
    if noise_px > 0:
        assert fitted.rms_px > 0.3 * noise_px  # the stored error is the measured one, not zero


def test_affine_rms_exposes_a_wrong_model() -> None:
    visible, thermal = pairs(12, 0.0, seed=1)
    homography = fit_registration(visible, thermal, (32, 24), "homography")
    affine = fit_registration(visible, thermal, (32, 24), "affine")
    assert affine.rms_px is not None and homography.rms_px is not None
    assert affine.rms_px > 20 * max(homography.rms_px, 1e-4)


@pytest.mark.parametrize(
    ("visible", "model", "message"),
    [
        ([[0, 0], [10, 10], [20, 20], [30, 30]], "homography", "one line"),
        ([[0, 0], [10, 10]], "affine", "at least 3"),
        ([[0, 0], [10, 0], [0, 10]], "homography", "at least 4"),
    ],
)
def test_degenerate_pairs_are_refused(visible: list[list[float]], model: str, message: str) -> None:
    points = np.asarray(visible, np.float64)
    with pytest.raises(ValueError, match=message):
        fit_registration(points, points / 20.0, (32, 24), model)  # type: ignore[arg-type]


def test_pairs_file_round_trip(tmp_path: Path) -> None:
    visible, thermal = pairs(6, 0.0, seed=4)
    csv = tmp_path / "pairs.csv"
    rows = [f"{x},{y},{u},{v}" for (x, y), (u, v) in zip(visible.tolist(), thermal.tolist(), strict=True)]
    csv.write_text("x,y,u,v\n" + "\n".join(rows) + "\n")
    got_visible, got_thermal = read_pairs(csv)
    assert np.allclose(got_visible, visible) and np.allclose(got_thermal, thermal)
    fitted = fit_registration(got_visible, got_thermal, (32, 24))
    save_registration(tmp_path / "reg.json", fitted)
    assert load_registration(tmp_path / "reg.json") == fitted
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="x,y,u,v"):
        read_pairs(tmp_path / "bad.csv")


def test_replay_carries_its_label(tmp_path: Path) -> None:
    frames = np.full((2, 24, 32), 30.0, np.float32)
    times = np.array([0.0, 0.125]) + datetime(2026, 9, 1, tzinfo=UTC).timestamp()
    write_replay(tmp_path / "real.npz", frames, times, source="sensor", sigma_c=1.0)
    write_replay(tmp_path / "fake.npz", frames, times, source="synthetic")
    real = ReplayThermalSensor(tmp_path / "real.npz").frame_at(datetime(2026, 9, 1, tzinfo=UTC))
    fake = ReplayThermalSensor(tmp_path / "fake.npz").frame_at(datetime(2026, 9, 1, tzinfo=UTC))
    assert real is not None and (real.source, real.sigma_c) == ("sensor", 1.0)
    assert fake is not None and (fake.source, fake.sigma_c) == ("synthetic", None)
    np.savez_compressed(tmp_path / "old.npz", celsius=frames, timestamps=times)  # written before the labels
    assert ReplayThermalSensor(tmp_path / "old.npz").source == "synthetic"


def test_bundled_demo_recording_says_synthetic(samples: Path) -> None:
    with np.load(samples / "school" / "thermal_replay.npz") as data:
        assert str(data["source"]) == "synthetic"


def test_register_command_writes_the_file_the_door_config_reads(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from edge.school.config import ThermalSettings
    from kuzet.commands.school import thermal_register

    visible, thermal = pairs(8, 0.1, seed=8)
    rows = [f"{x},{y},{u},{v}" for (x, y), (u, v) in zip(visible.tolist(), thermal.tolist(), strict=True)]
    (tmp_path / "pairs.csv").write_text("x,y,u,v\n" + "\n".join(rows) + "\n")
    out = tmp_path / "reg.json"
    args = ["--pairs", str(tmp_path / "pairs.csv"), "--thermal-size", "32x24", "--out", str(out)]
    result = CliRunner().invoke(thermal_register, args)
    assert result.exit_code == 0, result.output
    assert "reprojection RMS" in result.output and "registration_path" in result.output
    settings = ThermalSettings.model_validate({"registration_path": str(out)})
    assert settings.mapping.pairs == 8 and settings.mapping.rms_px is not None and settings.mapping.rms_px > 0
    (tmp_path / "few.csv").write_text("x,y,u,v\n1,2,3,4\n")
    bad = CliRunner().invoke(thermal_register, ["--pairs", str(tmp_path / "few.csv"), "--out", str(out)])
    assert bad.exit_code != 0 and "at least 4" in bad.output


def test_hot_spot_finds_a_heated_target_to_sub_pixel() -> None:
    from hardware.thermal.registration import hot_spot

    ys, xs = np.mgrid[0:24, 0:32] + 0.5
    for u, v in [(10.3, 7.8), (25.6, 18.2)]:
        frame = 22.0 + 20.0 * np.exp(-((xs - u) ** 2 + (ys - v) ** 2) / (2 * 0.8**2))
        found = hot_spot(frame)
        assert found is not None and abs(found[0] - u) < 0.25 and abs(found[1] - v) < 0.25
    assert hot_spot(np.full((24, 32), 22.0)) is None  # nothing warm in view
    two = np.full((24, 32), 22.0)
    two[3, 3] = two[20, 28] = 40.0  # a face and the target: ambiguous
    assert hot_spot(two) is None
