"""The door device's copy of its school's face gallery: templates, identification, versioned deltas.

Identification is one matrix product of the (N, dim) probe embeddings with the (M, dim) template matrix, so a
10,000-template school costs well under a millisecond. The gallery is persisted to a local ``.npz`` after each
applied delta, so the device keeps identifying from its last copy when the backend is unreachable.
Only templates (embeddings) and, for enrolment, one small thumbnail per pupil are stored; never the photos.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kuzet.contracts import GalleryDelta, GalleryTemplate
from models.image import l2_normalise

logger = logging.getLogger(__name__)


class GalleryVersionError(ValueError):
    """A delta does not start at the version the device holds: a full resync (from version 0) is needed."""


@dataclass(frozen=True, slots=True)
class Identification:
    """Best match of each probe.

    Attributes:
        pupil_ids: N pupil ids of the best template, None where below the threshold.
        best_ids: N pupil ids of the best template regardless of the threshold (None for an empty gallery).
        scores: (N,) float32 best cosine similarity (-1 for an empty gallery).
    """

    pupil_ids: list[str | None]
    best_ids: list[str | None]
    scores: NDArray[np.float32]


BLOCK = 512  # templates per block of the product: small enough that OpenBLAS keeps it on one thread


def similarity(probes: NDArray[np.float32], templates: NDArray[np.float32]) -> NDArray[np.float32]:
    """(N, M) cosine similarities of unit (N, dim) probes with unit (M, dim) templates.

    One matrix product, computed in blocks of ``BLOCK`` templates: OpenBLAS runs a product this small on one
    thread, while its multi-threaded path for the whole (N x 10,000) product took 10-20 ms when the device's
    cores are busy (measured here under load) against < 1 ms for the blocks.
    """
    out = np.empty((len(probes), len(templates)), np.float32)
    for start in range(0, len(templates), BLOCK):
        np.matmul(probes, templates[start : start + BLOCK].T, out=out[:, start : start + BLOCK])
    return out


class Gallery:
    """Templates of one school.

    Args:
        templates: (M, dim) float32 embeddings (normalised here).
        pupil_ids: M pupil ids, one per template.
        template_ids: M unique template ids.
        version: gallery version these templates correspond to (0 = never synced).
        model: embedder name the templates were made with.
    """

    def __init__(
        self,
        templates: NDArray[Any],
        pupil_ids: Sequence[str],
        template_ids: Sequence[str],
        version: int = 0,
        model: str = "dlib_resnet_v1",
    ) -> None:
        matrix = np.asarray(templates, np.float32)
        self.templates = l2_normalise(matrix.reshape(len(pupil_ids), matrix.shape[-1] if matrix.ndim else 0))
        self.pupil_ids = np.asarray(list(pupil_ids), dtype=np.str_)
        self.template_ids = np.asarray(list(template_ids), dtype=np.str_)
        if not len(self.pupil_ids) == len(self.template_ids) == len(self.templates):
            raise ValueError("templates, pupil_ids and template_ids must have the same length")
        if len(set(self.template_ids.tolist())) != len(self.template_ids):
            raise ValueError("template ids must be unique")
        self.version = version
        self.model = model
        self.names: dict[str, str] = {}
        self.thumbnails: dict[str, bytes] = {}

    @classmethod
    def empty(cls, dim: int = 128, model: str = "dlib_resnet_v1") -> Gallery:
        """A gallery with no templates (version 0)."""
        return cls(np.zeros((0, dim), np.float32), [], [], 0, model)

    def __len__(self) -> int:
        return len(self.template_ids)

    @property
    def dim(self) -> int:
        """Embedding size."""
        return int(self.templates.shape[1])

    def identify(self, embeddings: NDArray[Any], threshold: float) -> Identification:
        """Best template of each probe, vectorised over the whole gallery.

        Args:
            embeddings: (N, dim) probe embeddings (L2-normalised).
            threshold: cosine similarity at or above which the probe is that pupil.
        """
        probes = np.asarray(embeddings, np.float32).reshape(-1, self.dim)
        if len(self) == 0 or len(probes) == 0:
            return Identification([None] * len(probes), [None] * len(probes), np.full(len(probes), -1.0, np.float32))
        scores = similarity(probes, self.templates)  # (N, M)
        best = np.argmax(scores, axis=1)
        best_scores = scores[np.arange(len(probes)), best].astype(np.float32)
        best_ids: list[str | None] = [str(p) for p in self.pupil_ids[best]]
        accepted = [pid if s >= threshold else None for pid, s in zip(best_ids, best_scores.tolist(), strict=True)]
        return Identification(accepted, best_ids, best_scores)

    def to_delta(self, school_id: str) -> GalleryDelta:
        """The whole gallery as a delta from version 0 (what the backend sends a new device)."""
        added = tuple(
            GalleryTemplate(template_id=str(t), pupil_id=str(p), model=self.model, embedding=tuple(e.tolist()))
            for t, p, e in zip(self.template_ids, self.pupil_ids, self.templates, strict=True)
        )
        return GalleryDelta(school_id=school_id, from_version=0, to_version=self.version, added=added)

    def apply(self, delta: GalleryDelta) -> None:
        """Apply the changes since this gallery's version.

        Raises:
            GalleryVersionError: the delta starts at another version (ask for a full delta from 0).
            ValueError: a template was made by another embedder or has another size.
        """
        if delta.from_version not in (self.version, 0):
            raise GalleryVersionError(f"delta starts at version {delta.from_version}, gallery is at {self.version}")
        keep = np.ones(len(self), bool) if delta.from_version else np.zeros(len(self), bool)
        keep &= ~np.isin(self.template_ids, np.asarray(delta.removed, dtype=np.str_))
        added = [t for t in delta.added if t.template_id not in set(self.template_ids[keep].tolist())]
        for t in added:
            if t.model != self.model or len(t.embedding) != self.dim:
                raise ValueError(
                    f"template {t.template_id}: model {t.model}/{len(t.embedding)}-d, expected {self.model}"
                )
        new = np.asarray([t.embedding for t in added], np.float32).reshape(-1, self.dim)
        self.templates = np.concatenate([self.templates[keep], l2_normalise(new)])
        self.pupil_ids = np.concatenate([self.pupil_ids[keep], np.asarray([t.pupil_id for t in added], np.str_)])
        self.template_ids = np.concatenate(
            [self.template_ids[keep], np.asarray([t.template_id for t in added], np.str_)]
        )
        self.version = delta.to_version
        logger.info("gallery at version %d: %d templates (+%d, -%d)", self.version, len(self), len(new), (~keep).sum())

    def add(self, pupil_id: str, embeddings: NDArray[Any], name: str | None = None) -> list[str]:
        """Enrol templates of one pupil locally (replacing that pupil's old ones); bumps the version."""
        vectors = l2_normalise(np.asarray(embeddings, np.float32).reshape(-1, self.dim))
        keep = self.pupil_ids != pupil_id
        ids = [f"{pupil_id}:{self.version + 1}:{i}" for i in range(len(vectors))]
        self.templates = np.concatenate([self.templates[keep], vectors])
        self.pupil_ids = np.concatenate([self.pupil_ids[keep], np.asarray([pupil_id] * len(vectors), dtype=np.str_)])
        self.template_ids = np.concatenate([self.template_ids[keep], np.asarray(ids, np.str_)])
        self.version += 1
        if name is not None:
            self.names[pupil_id] = name
        return ids

    def save(self, path: Path) -> None:
        """Write atomically (temporary file + rename), so a power cut keeps the previous copy."""
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"version": self.version, "model": self.model, "names": self.names}
        arrays: dict[str, Any] = {
            f"thumb__{pid}": np.frombuffer(data, np.uint8) for pid, data in self.thumbnails.items()
        }
        arrays.update(
            templates=self.templates,
            pupil_ids=self.pupil_ids,
            template_ids=self.template_ids,
            meta=np.asarray(json.dumps(meta)),
        )
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Gallery:
        """Read a gallery written by ``save``."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            gallery = cls(
                data["templates"],
                data["pupil_ids"].tolist(),
                data["template_ids"].tolist(),
                meta["version"],
                meta["model"],
            )
            gallery.names = {str(k): str(v) for k, v in meta.get("names", {}).items()}
            gallery.thumbnails = {k[len("thumb__") :]: data[k].tobytes() for k in data.files if k.startswith("thumb__")}
        return gallery

    @classmethod
    def load_or_empty(cls, path: Path, dim: int = 128) -> Gallery:
        """The saved gallery, or an empty one (logged) when the device has never synced."""
        if path.is_file():
            return cls.load(path)
        logger.warning("no gallery at %s yet: every face will be reported unknown until the first sync", path)
        return cls.empty(dim)
