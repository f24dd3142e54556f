"""The door's calibration: per-comparison false-accept table, duplicates handled, per-pass thresholds that rise with
the gallery and what simulated galleries measure at them (a generated face set with known structure)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edge.school.calibrate import (
    FaceSet,
    calibrate,
    far_table,
    load_faces,
    per_probe_pass_far,
    save_faces,
    select_faces,
    simulate_gallery,
)
from kuzet.commands.gallery import calibrate_faces
from models.image import l2_normalise


def face_set(identities: int = 240, per_identity: int = 3, spread: float = 0.6, seed: int = 0) -> FaceSet:
    """Identities as random directions in 128-d, their faces scattered around them (cosine ~0.7 within)."""
    rng = np.random.default_rng(seed)
    centres = l2_normalise(rng.normal(size=(identities, 128)))
    noise = rng.normal(size=(identities, per_identity, 128)) * spread / np.sqrt(128)
    vectors = l2_normalise((centres[:, None, :] + noise).reshape(-1, 128))
    labels = np.repeat([f"set/id{i:03d}" for i in range(identities)], per_identity)
    return FaceSet(vectors, labels.astype(np.str_), 0)


@pytest.fixture(scope="module")
def faces() -> FaceSet:
    return face_set()


def test_table_stops_where_the_pairs_no_longer_resolve() -> None:
    impostor = np.linspace(-0.2, 0.6, 20_000, dtype=np.float32)
    table = far_table(impostor, (1e-2, 1e-3, 1e-4))
    assert [far for far, _ in table] == [1e-2, 1e-3]  # 1e-4 of 20,000 pairs is 2 pairs: not resolved
    assert table[0][1] < table[1][1] <= 0.6


def test_duplicates_are_excluded_or_merged(faces: FaceSet) -> None:
    copy = FaceSet(
        np.concatenate([faces.vectors, faces.vectors[:1]]),
        np.concatenate([faces.labels, np.asarray(["singles/augmented_image_1"], np.str_)]),
        0,
    )
    assert len(np.unique(select_faces(copy, exclude=["singles/augmented_*"]).labels)) == 240
    merged = select_faces(copy, merge_above=0.99)  # the same photo filed as another identity joins it
    assert "set/id000+singles/augmented_image_1" in set(merged.labels.tolist())
    assert len(np.unique(merged.labels)) == 240


def test_per_pass_thresholds_rise_with_the_gallery_and_meet_the_target(faces: FaceSet) -> None:
    report = calibrate(faces, far=1e-3, pass_far=1e-2, sizes=(10, 100, 1000))
    assert report["identities"] == 240 and report["impostor_pairs"] == 240 * 3 * 239 * 3 // 2
    rows = {row["gallery_size"]: row for row in report["open_set"]}
    assert rows[10]["threshold"] < rows[100]["threshold"] < rows[1000]["threshold"]
    assert rows[1000]["measured"] is None  # 240 identities cannot make a gallery of 1,000 with strangers left
    for size in (10, 100):
        measured = rows[size]["measured"]
        assert measured["frame_far"] <= 2e-2 and measured["wrong_identity"] == 0.0
        assert measured["pass_far_after_vote"] <= measured["frame_far"]
        assert measured["identified"] > 0.5  # the identities' other faces are still found at that threshold
        assert rows[size]["pass_far_bound"] <= 1.5e-2


def test_simulation_and_per_probe_estimate_agree_on_a_loose_threshold(faces: FaceSet) -> None:
    loose = 0.25  # high enough that strangers are rarely accepted, low enough to measure it
    simulated = simulate_gallery(faces, 100, loose, 1, 10, np.random.default_rng(1))
    assert simulated is not None
    estimate = per_probe_pass_far(faces, loose, 100)
    assert 0.0 < simulated["frame_far"] < 0.5
    assert estimate == pytest.approx(simulated["frame_far"], rel=0.5)


def test_command_reuses_cached_embeddings(tmp_path: Path, faces: FaceSet) -> None:
    cache = tmp_path / "faces.npz"
    save_faces(faces, "sface_2021dec", cache)
    assert load_faces(cache, "sface_2021dec").labels.tolist() == faces.labels.tolist()
    with pytest.raises(ValueError, match="dlib_resnet_v1"):
        load_faces(cache, "dlib_resnet_v1")
    result = CliRunner().invoke(calibrate_faces, ["--cache", str(cache), "--sizes", "10,100", "--pass-far", "0.01"])
    assert result.exit_code == 0, result.output
    assert '"gallery_size": 100' in result.output and '"far_table"' in result.output
