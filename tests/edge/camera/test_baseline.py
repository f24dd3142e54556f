"""The installation baseline: recorded from real frames, saved and loaded as .npz, refused when it is not one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.camera.baseline import Baseline, BaselineError, record_baseline
from edge.camera.config import CameraHealthConfig
from tests.edge.camera.clips import sampled


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    return record_baseline([frame for t, frame in sampled("ozlu") if t < 3.0])


def test_recorded_from_the_first_seconds(baseline: Baseline) -> None:
    assert baseline.reference.shape == (176, 320) and baseline.reference.dtype == np.uint8
    assert baseline.frame_size == (640, 352) and baseline.scale == pytest.approx(2.0)
    assert 80.0 < baseline.brightness < 120.0 and 50.0 < baseline.contrast < 80.0
    assert baseline.sharpness > 1000.0 and baseline.flat_fraction < 0.05


def test_the_reference_is_the_median_so_a_passing_car_is_not_in_it(baseline: Baseline) -> None:
    frames = [frame for t, frame in sampled("ozlu") if t < 3.0]
    single = record_baseline(frames[:1])
    assert single.frame_size == baseline.frame_size
    assert not np.array_equal(single.reference, baseline.reference)


def test_save_and_load_round_trip(tmp_path: Path, baseline: Baseline) -> None:
    path = tmp_path / "site" / "baseline.npz"
    baseline.save(path)
    loaded = Baseline.load(path)
    assert np.array_equal(loaded.reference, baseline.reference)
    assert (loaded.sharpness, loaded.brightness, loaded.contrast, loaded.flat_fraction, loaded.frame_size) == (
        baseline.sharpness,
        baseline.brightness,
        baseline.contrast,
        baseline.flat_fraction,
        baseline.frame_size,
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), (b"not an npz", "is not a camera baseline")],
    ids=["missing", "garbage"],
)
def test_a_missing_or_foreign_file_is_refused(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "baseline.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BaselineError, match=message):
        Baseline.load(path)


def test_other_npz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gallery.npz"
    np.savez(path, embeddings=np.zeros((2, 4)))
    with pytest.raises(BaselineError, match="not a camera baseline"):
        Baseline.load(path)


def test_no_frames_is_an_error() -> None:
    with pytest.raises(BaselineError, match="no frames"):
        record_baseline([])


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("base.npz", Path("/site/base.npz"))])
def test_config_baseline_path_resolves_and_may_be_none(value: str | None, expected: Path | None) -> None:
    config = CameraHealthConfig.model_validate({"baseline_path": value}, context={"base_dir": Path("/site")})
    assert config.baseline_path == expected
