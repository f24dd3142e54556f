"""A masked pupil at the door: the real pipeline (CenterFace, the embedder, the trained mask classifier) judges a
masked pass at the masked-probe threshold and the event says the identity came from a masked face.

Pupil Obama (``samples/faces/obama_small.jpg``) stands at the door for six frames, once bare and once with a
synthetic mask pasted from his landmarks (``models.faces.synthmask``); the gallery is enrolled from the bare photos
of ``samples/school/people``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from edge.school.config import SchoolConfig
from edge.school.enrol import enrol_photos
from edge.school.gallery import Gallery
from edge.school.masked import MaskedIdentifyConfig, masked_threshold, offset_at, pass_threshold_for
from edge.school.pipeline import FaceModels, PassResult, SchoolPipeline, to_event
from edge.school.vote import vote_pass
from hardware.camera import Frame
from models.faces.mask import build_mask_classifier
from models.faces.synthmask import paste_mask

T0 = datetime(2026, 9, 1, 7, 30, tzinfo=UTC)
FRAMES = 6


def _door_frames(person: NDArray[np.uint8], face: NDArray[np.float32]) -> list[NDArray[np.uint8]]:
    """The photo placed so its face is 110 px wide near the middle of a 640x480 view, drifting right 2 px a frame."""
    scale = 110.0 / float(face[2] - face[0])
    cx, cy = (face[:2] + face[2:]) / 2 * scale
    frames = []
    for i in range(FRAMES):
        matrix = np.array([[scale, 0, 320 + 2 * i - cx], [0, scale, 220 - cy]], np.float32)
        frames.append(np.asarray(cv2.warpAffine(person, matrix, (640, 480), borderValue=(90, 90, 90)), np.uint8))
    return frames


@pytest.fixture(scope="module")
def door_models(face_models: FaceModels) -> FaceModels:
    return FaceModels(
        face_models.detector, face_models.embedder, build_mask_classifier(SchoolConfig(school_id="t").mask)
    )


@pytest.fixture(scope="module")
def gallery(samples: Path, door_models: FaceModels) -> Gallery:
    gallery = Gallery.empty(door_models.embedder.dim)
    for pupil in ("alex_lacamoire", "biden", "obama"):
        photos = sorted((samples / "school" / "people" / pupil).glob("*.jpg"))
        enrol_photos(gallery, pupil, pupil, photos, door_models.detector, door_models.embedder)
    return gallery


def _pass(frames: list[NDArray[np.uint8]], models: FaceModels, gallery: Gallery, config: SchoolConfig) -> PassResult:
    pipeline = SchoolPipeline(config, models, gallery)
    results = []
    for i, image in enumerate(frames):
        results += pipeline.process(Frame(image, i, T0 + timedelta(seconds=0.1 * i), "system"))
    results += pipeline.flush()
    assert len(results) == 1
    return results[0]


@pytest.fixture(scope="module")
def obama(samples: Path, door_models: FaceModels) -> dict[str, list[NDArray[np.uint8]]]:
    photo = np.asarray(cv2.imread(str(samples / "faces" / "obama_small.jpg")), np.uint8)
    faces = door_models.detector.detect(photo)
    main = int(np.argmax(faces.area))
    masked = paste_mask(photo, faces.data["landmarks"][main], faces.xyxy[main], "light_blue")
    return {"bare": _door_frames(photo, faces.xyxy[main]), "masked": _door_frames(masked, faces.xyxy[main])}


def test_masked_pupil_is_identified_and_the_event_says_masked(
    obama: dict[str, list[NDArray[np.uint8]]], door_models: FaceModels, gallery: Gallery
) -> None:
    config = SchoolConfig(school_id="t")
    result = _pass(obama["masked"], door_models, gallery, config)
    assert result.mask == "mask"
    assert result.pupil_id == "obama" and result.identity_masked
    event, _ = to_event(result, "door-1", "t")
    assert event.identity_masked and event.identity == "known" and event.mask == "mask"
    assert '"identity_masked":true' in event.model_dump_json()


def test_bare_pupil_is_not_flagged_masked(
    obama: dict[str, list[NDArray[np.uint8]]], door_models: FaceModels, gallery: Gallery
) -> None:
    result = _pass(obama["bare"], door_models, gallery, SchoolConfig(school_id="t"))
    assert result.mask == "no_mask" and result.pupil_id == "obama" and not result.identity_masked
    assert not to_event(result, "door-1", "t")[0].identity_masked


def test_masked_path_threshold_is_what_decides(
    obama: dict[str, list[NDArray[np.uint8]]], door_models: FaceModels, gallery: Gallery
) -> None:
    """With the masked threshold set above the pass's score the masked pupil is unknown, and never flagged."""
    strict = SchoolConfig.model_validate(
        {"school_id": "t", "identify": {"masked": MaskedIdentifyConfig(threshold=0.99).model_dump()}}
    )
    result = _pass(obama["masked"], door_models, gallery, strict)
    assert result.mask == "mask" and result.pupil_id is None and not result.identity_masked
    assert result.match_score is not None and result.match_score < 0.99


@pytest.mark.parametrize(
    ("ids", "masked", "winner", "flag"),
    [
        (["a", "a", None], [True, True, True], "a", True),
        (["a", "a", "b"], [False, False, True], "a", False),  # only the loser's frame was masked
        (["a", None, "a"], [False, True, True], "a", True),
        ([None, None, None], [True, True, True], None, False),
    ],
)
def test_vote_pass_flags_a_winner_from_masked_frames(
    ids: list[str | None], masked: list[bool], winner: str | None, flag: bool
) -> None:
    result = vote_pass(ids, np.array([0.6, 0.7, 0.5], np.float32), masked, 1, 0.5)
    assert (result.pupil_id, result.masked) == (winner, flag)


def test_masked_threshold_follows_the_config() -> None:
    sface = "sface_2021dec"
    assert masked_threshold(MaskedIdentifyConfig(enabled=False), sface, 1e-3, 1000, 0.57) == 0.57
    assert masked_threshold(MaskedIdentifyConfig(threshold=0.5), sface, 1e-3, 1000, 0.57) == 0.5
    assert masked_threshold(MaskedIdentifyConfig(), "no_such_model", 1e-3, 1000, 0.57) == 0.57
    built_in = masked_threshold(MaskedIdentifyConfig(), sface, 1e-3, 1000, 0.57)
    assert 0.50 < built_in < 0.57  # measured: masked strangers score lower against bare templates
    local = MaskedIdentifyConfig(offsets=((1e-3, -0.02), (1e-5, -0.06)))
    assert masked_threshold(local, "x", 1e-3, 100, 0.6) == pytest.approx(0.54, abs=1e-4)  # 1e-3 per 100 -> 1e-5
    assert masked_threshold(local, "x", 1e-3, 10, 0.6) == pytest.approx(0.56, abs=2e-3)  # ~1e-4: halfway
    assert masked_threshold(local, "x", 1e-3, 10**5, 0.6) == pytest.approx(0.54, abs=1e-4)  # beyond: nearest row
    assert offset_at(((1e-2, -0.01),), 1e-9) == -0.01
    assert pass_threshold_for("mask", 0.57, 0.5) == (0.5, True)
    assert pass_threshold_for("unknown", 0.57, 0.5) == (0.57, False)
    assert pass_threshold_for("no_mask", 0.57, 0.5) == (0.57, False)
