"""Calibrate the door's identification threshold: per comparison, and per pass at gallery scale (open set).

``kuzet calibrate-faces --data ../shared/data/faces/wild_lag_cn --data ../shared/data/faces/orl --singles
../shared/data/masks/without_mask`` embeds the largest face of every image with the door's detector and embedder,
then reports as JSON:

- the per-comparison false-accept table (``far_table``: cosine threshold at FAR 1e-2 ... as far as the impostor
  pairs resolve it), which goes into ``school.embedder.far_table`` for a local re-calibration;
- for each gallery size (100 / 1,000 / 5,000 by default), the threshold whose false-accept rate PER PASS (a stranger
  against the whole gallery, best score) is at most ``--pass-far`` (``models.faces.openset``), and at it: the
  independence bound of the per-pass rate, and where enough identities exist, the rate MEASURED on simulated
  galleries of impostor identities (one template per identity: its first face; the door fuses a pupil's templates
  into one mean score, so the gallery size counts pupils) with the
  faces of the identities left out as strangers, per frame and per pass after the door's multi-frame vote, plus
  the share of enrolled identities' other faces identified (right pupil, at or above the threshold) and wrong.

``--data`` folders hold one sub-folder per identity; ``--singles`` folders hold one identity per image (more
strangers for larger galleries). A gallery size larger than the identities available minus ``MIN_STRANGERS`` is
reported with the bound only (``measured: null``), never with templates drawn twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edge.school.gallery import similarity
from edge.school.vote import vote
from models.faces.detector import FaceDetector
from models.faces.embedder import Embedder
from models.faces.folders import embed_main_face, far_threshold, identity_folders, list_images
from models.faces.openset import pass_far_bound, pass_threshold

logger = logging.getLogger(__name__)

TABLE_FARS = (1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6, 3e-7, 1e-7)
MIN_STRANGERS = 20  # identities kept out of a simulated gallery as strangers
PASS_FRAMES = 3  # faces of one stranger that make one simulated pass (the door's best_frames)


@dataclass(frozen=True)
class FaceSet:
    """Embeddings of the main face of every image, with the identity of each (folder or single image)."""

    vectors: NDArray[np.float32]
    labels: NDArray[np.str_]
    no_face: int


def collect_faces(
    roots: Sequence[Path],
    singles: Sequence[Path],
    detector: FaceDetector,
    embedder: Embedder,
    progress: Callable[[str], None] | None = None,
) -> FaceSet:
    """Embed the main face of every image: identity folders under ``roots``, one identity per image in ``singles``."""
    items = [(f"{r.name}/{f.name}", p) for r in roots for f in identity_folders(r) for p in list_images(f)]
    items += [(f"{s.name}/{p.stem}", p) for s in singles for p in list_images(s)]
    vectors, labels, no_face = [], [], 0
    for index, (label, path) in enumerate(items):
        found = embed_main_face(path, detector, embedder)
        if found.vector is None:
            no_face += 1
        else:
            vectors.append(found.vector)
            labels.append(label)
        if progress and (index + 1) % 200 == 0:
            progress(f"calibrate: {index + 1}/{len(items)} images")
    matrix = np.asarray(vectors, np.float32).reshape(len(vectors), embedder.dim)
    return FaceSet(matrix, np.asarray(labels, np.str_), no_face)


def save_faces(faces: FaceSet, model: str, path: Path) -> None:
    """Keep the embedded set (vectors, identity labels, model tag) so a re-run skips the embedding."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, vectors=faces.vectors, labels=faces.labels, no_face=faces.no_face, model=np.asarray(model))


def load_faces(path: Path, model: str) -> FaceSet:
    """An embedded set written by ``save_faces``; ValueError when another embedder made it."""
    with np.load(path, allow_pickle=False) as data:
        if str(data["model"]) != model:
            raise ValueError(f"{path} holds {data['model']} embeddings, the embedder is {model}")
        return FaceSet(data["vectors"].astype(np.float32), data["labels"].astype(np.str_), int(data["no_face"]))


def select_faces(faces: FaceSet, exclude: Sequence[str] = (), merge_above: float | None = None) -> FaceSet:
    """Drop faces whose label matches an ``exclude`` glob (documented copies, e.g. ``*/augmented_image_*``) and
    merge identities holding a pair scored at or above ``merge_above`` (the same person filed twice: a face set's
    duplicates would otherwise count as impostors); merged labels join with ``+``, counted in the report."""
    from fnmatch import fnmatch

    keep = np.asarray([not any(fnmatch(str(label), pattern) for pattern in exclude) for label in faces.labels], bool)
    vectors, labels = faces.vectors[keep], faces.labels[keep].astype(object)
    if merge_above is not None and len(labels):
        scores = similarity(vectors, vectors)
        names = sorted(set(labels.tolist()))
        parent = {name: name for name in names}

        def root(name: str) -> str:
            while parent[name] != name:
                name = parent[name]
            return name

        for i, j in zip(*np.nonzero(np.triu(scores >= merge_above, 1)), strict=True):
            a, b = root(labels[i]), root(labels[j])
            if a != b:
                parent[max(a, b)] = min(a, b)
        groups: dict[str, list[str]] = {}
        for name in names:
            groups.setdefault(root(name), []).append(name)
        joined = {name: "+".join(group) for group in groups.values() for name in group}
        labels = np.asarray([joined[name] for name in labels.tolist()], object)
    return FaceSet(vectors, np.asarray(labels.tolist(), np.str_), faces.no_face)


def pair_scores(
    embeddings: NDArray[np.float32], labels: NDArray[Any]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """(genuine, impostor) cosine scores of all unordered pairs, vectorised."""
    scores = similarity(embeddings, embeddings)
    upper = np.triu_indices(len(embeddings), 1)
    same = (labels[:, None] == labels[None, :])[upper]
    values = scores[upper]
    return values[same], values[~same]


def far_table(impostor: NDArray[np.float32], fars: Sequence[float] = TABLE_FARS) -> list[tuple[float, float]]:
    """(far, threshold) at each rate the impostor pairs resolve (at least ten impostors above the threshold)."""
    return [(far, round(far_threshold(impostor, far), 4)) for far in fars if far * len(impostor) >= 10]


def _templates(faces: FaceSet, identities: NDArray[np.str_], enroll: int) -> NDArray[np.float32]:
    """(K, dim) per identity: the mean of its first ``enroll`` unit vectors, not re-normalised, so a dot product is
    the mean cosine to those faces, as the door fuses a pupil's templates (``Gallery.identify``)."""
    return np.stack([faces.vectors[faces.labels == i][:enroll].mean(0) for i in identities]).astype(np.float32)


def simulate_gallery(
    faces: FaceSet, size: int, threshold: float, enroll: int, draws: int, rng: np.random.Generator
) -> dict[str, Any] | None:
    """Per-frame and per-pass (vote over ``PASS_FRAMES`` faces) stranger accept rate on random galleries of ``size``
    identities, and the identified / wrong share of the enrolled identities' later faces; None when too few."""
    identities = np.unique(faces.labels)
    if size > len(identities) - MIN_STRANGERS:
        return None
    frames = passes = frame_fa = pass_fa = genuine = right = wrong = 0
    for _ in range(draws):
        chosen = rng.permutation(identities)[:size]
        templates = _templates(faces, chosen, enroll)
        enrolled = np.isin(faces.labels, chosen)
        scores = similarity(faces.vectors[~enrolled], templates)
        best = scores.max(1)
        frames += len(best)
        frame_fa += int((best >= threshold).sum())
        strangers = faces.labels[~enrolled]
        for name in np.unique(strangers):
            rows = np.flatnonzero(strangers == name)
            for start in range(0, len(rows) - PASS_FRAMES + 1, PASS_FRAMES):
                group = rows[start : start + PASS_FRAMES]
                winners = zip(scores[group].argmax(1).tolist(), best[group].tolist(), strict=True)
                ids = [str(chosen[j]) if s >= threshold else None for j, s in winners]
                passes += 1
                pass_fa += vote(ids, best[group], 1, 0.5)[0] is not None
        for k, name in enumerate(chosen.tolist()):  # later faces of enrolled identities: found, and by whom
            later = faces.vectors[faces.labels == name][enroll:]
            if len(later) == 0:
                continue
            s = similarity(later, templates)
            accepted = s.max(1) >= threshold
            genuine += len(later)
            right += int((accepted & (s.argmax(1) == k)).sum())
            wrong += int((accepted & (s.argmax(1) != k)).sum())
    return {
        "draws": draws,
        "stranger_faces": frames,
        "frame_far": frame_fa / max(frames, 1),
        "stranger_passes": passes,
        "pass_far_after_vote": pass_fa / max(passes, 1),
        "genuine_faces": genuine,
        "identified": right / max(genuine, 1),
        "wrong_identity": wrong / max(genuine, 1),
    }


def per_probe_pass_far(faces: FaceSet, threshold: float, size: int, enroll: int = 1) -> float:
    """Per-pass false-accept rate of a gallery of ``size`` templates drawn from the face set's impostor population,
    computed per probe and averaged: ``mean_i 1 - (1 - p_i) ** size`` with ``p_i`` the share of the other
    identities' templates that probe ``i`` reaches. Unlike the independence bound it keeps each probe's own
    resemblance to many faces (hubness); it needs no ``size`` distinct identities, only the templates' spread."""
    identities = np.unique(faces.labels)
    templates = _templates(faces, identities, enroll)
    hits = similarity(faces.vectors, templates) >= threshold
    own = faces.labels[:, None] == identities[None, :]
    others = np.maximum((~own).sum(1), 1)
    share = (hits & ~own).sum(1) / others
    return float(np.mean(1.0 - (1.0 - share) ** size))


def open_set_report(
    faces: FaceSet,
    table: Sequence[tuple[float, float]],
    impostor: NDArray[np.float32],
    pass_far: float,
    sizes: Sequence[int],
    enroll: int = 1,
    draws: int = 5,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Per gallery size: the per-pass threshold, its independence bound and the simulated galleries' rates."""
    rng = np.random.default_rng(seed)
    ordered = np.sort(impostor)
    rows = []
    for size in sizes:
        threshold = pass_threshold(table, pass_far, size)
        comparison = float(1.0 - np.searchsorted(ordered, threshold, side="left") / max(len(ordered), 1))
        rows.append(
            {
                "gallery_size": size,
                "threshold": round(threshold, 4),
                "comparison_far_measured": comparison,
                "pass_far_bound": pass_far_bound(comparison, size),
                "pass_far_per_probe": per_probe_pass_far(faces, threshold, size, enroll),
                "measured": simulate_gallery(faces, size, threshold, enroll, draws, rng),
            }
        )
    return rows


def calibrate(
    faces: FaceSet, far: float = 1e-3, pass_far: float = 1e-3, sizes: Sequence[int] = (100, 1000, 5000)
) -> dict[str, Any]:
    """The whole calibration report of one embedded face set (see the module docstring)."""
    genuine, impostor = pair_scores(faces.vectors, faces.labels)
    table = far_table(impostor)
    threshold = far_threshold(impostor, far)
    return {
        "faces": len(faces.labels),
        "merged_identities": int(sum("+" in label for label in np.unique(faces.labels))),
        "no_face": faces.no_face,
        "identities": len(np.unique(faces.labels)),
        "impostor_pairs": len(impostor),
        "genuine_pairs": len(genuine),
        "far": far,
        "threshold": threshold,
        "tar": float((genuine > threshold).mean()) if len(genuine) else 0.0,
        "far_table": table,
        "pass_far": pass_far,
        "open_set": open_set_report(faces, table, impostor, pass_far, sizes) if len(table) >= 2 else [],
    }


__all__ = [
    "FaceSet",
    "calibrate",
    "collect_faces",
    "far_table",
    "load_faces",
    "open_set_report",
    "pair_scores",
    "per_probe_pass_far",
    "save_faces",
    "select_faces",
    "simulate_gallery",
]
