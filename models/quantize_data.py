"""Calibration inputs for ``models.quantize``: never an evaluation split.

Sources: the bundled clips and photos in ``samples/`` (the street clip for the vehicle and plate detectors, the
Hamilton clip and the enrolment photos for the face models) and, when the shared data is given, the training side
of the mask classifier's split (``models/artifacts/mask_classifier_report.json`` lists its training files by SHA-256
prefix; faces only: the shared data has no training side for vehicles or plates). Every input is pre-processed
exactly as its model class does at run time.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from models.faces.align import align_faces
from models.faces.centerface import build_centerface, centerface_preprocess
from models.faces.config import FaceDetectorConfig
from models.plates.detector import platedet_preprocess
from models.runtime import sha256_file
from models.vehicles.preprocess import preprocess

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
STREET_CLIP = SAMPLES / "traffic" / "ozlu_vehicle_counting.mp4"
DOOR_CLIP = SAMPLES / "school" / "short_hamilton_clip.mp4"
MASK_REPORT = Path(__file__).resolve().parent / "artifacts" / "mask_classifier_report.json"
FACE_SIDE = 640  # CenterFace calibration side (the door runs 320, enrolment and eval 640)
PRINT_PREFIX = 16


@dataclass(slots=True)
class CalibrationSet:
    """Model inputs and a human-readable list of where they came from (for the manifest)."""

    tensors: list[NDArray[np.float32]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def clip_frames(path: Path, count: int) -> list[NDArray[np.uint8]]:
    """``count`` frames spread evenly over a video."""
    capture = cv2.VideoCapture(str(path))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for index in np.linspace(0, max(total - 1, 0), count).astype(int).tolist():
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        if ok:
            frames.append(np.asarray(frame, np.uint8))
    capture.release()
    return frames


def sample_photos() -> list[Path]:
    """The bundled face photos (enrolment people, probes, samples/faces)."""
    folders = [SAMPLES / "school" / "people", SAMPLES / "school" / "probes", SAMPLES / "faces"]
    return sorted(p for f in folders for p in f.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})


def mask_train_photos(data: Path, count: int) -> list[Path]:
    """Up to ``count`` photos of the mask classifier's training side (``masks/`` and ``masks_real/``)."""
    train = set(json.loads(MASK_REPORT.read_text(encoding="utf-8")).get("train_sha256_prefixes", []))
    found: list[Path] = []
    for folder in (data / "masks", data / "masks_real" / "images"):
        for path in sorted(folder.rglob("*")):
            if len(found) >= count:
                return found
            if path.suffix.lower() in {".jpg", ".jpeg", ".png"} and sha256_file(path)[:PRINT_PREFIX] in train:
                found.append(path)
    return found


def _face_images(count: int, data: Path | None) -> tuple[list[NDArray[np.uint8]], list[str]]:
    """Door frames, the bundled photos and (with data) mask-training photos; about a third each."""
    share = max(1, count // 3)
    images = clip_frames(DOOR_CLIP, share)
    sources = [f"{DOOR_CLIP.relative_to(ROOT)}: {len(images)} frames"]
    photos = sample_photos()[:share]
    if data is not None:
        photos += mask_train_photos(data, count - len(images) - len(photos))
    images += [np.asarray(img, np.uint8) for img in (cv2.imread(str(p)) for p in photos) if img is not None]
    sources += [str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p) for p in photos]
    return images[:count], sources


def _face_canvas(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    """CenterFace input at a fixed side (calibration tensors share one shape)."""
    tensor, _ = centerface_preprocess(image, FACE_SIDE)
    canvas = np.zeros((1, 3, FACE_SIDE, FACE_SIDE), np.float32)
    canvas[:, :, : tensor.shape[2], : tensor.shape[3]] = tensor
    return canvas


def _street(count: int, size: int, plate: bool) -> CalibrationSet:
    """Street-clip frames (and, for plates, their lower halves: the area a vehicle's plate is searched in)."""
    frames = clip_frames(STREET_CLIP, count)
    out = CalibrationSet(sources=[f"{STREET_CLIP.relative_to(ROOT)}: {len(frames)} frames"])
    for i, frame in enumerate(frames):
        if plate:
            h, w = frame.shape[:2]
            part = frame if i % 2 == 0 else frame[h // 2 :, w // 4 : 3 * w // 4]
            out.tensors.append(platedet_preprocess(part, size)[0].astype(np.float32))
        else:
            out.tensors.append(preprocess(frame, (size, size))[0])
    return out


def calibration_set(name: str, count: int, data: Path | None = None) -> CalibrationSet:
    """Calibration inputs for a ``models.quantize.QUANTISABLE`` model, pre-processed as at run time."""
    if name in ("yolov8n", "platedet"):
        return _street(count, 640, plate=name == "platedet")
    images, sources = _face_images(count, data)
    if name == "centerface":
        return CalibrationSet([_face_canvas(image) for image in images], sources)
    detector = build_centerface(FaceDetectorConfig())
    chips: list[NDArray[np.uint8]] = []
    for image in images:
        faces = detector.detect(image)
        if len(faces):
            chips.extend(align_faces(image, np.asarray(faces.data["landmarks"], np.float32), 112))
    batch = [np.ascontiguousarray(c[None, ..., ::-1].transpose(0, 3, 1, 2), np.float32) for c in chips[: count * 2]]
    logger.info("sface calibration: %d chips from %d images", len(batch), len(images))
    return CalibrationSet(batch, [*sources, f"{len(batch)} aligned face chips"])
