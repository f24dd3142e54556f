"""Passes stay separate across breaks in the picture (issue 13): a camera drop, a capture-time jump, a scene cut.

Pupil A (Obama, ``samples/faces/obama_small.jpg``) stands at the door for 6 frames, the camera drops (or the
capture clock jumps), then pupil B (Biden, cut from ``samples/school/probes/obama_and_biden.jpg``) stands at the
same spot for 6 frames. Real CenterFace + embedder and a gallery enrolled from ``samples/school/people``; the
camera is a ``StreamSource`` over a scripted capture (the true external boundary, through ``cv2.VideoCapture``'s
interface), read by the real door agent. Before the fix this gave one event, "obama", and Biden was lost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from edge.school.agent import run_agent
from edge.school.config import SchoolConfig
from edge.school.enrol import enrol_photos
from edge.school.gallery import Gallery
from edge.school.pipeline import FaceModels, SchoolPipeline
from edge.spool import Spool
from hardware.camera import Frame, StreamConfig, StreamSource
from kuzet.contracts import ClockSource

T0 = datetime(2026, 9, 1, 2, 52, tzinfo=UTC)
STEP = timedelta(seconds=0.1)  # a 10 fps door camera
OUTAGE = timedelta(minutes=10)
FRAMES = 6


FACE_PX = 110  # face box side at the door
SPOT = (320, 220)  # where the face centre is in the 640x480 view


def on_door(person: NDArray[np.uint8], face: NDArray[np.float32], shift: int) -> NDArray[np.uint8]:
    """The photo scaled so its face (``face`` xyxy) is ``FACE_PX`` wide and centred at ``SPOT`` (+ ``shift`` px)."""
    scale = FACE_PX / float(face[2] - face[0])
    cx, cy = (face[:2] + face[2:]) / 2 * scale
    matrix = np.array([[scale, 0, SPOT[0] + shift - cx], [0, scale, SPOT[1] - cy]], np.float32)
    out = np.asarray(cv2.warpAffine(person, matrix, (640, 480)), np.uint8)
    canvas = np.full_like(out, 90)  # the door's own background around the head and shoulders
    x, y = SPOT[0] + shift, SPOT[1]
    canvas[y - FACE_PX : y + 2 * FACE_PX, x - FACE_PX : x + FACE_PX] = out[
        y - FACE_PX : y + 2 * FACE_PX, x - FACE_PX : x + FACE_PX
    ]
    return canvas


@pytest.fixture(scope="module")
def people(samples: Path, face_models: FaceModels) -> dict[str, list[NDArray[np.uint8]]]:
    """Six frames of each pupil standing at the door, face at the same spot."""
    obama = cv2.imread(str(samples / "faces" / "obama_small.jpg"))
    both = cv2.imread(str(samples / "school" / "probes" / "obama_and_biden.jpg"))
    biden = both[:, : both.shape[1] // 2]  # Biden stands on the left of that photo
    frames = {}
    for name, image in (("obama", obama), ("biden", biden)):
        faces = face_models.detector.detect(image)
        face = faces.xyxy[int(np.argmax(faces.area))]
        frames[name] = [on_door(image, face, 2 * i) for i in range(FRAMES)]
    return frames


@pytest.fixture(scope="module")
def gallery(samples: Path, face_models: FaceModels) -> Gallery:
    gallery = Gallery.empty(face_models.embedder.dim)
    for pupil in ("alex_lacamoire", "biden", "obama"):
        photos = sorted((samples / "school" / "people" / pupil).glob("*.jpg"))
        verdicts = enrol_photos(gallery, pupil, pupil, photos, face_models.detector, face_models.embedder)
        assert any(v.accepted for v in verdicts), pupil
    return gallery


class ScriptedCamera:
    """A fake ``cv2.VideoCapture`` serving given images, then failing every read (the stream drops); an empty
    script does not open (the camera is gone, so the source gives up and the run ends)."""

    def __init__(self, images: list[NDArray[np.uint8]]) -> None:
        self.images = list(images)

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return bool(self.images)

    def read(self) -> tuple[bool, Any]:
        return (True, self.images.pop(0)) if self.images else (False, None)

    def get(self, prop_id: int) -> float:
        return 10.0

    def release(self) -> None:
        self.images = []


def clock(jump_after: int, jump: timedelta) -> Callable[[], datetime]:
    """The wall clock stamping frames: ``STEP`` apart, plus ``jump`` once ``jump_after`` frames were stamped."""
    stamped = iter(range(1_000_000))

    def now() -> datetime:
        n = next(stamped)
        return T0 + n * STEP + (jump if n >= jump_after else timedelta(0))

    return now


def run_door(
    people: dict[str, list[NDArray[np.uint8]]],
    face_models: FaceModels,
    gallery: Gallery,
    tmp_path: Path,
    *,
    drop: bool,
    jump: timedelta,
    tracker: dict[str, Any] | None = None,
) -> tuple[list[str | None], SchoolPipeline]:
    """A then B through a StreamSource (one capture, or two with a drop between) and the door agent."""
    scripts = [people["obama"], people["biden"]] if drop else [people["obama"] + people["biden"]]
    captures = iter([ScriptedCamera(s) for s in scripts])

    def opener(uri: str | int) -> ScriptedCamera:
        return next(captures, ScriptedCamera([]))

    config = StreamConfig(uri="rtsp://door-1/stream", backoff_initial_s=0.0, max_attempts=1)
    source = StreamSource(config, opener, sleep=lambda s: None, now=clock(FRAMES, jump))
    school = SchoolConfig.model_validate({"school_id": "s1", "tracker": tracker or {}})
    pipeline = SchoolPipeline(school, face_models, gallery)
    stats = run_agent(pipeline, source, Spool(tmp_path / "spool.sqlite"), "door-1")
    assert stats.frames == 2 * FRAMES
    return [e.pupil_id for e in stats.events], pipeline  # in the order the passes ended


@pytest.mark.parametrize(
    ("case", "drop", "jump", "closed_by"),
    [
        ("camera drop, 10-minute outage", True, OUTAGE, "camera_drop"),
        ("camera drop, reconnected at once", True, timedelta(0), "camera_drop"),
        ("stream paused 10 minutes, no drop", False, OUTAGE, "time_gap"),
        ("clock stepped back 10 minutes", False, -OUTAGE, "time_gap"),
    ],
)
def test_a_break_gives_two_passes_with_the_right_pupils(
    people: dict[str, list[NDArray[np.uint8]]],
    face_models: FaceModels,
    gallery: Gallery,
    tmp_path: Path,
    case: str,
    drop: bool,
    jump: timedelta,
    closed_by: str,
) -> None:
    ids, pipeline = run_door(people, face_models, gallery, tmp_path, drop=drop, jump=jump)
    assert ids == ["obama", "biden"], case
    assert pipeline.breaks[closed_by] == 1, pipeline.breaks
    assert pipeline.scene_cuts == 0  # one pupil replacing another is not a cut of the whole view


def test_without_the_gap_check_the_pupils_merge(
    people: dict[str, list[NDArray[np.uint8]]], face_models: FaceModels, gallery: Gallery, tmp_path: Path
) -> None:
    """The control: the same paused stream with ``max_gap_s: null`` is one track, so the test above can fail."""
    ids, _ = run_door(people, face_models, gallery, tmp_path, drop=False, jump=OUTAGE, tracker={"max_gap_s": None})
    assert len(ids) == 1


def test_a_scene_cut_closes_the_live_tracks(
    people: dict[str, list[NDArray[np.uint8]]], face_models: FaceModels, gallery: Gallery
) -> None:
    """The camera knocked to another view between A and B (same capture clock): two passes."""
    pipeline = SchoolPipeline(SchoolConfig(school_id="s1"), face_models, gallery)
    images = people["obama"] + [np.ascontiguousarray(255 - img) for img in people["biden"]]
    results = []
    for i, image in enumerate(images):
        results += pipeline.process(Frame(image, i, T0 + i * STEP, ClockSource.NTP))
    results += pipeline.flush()
    assert pipeline.scene_cuts == 1 and len(results) == 2


@pytest.mark.parametrize(("dim", "expected"), [(1, "no_mask"), (12, "unknown")], ids=["lit", "unlit"])
def test_a_pass_too_dark_to_judge_says_mask_unknown(
    people: dict[str, list[NDArray[np.uint8]]], face_models: FaceModels, gallery: Gallery, dim: int, expected: str
) -> None:
    """The door's mask answer for a pass: judged on a lit face, ``unknown`` (not a guess) on an unlit one."""
    from models.faces.mask import build_mask_classifier

    models = FaceModels(face_models.detector, face_models.embedder, build_mask_classifier())
    pipeline = SchoolPipeline(SchoolConfig(school_id="s1"), models, gallery)
    results = []
    for i, image in enumerate(people["obama"]):
        results += pipeline.process(Frame((image // dim).astype(np.uint8), i, T0 + i * STEP, ClockSource.NTP))
    (result,) = results + pipeline.flush()
    assert result.mask == expected and (result.mask_score is None) == (expected == "unknown")
