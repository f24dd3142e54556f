"""The per-track plate stage: bounded best-crop keeping (tables), and end-of-track reading with the real plate
detector and recogniser on a real vehicle of the bundled clip carrying a pasted synthetic KZ plate."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from edge.traffic.plates_stage import PlateStage, TrafficPlatesConfig, search_size
from models.detections import Detections
from models.plates.config import PlatesConfig
from models.plates.detector import CascadeDetector
from tests.edge.traffic.synthetic_plates import PLATE_TEXT, paste_plates

SEDAN = (388.0, 207.0, 636.0, 349.0)  # the white sedan's box in frame 30 of the clip


@pytest.fixture(scope="module")
def frame30(samples: Path) -> NDArray[np.uint8]:
    capture = cv2.VideoCapture(str(samples / "traffic" / "ozlu_vehicle_counting.mp4"))
    for _ in range(31):
        ok, frame = capture.read()
        assert ok
    capture.release()
    return np.asarray(frame, np.uint8)


@pytest.fixture(scope="module")
def stage_parts() -> PlateStage:
    return PlateStage.build(TrafficPlatesConfig())


def _stage(parts: PlateStage, **config: object) -> PlateStage:
    return PlateStage(parts.detector, parts.reader, TrafficPlatesConfig.model_validate(config))


def _tracked(boxes: list[tuple[float, float, float, float]], ids: list[int], measured: list[bool]) -> Detections:
    return Detections.build(
        np.asarray(boxes, np.float32).reshape(-1, 4),
        np.ones(len(boxes), np.float32),
        tracker_id=np.asarray(ids),
        data={"measured": np.asarray(measured, bool)},
    )


@pytest.mark.parametrize(
    ("widths", "keep", "kept_frames"),
    [
        ([60, 80, 100, 120, 140], 3, [2, 3, 4]),  # growing vehicle: the three largest stay
        ([140, 120, 100, 80, 60], 3, [0, 1, 2]),  # receding vehicle: the first three stay
        ([60, 200, 60, 60, 60], 1, [1]),  # one slot: the best crop wins
        ([30, 40, 200, 40, 30], 3, [2]),  # narrower than min_vehicle_width_px (48): never kept
    ],
)
def test_keeps_the_best_crops_per_track_bounded(
    stage_parts: PlateStage, frame30: NDArray[np.uint8], widths: list[int], keep: int, kept_frames: list[int]
) -> None:
    stage = _stage(stage_parts, crops_per_track=keep, sharpness_weight=0.0)
    for index, width in enumerate(widths):
        stage.observe(frame30, _tracked([(300.0, 200.0, 300.0 + width, 300.0)], [7], [True]), index)
    assert sorted(stage._tracks[7].frames) == kept_frames
    assert len(stage._tracks[7].crops) == len(kept_frames) <= keep


def test_predictions_are_skipped_and_stale_tracks_dropped(stage_parts: PlateStage, frame30: NDArray[np.uint8]) -> None:
    stage = _stage(stage_parts, stale_frames=10)
    stage.observe(frame30, _tracked([SEDAN, (100.0, 100.0, 200.0, 180.0)], [1, 2], [True, False]), 0)
    assert set(stage._tracks) == {1}  # track 2 was a Kalman prediction, not a measured box
    stage.observe(frame30, _tracked([(100.0, 100.0, 200.0, 180.0)], [2], [True]), 11)
    assert set(stage._tracks) == {2}  # track 1 unseen for 11 frames > stale_frames
    stage.drop(2)
    assert len(stage) == 0 and stage.finish(2) is None


def test_finish_reads_the_pasted_plate_and_keeps_its_crop(stage_parts: PlateStage, frame30: NDArray[np.uint8]) -> None:
    stage = _stage(stage_parts)
    box = np.asarray([SEDAN], np.float32)
    for index in range(3):
        stage.observe(paste_plates(frame30, box), _tracked([SEDAN], [4], [True]), 30 + index)
    result = stage.finish(4)
    assert result is not None and result.read and result.vehicle_crops == 3 and result.plates_found == 3
    assert result.plate.text == PLATE_TEXT and result.plate.valid is True and result.plate.confidence > 0.8
    assert result.frame_index in (30, 31, 32) and result.plate.crop.shape[1] >= 60
    evidence = result.evidence()
    assert evidence is not None and evidence.normalised == PLATE_TEXT and evidence.raw
    assert evidence.crop is result.plate.crop  # the exact crop the read came from
    assert len(stage) == 0


def test_a_vehicle_without_a_readable_plate_gives_no_evidence(
    stage_parts: PlateStage, frame30: NDArray[np.uint8]
) -> None:
    stage = _stage(stage_parts, crops_per_track=2)
    stage.observe(frame30, _tracked([SEDAN], [5], [True]), 30)  # the real clip: its plate is ~20 px wide
    result = stage.finish(5)
    assert result is not None and result.vehicle_crops == 1
    assert not result.read and result.evidence() is None


def test_cascade_backend_by_configuration(frame30: NDArray[np.uint8]) -> None:
    models = PlatesConfig.model_validate({"detector": {"backend": "cascade"}, "reader": {"region": "kz"}})
    stage = PlateStage.build(TrafficPlatesConfig(models=models))
    assert isinstance(stage.detector, CascadeDetector)
    stage.observe(frame30, _tracked([SEDAN], [6], [True]), 30)
    result = stage.finish(6)  # the clip's own ~20 px plate: the fast backend finds nothing to read either
    assert result is not None and result.vehicle_crops == 1 and not result.read


@pytest.mark.parametrize(
    ("height", "width", "side"),
    [
        (60, 100, 192),  # a distant car: 150 px wanted, the smallest network
        (152, 264, 416),  # the sedan: 396 px wanted
        (300, 500, 640),  # close: beyond the largest side, the largest
        (10, 10, 192),
    ],
)
def test_search_side_follows_the_crop_size(height: int, width: int, side: int) -> None:
    config = TrafficPlatesConfig()
    assert search_size(height, width, config.search_sizes, config.search_scale) == side


def test_search_sides_must_suit_the_network() -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        TrafficPlatesConfig(search_sizes=(200,))


def test_sized_stage_reads_the_pasted_plate_with_a_smaller_network(
    stage_parts: PlateStage, frame30: NDArray[np.uint8]
) -> None:
    """PlateStage.build searches each vehicle crop at the side its size calls for (416 for the sedan), not 640."""
    stage = PlateStage(stage_parts.detector, stage_parts.reader, TrafficPlatesConfig(), stage_parts._sized)
    box = np.asarray([SEDAN], np.float32)
    stage.observe(paste_plates(frame30, box), _tracked([SEDAN], [7], [True]), 30)
    result = stage.finish(7)
    assert result is not None and result.plate.text == PLATE_TEXT and result.plates_found == 1
    assert list(stage._by_size) == [416]
