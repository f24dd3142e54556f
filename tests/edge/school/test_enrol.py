"""The one enrolment loop: the API's bytes path and the CLI/door's file path give the same verdicts, templates
and thumbnail (one rule: the face with its margin, at most THUMBNAIL_PX a side)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.school.enrol import ACCEPTED, THUMBNAIL_PX, UNREADABLE, enrol_images, enrol_photos
from edge.school.gallery import Gallery
from edge.school.pipeline import FaceModels


def test_bytes_and_files_enrol_alike(samples: Path, tmp_path: Path, face_models: FaceModels) -> None:
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"not a photo")
    photos = [samples / "school" / "people" / "obama" / "obama.jpg", garbage]
    detector, embedder = face_models.detector, face_models.embedder
    result = enrol_images([(p.name, p.read_bytes()) for p in photos], detector, embedder)
    assert [(v.filename, v.accepted, v.message) for v in result.verdicts] == [
        ("obama.jpg", True, ACCEPTED),
        ("garbage.jpg", False, UNREADABLE),
    ]
    assert result.embeddings.shape == (1, embedder.dim) and result.embeddings.dtype == np.float32
    assert result.thumbnail_jpeg is not None and result.thumbnail_jpeg[:2] == b"\xff\xd8"
    thumb = cv2.imdecode(np.frombuffer(result.thumbnail_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert max(thumb.shape[:2]) == THUMBNAIL_PX

    gallery = Gallery.empty(embedder.dim, embedder.model)
    verdicts = enrol_photos(gallery, "P-1", "Pupil", photos, detector, embedder)
    assert [(v.accepted, v.message) for v in verdicts] == [(v.accepted, v.message) for v in result.verdicts]
    np.testing.assert_allclose(gallery.templates, result.embeddings, atol=1e-6)
    assert gallery.thumbnails == {}  # the door keeps no thumbnail unless asked
    enrol_photos(gallery, "P-1", "Pupil", photos, detector, embedder, keep_thumbnail=True)
    assert gallery.thumbnails["P-1"] == result.thumbnail_jpeg


def test_a_gallery_of_another_model_is_refused(samples: Path, face_models: FaceModels) -> None:
    gallery = Gallery.empty(128, "dlib_resnet_v1")
    photo = samples / "school" / "people" / "obama" / "obama.jpg"
    with pytest.raises(ValueError, match="dlib_resnet_v1 templates"):
        enrol_photos(gallery, "P-1", "Pupil", [photo], face_models.detector, face_models.embedder)
    assert len(gallery) == 0


def test_no_usable_photo_gives_no_templates_and_leaves_the_gallery(face_models: FaceModels) -> None:
    result = enrol_images([("blank.png", b"")], face_models.detector, face_models.embedder)
    assert result.embeddings.shape == (0, face_models.embedder.dim) and result.thumbnail_jpeg is None
    assert [(v.accepted, v.message) for v in result.verdicts] == [(False, UNREADABLE)]  # an empty upload too
