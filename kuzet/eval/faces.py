"""``kuzet eval faces``: closed-set identification (rank 1) and verification (TAR at FAR 1e-3) over a folder with one
sub-folder per identity; the first ``enroll`` images of each enrol it, the rest are probes.

Faces go through the door's own models and settings (``SchoolConfig`` defaults): its detector with its input size,
its embedder, its mask classifier, and its operating thresholds: ``identified_share`` / ``wrong_identities`` are the
probes the door would accept as the right / a wrong pupil (bare-face threshold, or the masked-probe threshold when
the classifier says mask; ``edge.school.masked``). ``differs_from_door`` lists what still differs from a door pass.

With ``masking`` (``--masked-probes``) enrolment images stay as they are and a synthetic mask is pasted on every
probe from its landmarks (``models.faces.synthmask``); the masked image is detected again, as the door would see it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.school.masked import masked_probe
from kuzet.eval.common import Progress
from models.detections import Detections
from models.faces.base import Embedder, FaceDetector, MaskClassifier
from models.faces.folders import (
    FaceEmbedding,
    embed_main_face,
    far_threshold,
    identity_folders,
    list_images,
    read_image,
)

PASS_DIFFERENCES = ("one image per probe: no tracker, no best-frame selection and no multi-frame vote",)


@dataclass(frozen=True, slots=True)
class DoorDecision:
    """The door's operating thresholds and mask classifier, as its configuration builds them."""

    threshold: float
    masked_threshold: float
    mask: MaskClassifier | None


@dataclass(frozen=True, slots=True)
class Masking:
    """Paste a synthetic mask on every probe (seeded), optionally writing the masked probes to ``save_dir``."""

    seed: int = 0
    save_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class Probe:
    """One probe image: its embedding (None = no face), whether a mask was pasted, and the classifier's verdict."""

    vector: NDArray[np.float32] | None
    masked: bool
    verdict: str


def mask_verdict(classifier: MaskClassifier | None, image: NDArray[np.uint8], face: Detections) -> str:
    """``mask`` / ``no_mask`` / ``unknown`` for one face (one row), as the door's classifier answers."""
    if classifier is None or len(face) == 0 or not bool(classifier.judgeable(image, face)[0]):
        return "unknown"
    limit = float(classifier.thresholds(image, face)[0])  # a grey (IR) face may have its own, as at the door
    return "mask" if float(classifier.predict(image, face)[0]) >= limit else "no_mask"


def _probe(
    path: Path, folder: str, models: tuple[FaceDetector, Embedder], door: DoorDecision, masking: Masking | None
) -> tuple[FaceEmbedding, Probe]:
    """Detect, (paste a mask and detect again,) embed and classify one probe image; the time counts the detection
    and embedding of the image the door would see."""
    detector, embedder = models
    image = read_image(path)
    if image is None:
        return FaceEmbedding(None, True, 0, 0.0), Probe(None, False, "unknown")
    start = time.perf_counter()
    faces = detector.detect(image)
    if len(faces) == 0:
        return FaceEmbedding(None, False, 0, time.perf_counter() - start), Probe(None, False, "unknown")
    main = faces[int(np.argmax(faces.area))]
    if masking is not None:
        start = time.perf_counter()  # time the masked image's detection (with the paste), not the bare one's
        image, main, _ = masked_probe(image, faces, detector, masking.seed, f"{folder}/{path.name}")
    vector = embedder.embed(image, main)[0] if len(main) else None
    seconds = time.perf_counter() - start
    if masking is not None and masking.save_dir is not None:
        target = masking.save_dir / folder / f"{path.stem}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(target), image)
    verdict = mask_verdict(door.mask, image, main)
    return FaceEmbedding(vector, False, int(vector is not None), seconds), Probe(vector, masking is not None, verdict)


def _door_decisions(
    scores: NDArray[np.float32], labels: NDArray[np.int64], verdicts: list[str], door: DoorDecision
) -> dict[str, Any]:
    """Identified (right pupil at or above the door's threshold) and wrong accepts, per probe with a face."""
    if len(labels) == 0:
        return {"right": 0, "wrong": 0, "masked_path": 0}
    masked_path = np.asarray([v == "mask" for v in verdicts], bool)
    threshold = np.where(masked_path, door.masked_threshold, door.threshold)
    best, best_score = scores.argmax(1), scores.max(1)
    accepted = best_score >= threshold
    return {
        "right": int((accepted & (best == labels)).sum()),
        "wrong": int((accepted & (best != labels)).sum()),
        "masked_path": int(masked_path.sum()),
    }


def evaluate_faces(
    root: Path,
    models: tuple[FaceDetector, Embedder],
    door: DoorDecision,
    enroll: int = 3,
    masking: Masking | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Closed-set identification and verification, and the door's decisions (see module docstring).

    Raises:
        LayoutError: ``root`` has fewer than two identity sub-folders with images.
    """
    detector, embedder = models
    folders = identity_folders(root)
    templates: list[NDArray[np.float32]] = []
    probes: list[tuple[int, Probe]] = []
    results: list[FaceEmbedding] = []
    enrol_missing = 0
    for index, folder in enumerate(folders):
        images = list_images(folder)
        enrolled = [embed_main_face(p, detector, embedder) for p in images[:enroll]]
        tested = [_probe(p, folder.name, models, door, masking) for p in images[enroll:]]
        results += enrolled + [t[0] for t in tested]
        vectors = [r.vector for r in enrolled if r.vector is not None]
        enrol_missing += vectors == []
        # not re-normalised: probe @ mean = the mean cosine to the enrolment photos, the door's per-pupil fusion
        templates.append(np.mean(vectors, axis=0) if vectors else np.zeros(embedder.dim, np.float32))
        probes.extend((index, t[1]) for t in tested)
        if progress and (index + 1) % 10 == 0:
            progress(f"faces: {index + 1}/{len(folders)} identities")
    found = [(i, p.vector, p.verdict) for i, p in probes if p.vector is not None]
    labels = np.array([i for i, _, _ in found], np.int64)
    gallery = np.stack(templates)
    scores = np.stack([v for _, v, _ in found]) @ gallery.T if found else np.zeros((0, len(folders)), np.float32)
    result = _summary(scores, labels, len(probes), door, [v for _, _, v in found])
    result.update(
        identities=len(folders),
        unreadable=sum(r.unreadable for r in results),
        identities_without_template=int(enrol_missing),
        ms_per_face=1000.0 * sum(r.seconds for r in results) / max(sum(r.faces for r in results), 1),
    )
    if masking is not None:
        result.update(masked=sum(p.masked for _, p in probes), mask_seed=masking.seed)
    return result


def _summary(
    scores: NDArray[np.float32], labels: NDArray[np.int64], n_probes: int, door: DoorDecision, verdicts: list[str]
) -> dict[str, Any]:
    """Rank-1, TAR at FAR 1e-3 (this folder's impostors) and the door's decisions over ``n_probes`` probes."""
    genuine = scores[np.arange(len(labels)), labels]
    impostor_mask = np.ones_like(scores, bool)
    impostor_mask[np.arange(len(labels)), labels] = False
    threshold = far_threshold(scores[impostor_mask], 1e-3)
    decided = _door_decisions(scores, labels, verdicts, door)

    def share(count: int) -> float:
        return float(count / n_probes) if n_probes else 0.0

    return {
        "probes": n_probes,
        "rank1": share(int((scores.argmax(1) == labels).sum()) if len(labels) else 0),
        "tar_at_far_1e-3": share(int((genuine > threshold).sum())),
        "threshold": threshold,
        "no_face": n_probes - len(labels),
        "door_threshold": door.threshold,
        "door_masked_threshold": door.masked_threshold,
        "identified_share": share(decided["right"]),
        "wrong_identities": decided["wrong"],
        "masked_path": decided["masked_path"],
    }


def door_decision(config: Any, mask: MaskClassifier | None) -> DoorDecision:
    """The operating thresholds of a door with this ``SchoolConfig`` (bare and masked) and its classifier."""
    from edge.school.masked import masked_threshold
    from models.faces.embedder import embedder_model

    ident = config.identify
    masked = masked_threshold(
        ident.masked, embedder_model(config.embedder), ident.pass_far, ident.gallery_size, ident.threshold
    )
    return DoorDecision(threshold=ident.threshold, masked_threshold=masked, mask=mask)


def run(
    data: Path,
    enroll: int = 3,
    backend: str | None = None,
    progress: Progress | None = None,
    masking: Masking | None = None,
) -> dict[str, Any]:
    """``kuzet eval faces``: check the layout first (``LayoutError``), then build the door's models and evaluate."""
    from edge.school.config import SchoolConfig
    from models.faces.detector import build_face_detector
    from models.faces.embedder import build_face_embedder
    from models.faces.mask import build_mask_classifier

    identity_folders(data)
    config = SchoolConfig(school_id="eval")
    differs = list(PASS_DIFFERENCES)
    detector_config = config.detector
    if backend is not None and backend != detector_config.backend:
        detector_config = detector_config.model_copy(update={"backend": backend})
        differs.append(f"detector backend {backend} (the door runs {config.detector.backend})")
    models = (build_face_detector(detector_config), build_face_embedder(config.embedder))
    door = door_decision(config, build_mask_classifier(config.mask))
    result = evaluate_faces(data, models, door, enroll, masking, progress)
    result.update(
        detector=detector_config.backend,
        detector_input_px=detector_config.input_max_side,
        embedder=config.embedder.backend,
        differs_from_door=differs,
    )
    return result
