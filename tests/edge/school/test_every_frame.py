"""``selection.embed_every_frame``: every face of every frame is embedded in one batched call per frame, the pass
votes with the vectors of its best frames, and the decisions equal the deferred mode's (the enrolment photos of
the bundled samples, shown side by side on a 640x480 door frame, 1-3 people)."""

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
from edge.school.pipeline import FaceModels, SchoolPipeline
from hardware.camera import Frame
from kuzet.contracts import ClockSource

START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
FRAMES_PER_SCENE = 4


def _scene(photos: list[Path]) -> NDArray[np.uint8]:
    frame = np.full((480, 640, 3), 40, np.uint8)
    slot = 640 // len(photos)
    for i, path in enumerate(photos):
        image = cv2.imread(str(path))
        scale = min(slot / image.shape[1], 480 / image.shape[0])
        small = cv2.resize(image, (int(image.shape[1] * scale), int(image.shape[0] * scale)))
        y, x = (480 - small.shape[0]) // 2, i * slot + (slot - small.shape[1]) // 2
        frame[y : y + small.shape[0], x : x + small.shape[1]] = small
    return frame


@pytest.fixture(scope="module")
def door(samples: Path, face_models: FaceModels) -> tuple[Gallery, list[NDArray[np.uint8]]]:
    people = samples / "school" / "people"
    gallery = Gallery.empty(face_models.embedder.dim)
    for person in ("obama", "biden", "alex_lacamoire"):
        photos = sorted((people / person).iterdir())[:1]
        enrol_photos(gallery, person, person, photos, face_models.detector, face_models.embedder)
    scenes = [
        [people / "obama" / "obama2.jpg"],
        [people / "biden" / "biden.jpg", people / "alex_lacamoire" / "img1.jpg"],
        [people / "alex_lacamoire" / "img1.jpg", people / "obama" / "obama2.jpg", people / "biden" / "biden.jpg"],
    ]
    return gallery, [_scene(s) for s in scenes for _ in range(FRAMES_PER_SCENE)]


class CountingEmbedder:
    """The real embedder, counting its calls and faces (the door's own object, wrapped, not faked)."""

    def __init__(self, inner: object) -> None:
        self.inner, self.calls, self.faces = inner, 0, 0
        self.dim = inner.dim  # type: ignore[attr-defined]

    def embed(self, image: NDArray[np.uint8], faces: object) -> NDArray[np.float32]:
        self.calls += 1
        self.faces += len(faces)  # type: ignore[arg-type]
        return self.inner.embed(image, faces)  # type: ignore[attr-defined, no-any-return]


def _run(models: FaceModels, gallery: Gallery, frames: list[NDArray[np.uint8]], every: bool) -> list[str | None]:
    config = SchoolConfig.model_validate(
        {"school_id": "t", "selection": {"embed_every_frame": every}, "tracker": {"min_hits": 3}}
    )
    pipeline = SchoolPipeline(config, models, gallery)
    results = []
    for i, image in enumerate(frames):
        results += pipeline.process(Frame(image, i, START + timedelta(seconds=i / 15), ClockSource.FILE))
    results += pipeline.flush()
    return sorted((r.pupil_id or "") for r in results)


def test_every_frame_embeds_each_face_once_per_frame_with_the_same_decisions(
    face_models: FaceModels, door: tuple[Gallery, list[NDArray[np.uint8]]]
) -> None:
    gallery, frames = door
    deferred = _run(face_models, gallery, frames, every=False)
    counting = CountingEmbedder(face_models.embedder)
    models = FaceModels(face_models.detector, counting, None)  # type: ignore[arg-type]
    every = _run(models, gallery, frames, every=True)
    assert deferred == every == sorted(["obama", "biden", "alex_lacamoire", "alex_lacamoire", "obama", "biden"])
    assert counting.calls == len(frames)  # one batched call per frame, none when the passes close
    assert counting.faces == (1 + 2 + 3) * FRAMES_PER_SCENE
