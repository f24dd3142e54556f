"""Calibrate the door's masked-probe threshold: a synthetic mask on every image, scored against bare faces.

``python -m edge.school.masked_calibrate --data ../shared/data/faces/wild_lag_cn --data ../shared/data/faces/orl
--singles ../shared/data/masks/without_mask`` (the folders the bare-face table was measured on) embeds the largest
face of every image bare and with a synthetic mask (``models.faces.synthmask``, seed ``MASK_SEED``; the masked image
is detected again), scores every masked image against every bare image of another identity and prints, as one JSON
line, the per-comparison false-accept table of masked probes (``masked_far_table``: goes into
``edge.school.masked.MASKED_FAR_TABLES`` or ``school.identify.masked.far_table``) and the genuine accept rate at each
row. ``--data`` folders hold one sub-folder per identity, ``--singles`` folders one identity per image.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np
from numpy.typing import NDArray

from edge.school.config import SchoolConfig
from edge.school.masked import MASK_SEED, masked_probe
from models.faces.base import Embedder, FaceDetector
from models.faces.folders import far_threshold, identity_folders, list_images, read_image

logger = logging.getLogger(__name__)

TABLE_FARS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7)


def _embed_pair(
    path: Path, detector: FaceDetector, embedder: Embedder, seed: int
) -> tuple[NDArray[np.float32], NDArray[np.float32]] | None:
    """(bare, masked) embedding of the main face of one image; None without a face before or after masking."""
    image = read_image(path)
    faces = detector.detect(image) if image is not None else None
    if image is None or faces is None or len(faces) == 0:
        return None
    main = faces[int(np.argmax(faces.area))]
    masked, found, _ = masked_probe(image, main, detector, seed, path.name)
    if len(found) == 0:
        return None
    return embedder.embed(image, main)[0], embedder.embed(masked, found)[0]


def calibrate_masked(
    roots: Sequence[Path],
    singles: Sequence[Path],
    detector: FaceDetector,
    embedder: Embedder,
    progress: Callable[[str], None] | None = None,
    seed: int = MASK_SEED,
) -> dict[str, Any]:
    """Masked-probe false-accept table: every masked image against every bare image of another identity.

    Args:
        roots: folders with one sub-folder per identity.
        singles: folders with one identity per image (more strangers).
        detector: the door's face detector.
        embedder: the door's embedder.
        progress: optional progress callback.
        seed: synthetic mask seed.
    """
    items = [(f"{r.name}/{f.name}", p) for r in roots for f in identity_folders(r) for p in list_images(f)]
    items += [(f"{s.name}/{p.stem}", p) for s in singles for p in list_images(s)]
    bare, masked, labels = [], [], []
    for index, (label, path) in enumerate(items):
        pair = _embed_pair(path, detector, embedder, seed)
        if pair is not None:
            bare.append(pair[0])
            masked.append(pair[1])
            labels.append(label)
        if progress and (index + 1) % 200 == 0:
            progress(f"masked calibration: {index + 1}/{len(items)} images")
    names = np.asarray(labels, np.str_)
    scores = np.asarray(masked, np.float32) @ np.asarray(bare, np.float32).T
    impostor = scores[names[:, None] != names[None, :]]
    table = [(far, round(far_threshold(impostor, far), 4)) for far in TABLE_FARS if far * len(impostor) >= 10]
    genuine = scores[(names[:, None] == names[None, :]) & ~np.eye(len(names), dtype=bool)]
    return {
        "data": [str(r) for r in roots],
        "singles": [str(s) for s in singles],
        "seed": seed,
        "images": len(items),
        "faces": len(labels),
        "identities": len(set(labels)),
        "impostor_pairs": int(impostor.size),
        "genuine_pairs": int(genuine.size),
        "masked_far_table": table,
        "genuine_accept_at": {str(far): float((genuine >= t).mean()) if genuine.size else 0.0 for far, t in table},
    }


def main() -> None:
    """Command-line entry: print the masked-probe calibration of the door's models as one JSON line."""
    from models.faces.detector import build_face_detector
    from models.faces.embedder import build_face_embedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, action="append", default=[], help="one sub-folder per identity")
    parser.add_argument("--singles", type=Path, action="append", default=[], help="one identity per image")
    parser.add_argument("--seed", type=int, default=MASK_SEED, help="synthetic mask seed")
    args = parser.parse_args()
    config = SchoolConfig(school_id="calibration")
    detector, embedder = build_face_detector(config.detector), build_face_embedder(config.embedder)
    result = calibrate_masked(args.data, args.singles, detector, embedder, logger.info, args.seed)
    click.echo(json.dumps(result, sort_keys=True))


__all__ = ["TABLE_FARS", "calibrate_masked", "main"]


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
