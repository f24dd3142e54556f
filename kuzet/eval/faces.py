"""``kuzet eval faces``: closed-set identification (rank 1) and verification (TAR at FAR 1e-3) over a folder with one
sub-folder per identity; the first ``enroll`` images of each enrol it, the rest are probes.

Faces go through the same detector, landmarks and embedder as the school pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kuzet.eval.common import Progress
from models.faces.detector import FaceDetector
from models.faces.embedder import Embedder
from models.faces.folders import embed_main_face, far_threshold, identity_folders, list_images
from models.image import l2_normalise


def evaluate_faces(
    root: Path, detector: FaceDetector, embedder: Embedder, enroll: int = 3, progress: Progress | None = None
) -> dict[str, Any]:
    """Closed-set identification and verification over an identity-per-folder tree (see module docstring).

    Raises:
        LayoutError: ``root`` has fewer than two identity sub-folders with images.
    """
    folders = identity_folders(root)
    templates: list[NDArray[np.float32]] = []
    probes: list[tuple[int, NDArray[np.float32] | None]] = []
    unreadable = faces_embedded = enrol_missing = 0
    seconds = 0.0
    for index, folder in enumerate(folders):
        results = [embed_main_face(p, detector, embedder) for p in list_images(folder)]
        unreadable += sum(r.unreadable for r in results)
        faces_embedded += sum(r.faces for r in results)
        seconds += sum(r.seconds for r in results)
        enrolled = [r.vector for r in results[:enroll] if r.vector is not None]
        enrol_missing += enrolled == []
        mean = np.mean(enrolled, axis=0) if enrolled else np.zeros(embedder.dim, np.float32)
        templates.append(l2_normalise(mean))
        probes.extend((index, r.vector) for r in results[enroll:])
        if progress and (index + 1) % 10 == 0:
            progress(f"faces: {index + 1}/{len(folders)} identities")
    gallery = np.stack(templates)
    found = [(i, v) for i, v in probes if v is not None]
    labels = np.array([i for i, _ in found], np.int64)
    scores = np.stack([v for _, v in found]) @ gallery.T if found else np.zeros((0, len(folders)), np.float32)
    genuine = scores[np.arange(len(labels)), labels]
    impostor_mask = np.ones_like(scores, bool)
    impostor_mask[np.arange(len(labels)), labels] = False
    threshold = far_threshold(scores[impostor_mask], 1e-3)
    n_probes = len(probes)
    return {
        "identities": len(folders),
        "probes": n_probes,
        "rank1": float((scores.argmax(1) == labels).sum() / n_probes) if n_probes else 0.0,
        "tar_at_far_1e-3": float((genuine > threshold).sum() / n_probes) if n_probes else 0.0,
        "threshold": threshold,
        "no_face": n_probes - len(found),
        "unreadable": unreadable,
        "identities_without_template": int(enrol_missing),
        "ms_per_face": 1000.0 * seconds / max(faces_embedded, 1),
    }


def run(data: Path, enroll: int = 3, backend: str = "centerface", progress: Progress | None = None) -> dict[str, Any]:
    """``kuzet eval faces``: check the layout first (``LayoutError``), then build the door's models and evaluate."""
    from models.faces.config import FaceDetectorConfig
    from models.faces.detector import build_face_detector
    from models.faces.embedder import build_face_embedder

    identity_folders(data)
    detector = build_face_detector(FaceDetectorConfig.model_validate({"backend": backend}))
    return evaluate_faces(data, detector, build_face_embedder(), enroll=enroll, progress=progress)
