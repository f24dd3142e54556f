"""Calibrate the door's masked-probe threshold: a synthetic mask on every image, scored against bare faces.

``python -m edge.school.masked_calibrate --data ../shared/data/faces/wild_lag_cn --data ../shared/data/faces/orl
--singles ../shared/data/masks/without_mask`` (the folders the bare-face table was measured on) embeds the largest
face of every image bare and with a synthetic mask (``models.faces.synthmask``, seed ``MASK_SEED``; the masked image
is detected again), scores every masked image against every bare image of another identity and prints, as one JSON
line, the per-comparison false-accept table of masked probes against bare faces (``masked_far_table``), the table
of bare pairs of the same faces (``bare_far_table``), their difference (``offsets``: goes into
``edge.school.masked.MASKED_OFFSETS`` or ``school.identify.masked.offsets``), the genuine accept rate of masked
probes at each row, and the bare and masked per-pass thresholds for each gallery size. ``--data`` folders hold one
sub-folder per identity, ``--singles`` folders one identity per image; ``--exclude`` and ``--merge-above`` select
faces exactly as ``kuzet calibrate-faces`` does (``edge.school.calibrate.select_faces``), and ``--cache`` keeps the
embeddings.
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

from edge.school.calibrate import FaceSet, select_faces
from edge.school.config import SchoolConfig
from edge.school.masked import MASK_SEED, masked_probe, offset_at
from models.faces.base import Embedder, FaceDetector
from models.faces.folders import far_threshold, identity_folders, list_images, read_image
from models.faces.openset import comparison_far, pass_threshold

logger = logging.getLogger(__name__)

TABLE_FARS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7)


def _embed_pair(
    path: Path, detector: FaceDetector, embedder: Embedder, seed: int, key: str
) -> tuple[NDArray[np.float32], NDArray[np.float32]] | None:
    """(bare, masked) embedding of the main face of one image; None without a face before or after masking."""
    image = read_image(path)
    faces = detector.detect(image) if image is not None else None
    if image is None or faces is None or len(faces) == 0:
        return None
    main = faces[int(np.argmax(faces.area))]
    masked, found, _ = masked_probe(image, main, detector, seed, key)
    if len(found) == 0:
        return None
    return embedder.embed(image, main)[0], embedder.embed(masked, found)[0]


def collect_pairs(
    roots: Sequence[Path],
    singles: Sequence[Path],
    models: tuple[FaceDetector, Embedder],
    progress: Callable[[str], None] | None = None,
    seed: int = MASK_SEED,
) -> tuple[FaceSet, FaceSet]:
    """(bare, masked) face sets with the same rows: every image whose face is found bare and again once masked.

    Labels are ``FOLDER/IDENTITY`` (``--data``) or ``FOLDER/STEM`` (``--singles``), as in ``calibrate.collect_faces``.
    """
    detector, embedder = models
    items = [(f"{r.name}/{f.name}", f.name, p) for r in roots for f in identity_folders(r) for p in list_images(f)]
    items += [(f"{s.name}/{p.stem}", s.name, p) for s in singles for p in list_images(s)]
    bare, masked, labels, missing = [], [], [], 0
    for index, (label, folder, path) in enumerate(items):
        pair = _embed_pair(path, detector, embedder, seed, f"{folder}/{path.name}")
        if pair is None:
            missing += 1
        else:
            bare.append(pair[0])
            masked.append(pair[1])
            labels.append(label)
        if progress and (index + 1) % 200 == 0:
            progress(f"masked calibration: {index + 1}/{len(items)} images")
    names = np.asarray(labels, np.str_)
    shape = (len(labels), embedder.dim)
    return (
        FaceSet(np.asarray(bare, np.float32).reshape(shape), names, missing),
        FaceSet(np.asarray(masked, np.float32).reshape(shape), names, missing),
    )


def masked_report(
    bare: FaceSet, masked: FaceSet, pass_far: float, sizes: Sequence[int], select: tuple[Sequence[str], float | None]
) -> dict[str, Any]:
    """Impostor tails of masked-vs-bare and of bare-vs-bare pairs of the same faces, their difference per
    false-accept rate (``offsets``: what ``edge.school.masked.MASKED_OFFSETS`` holds), genuine accept rates, and the
    masked threshold per gallery size on this run's own bare table; ``select`` = (exclude globs, merge_above)."""
    chosen = select_faces(bare, *select)  # merges are decided on bare faces, the rows are the same in both sets
    rows = select_faces(masked, select[0], None)
    names = chosen.labels
    same = names[:, None] == names[None, :]
    upper = np.triu(np.ones_like(same), 1)
    bare_scores, masked_scores = chosen.vectors @ chosen.vectors.T, rows.vectors @ chosen.vectors.T
    impostor, bare_impostor = masked_scores[~same], bare_scores[~same & upper]
    genuine = masked_scores[same & ~np.eye(len(names), dtype=bool)]
    fars = [far for far in TABLE_FARS if far * len(bare_impostor) >= 10]
    table = [(far, round(far_threshold(impostor, far), 4)) for far in fars]
    bare_table = [(far, round(far_threshold(bare_impostor, far), 4)) for far in fars]
    offsets = tuple((far, round(m - b, 4)) for (far, m), (_, b) in zip(table, bare_table, strict=True))
    by_size = {}
    for n in sizes if len(fars) >= 2 else ():
        threshold = pass_threshold(bare_table, pass_far, n)
        by_size[str(n)] = {
            "bare": round(threshold, 4),
            "masked": round(threshold + offset_at(offsets, comparison_far(pass_far, n)), 4),
        }
    return {
        "faces": len(names),
        "identities": len(set(names.tolist())),
        "no_face_bare_or_masked": bare.no_face,
        "impostor_pairs": int(impostor.size),
        "bare_impostor_pairs": int(bare_impostor.size),
        "genuine_pairs": int(genuine.size),
        "masked_far_table": table,
        "bare_far_table": bare_table,
        "offsets": offsets,
        "genuine_accept_at": {str(far): float((genuine >= t).mean()) if genuine.size else 0.0 for far, t in table},
        "pass_far": pass_far,
        "thresholds_by_gallery_size": by_size,
    }


def _load_or_collect(args: argparse.Namespace, seed: int) -> tuple[FaceSet, FaceSet]:
    """The embedded pairs from ``--cache`` when present, else embedded now (and cached when asked)."""
    from models.faces.detector import build_face_detector
    from models.faces.embedder import build_face_embedder

    cache: Path | None = args.cache
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as data:
            names = data["labels"].astype(np.str_)
            missing = int(data["no_face"])
            return FaceSet(data["bare"], names, missing), FaceSet(data["masked"], names, missing)
    config = SchoolConfig(school_id="calibration")
    models = (build_face_detector(config.detector), build_face_embedder(config.embedder))
    bare, masked = collect_pairs(args.data, args.singles, models, logger.info, seed)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, bare=bare.vectors, masked=masked.vectors, labels=bare.labels, no_face=bare.no_face)
    return bare, masked


def main() -> None:
    """Command-line entry: print the masked-probe calibration of the door's models as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, action="append", default=[], help="one sub-folder per identity")
    parser.add_argument("--singles", type=Path, action="append", default=[], help="one identity per image")
    parser.add_argument("--exclude", action="append", default=[], help="glob of FOLDER/IDENTITY labels to leave out")
    parser.add_argument("--merge-above", type=float, default=None, help="merge identities with a bare pair this high")
    parser.add_argument("--pass-far", type=float, default=1e-3, help="target false-accept rate per pass")
    parser.add_argument("--sizes", default="100,1000,5000", help="gallery sizes to report")
    parser.add_argument("--seed", type=int, default=MASK_SEED, help="synthetic mask seed")
    parser.add_argument("--cache", type=Path, default=None, help="embeddings file reused when present")
    args = parser.parse_args()
    bare, masked = _load_or_collect(args, args.seed)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    report = masked_report(bare, masked, args.pass_far, sizes, (args.exclude, args.merge_above))
    settings = {"data": [str(d) for d in args.data], "singles": [str(s) for s in args.singles], "seed": args.seed}
    click.echo(json.dumps({**settings, "exclude": args.exclude, "merge_above": args.merge_above, **report}))


__all__ = ["TABLE_FARS", "collect_pairs", "main", "masked_report"]


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
