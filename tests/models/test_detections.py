"""The columnar Detections type: shapes checked, masks select rows, empty is ordinary."""

from __future__ import annotations

import numpy as np
import pytest

from models.detections import NO_TRACK, Detections


def _three() -> Detections:
    return Detections.build(
        xyxy=np.array([[0, 0, 10, 10], [5, 5, 25, 15], [100, 100, 110, 130]]),
        confidence=np.array([0.9, 0.4, 0.7]),
        class_id=np.array([2, 7, 2]),
        data={"landmarks": np.arange(30, dtype=np.float32).reshape(3, 5, 2)},
    )


@pytest.mark.parametrize(
    ("index", "expected_conf"),
    [
        (np.array([True, False, True]), [0.9, 0.7]),
        (np.array([2, 0]), [0.7, 0.9]),
        (slice(1, None), [0.4, 0.7]),
        (1, [0.4]),
        (np.zeros(3, bool), []),
    ],
    ids=["mask", "indices", "slice", "int", "none"],
)
def test_indexing_keeps_columns_aligned(index: object, expected_conf: list[float]) -> None:
    dets = _three()
    sub = dets[index]  # type: ignore[index]
    assert np.allclose(sub.confidence, expected_conf)
    assert len(sub.xyxy) == len(sub.class_id) == len(sub.tracker_id) == len(sub.data["landmarks"]) == len(sub)
    assert sub.xyxy.dtype == np.float32 and sub.class_id.dtype == np.int32 and sub.tracker_id.dtype == np.int64


def test_filter_by_confidence_like_supervision() -> None:
    dets = _three()
    assert dets[dets.confidence > 0.5].class_id.tolist() == [2, 2]


def test_arrays_are_read_only_and_defaults() -> None:
    dets = _three()
    assert (dets.tracker_id == NO_TRACK).all()
    with pytest.raises(ValueError, match="read-only"):
        dets.xyxy[0, 0] = 3.0
    with pytest.raises(ValueError, match="read-only"):
        dets.data["landmarks"][0, 0, 0] = 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence": np.ones(2)}, "confidence has 2 rows"),
        ({"class_id": np.ones(4)}, "class_id has 4 rows"),
        ({"data": {"emb": np.ones((2, 128))}}, r"data\['emb'\] has shape"),
    ],
)
def test_shape_mismatch_is_an_error(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"xyxy": np.zeros((3, 4)), "confidence": np.ones(3)}
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Detections.build(**base)  # type: ignore[arg-type]


def test_empty_is_ordinary() -> None:
    empty = Detections.empty(landmarks=(5, 2))
    assert len(empty) == 0 and empty.data["landmarks"].shape == (0, 5, 2)
    assert empty[empty.confidence > 0.5].area.shape == (0,)
    assert len(Detections.concat([empty, _three()])) == 3
    assert len(Detections.concat([])) == 0


def test_geometry_columns_and_tracker_ids() -> None:
    dets = _three().with_tracker_id(np.array([4, 5, 6]))
    assert dets.area.tolist() == [100.0, 200.0, 300.0]
    assert dets.center[0].tolist() == [5.0, 5.0]
    assert dets.bottom_center[2].tolist() == [105.0, 130.0]
    assert dets.tracker_id.tolist() == [4, 5, 6]
    with_emb = dets.with_columns(emb=np.zeros((3, 8), np.float32))
    assert set(with_emb.data) == {"landmarks", "emb"}
