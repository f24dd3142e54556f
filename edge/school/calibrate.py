"""Calibrate the identification threshold at a stated false-accept rate from a folder of identities.

``python -m edge.school.calibrate --data ../shared/data/faces/wild_lag_cn --far 1e-3`` embeds the largest face of
every image (the door's detector and embedder), scores every impostor pair (different identity folders) and
prints, as one JSON line, the cosine threshold whose impostor accept rate is at most ``far`` and the genuine
accept rate there. The default ``school.identify.threshold`` (0.947 at FAR 1e-3) was set with this.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import click
import numpy as np
from numpy.typing import NDArray

from edge.school.config import SchoolConfig
from edge.school.gallery import similarity
from models.faces.detector import FaceDetector
from models.faces.embedder import Embedder
from models.faces.folders import embed_main_face, far_threshold, identity_folders, list_images

logger = logging.getLogger(__name__)


def pair_scores(
    embeddings: NDArray[np.float32], labels: NDArray[Any]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """(genuine, impostor) cosine scores of all unordered pairs, vectorised."""
    scores = similarity(embeddings, embeddings)
    upper = np.triu_indices(len(embeddings), 1)
    same = (labels[:, None] == labels[None, :])[upper]
    values = scores[upper]
    return values[same], values[~same]


def calibrate(root: Path, far: float, detector: FaceDetector, embedder: Embedder) -> dict[str, Any]:
    """Threshold at ``far`` and the genuine accept rate there, over the identity folders of ``root``."""
    vectors, labels, no_face = [], [], 0
    for folder in identity_folders(root):
        for path in list_images(folder):
            found = embed_main_face(path, detector, embedder)
            if found.vector is None:
                no_face += 1
                continue
            vectors.append(found.vector)
            labels.append(folder.name)
    genuine, impostor = pair_scores(np.asarray(vectors, np.float32), np.asarray(labels))
    threshold = far_threshold(impostor, far)
    return {
        "data": str(root),
        "far": far,
        "threshold": threshold,
        "tar": float((genuine > threshold).mean()) if len(genuine) else 0.0,
        "faces": len(vectors),
        "no_face": no_face,
        "identities": len(set(labels)),
        "impostor_pairs": len(impostor),
        "genuine_pairs": len(genuine),
    }


def main() -> None:
    """Command-line entry: print the calibration as one JSON line."""
    from models.faces.detector import build_face_detector
    from models.faces.embedder import build_face_embedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, required=True, help="one sub-folder of images per identity")
    parser.add_argument("--far", type=float, default=1e-3, help="false-accept rate per comparison")
    args = parser.parse_args()
    config = SchoolConfig(school_id="calibration")
    result = calibrate(args.data, args.far, build_face_detector(config.detector), build_face_embedder(config.embedder))
    click.echo(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
