"""The masked-probe calibration on real ORL faces: bare and masked sets of the same rows, a masked impostor table
next to the bare one of the same faces, and the offset between them that the door's masked threshold uses."""

from __future__ import annotations

import numpy as np
import pytest

from edge.school.calibrate import FaceSet
from edge.school.masked import offset_at
from edge.school.masked_calibrate import collect_pairs, masked_report
from edge.school.pipeline import FaceModels
from models.faces.openset import comparison_far, pass_threshold
from tests.conftest import require_data

IDENTITIES = [f"s{i}" for i in range(1, 11)]  # 10 ORL people, 5 photos each: 1,125 bare impostor pairs


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory, face_models: FaceModels) -> tuple[FaceSet, FaceSet]:
    import shutil

    orl = require_data("faces/orl")
    root = tmp_path_factory.mktemp("orl10") / "orl"
    for identity in IDENTITIES:
        (root / identity).mkdir(parents=True)
        for i in range(1, 6):
            shutil.copy(orl / identity / f"{i}.pgm", root / identity / f"{i}.pgm")
    return collect_pairs([root], [], (face_models.detector, face_models.embedder))


def test_bare_and_masked_sets_have_the_same_rows(pairs: tuple[FaceSet, FaceSet]) -> None:
    bare, masked = pairs
    assert len(bare.labels) + bare.no_face == 50 and bare.no_face <= 2
    assert np.array_equal(bare.labels, masked.labels) and set(bare.labels.tolist()) == {f"orl/{i}" for i in IDENTITIES}
    same_photo = (bare.vectors * masked.vectors).sum(1)
    assert 0.3 < float(np.median(same_photo)) < 0.98  # a mask changes the embedding, the person stays recognisable


def test_report_offsets_are_masked_minus_bare_of_the_same_faces(pairs: tuple[FaceSet, FaceSet]) -> None:
    report = masked_report(*pairs, 1e-3, [3, 5], ([], None))
    assert [far for far, _ in report["bare_far_table"]] == [1e-2] == [far for far, _ in report["masked_far_table"]]
    (far, masked_t), (_, bare_t) = report["masked_far_table"][0], report["bare_far_table"][0]
    assert report["offsets"] == ((far, round(masked_t - bare_t, 4)),)
    assert report["genuine_accept_at"]["0.01"] > 0.8  # same-age ORL faces stay above the impostor tail when masked
    assert report["thresholds_by_gallery_size"] == {}  # one table row cannot make a per-pass threshold
    excluded = masked_report(*pairs, 1e-3, [3], (["orl/s1"], None))
    assert excluded["identities"] == 9 and excluded["faces"] < report["faces"]


def test_masked_threshold_per_gallery_size_is_bare_plus_offset() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    noisy = vectors + 0.3 * rng.normal(size=vectors.shape).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    labels = np.asarray([f"x/{i // 2}" for i in range(300)], np.str_)
    report = masked_report(FaceSet(vectors, labels, 0), FaceSet(noisy, labels, 0), 1e-2, [10], ([], None))
    bare = pass_threshold(report["bare_far_table"], 1e-2, 10)
    expected = bare + offset_at(report["offsets"], comparison_far(1e-2, 10))
    assert report["thresholds_by_gallery_size"]["10"] == {"bare": round(bare, 4), "masked": round(expected, 4)}
