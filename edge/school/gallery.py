"""The door device's copy of its school's face gallery: templates, identification, versioned deltas.

Identification is one matrix product of the (N, dim) probe embeddings with the (M, dim) template matrix, then the
mean of each pupil's template scores, so a 10,000-template school costs about a millisecond. The gallery is persisted
to a local file after each applied delta, so the device keeps identifying from its last copy when the backend is
unreachable.
Only templates (embeddings), names and, when the school turns them on, one small thumbnail per pupil are stored;
never the photos.

At rest the file is encrypted with the device's gallery key (AES-256-GCM, a fresh 96-bit nonce per save, the
file's magic as associated data): ``GalleryFile`` keeps the gallery and its key file (32 random bytes, created
with mode 0600 on the first save, refused when others can read it). A missing or wrong key is a ``GalleryKeyError``
saying what to do; an older unencrypted ``.npz`` is read once and re-written encrypted.

Every template is tagged with the embedder that made it (``Gallery.model``); a gallery never mixes tags. A door
whose gallery was made by another embedder than the one it runs (dlib templates, SFace door) does not use them:
``GalleryFile.load`` logs it and starts from an empty gallery at version 0, so the next sync fetches the whole
gallery in the door's model (the backend re-embeds, see ``backend.services.enrolment``).
"""

from __future__ import annotations

import io
import json
import logging
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edge.school.config import SchoolConfig
from kuzet.contracts import GalleryDelta, GalleryTemplate
from models.faces.sface import SFACE_MODEL
from models.image import l2_normalise

logger = logging.getLogger(__name__)

MAGIC = b"KZGAL1\n"  # file header of an encrypted gallery; also the AES-GCM associated data
KEY_BYTES = 32
NONCE_BYTES = 12


class GalleryKeyError(RuntimeError):
    """The gallery key file is missing, unsafe or does not open the gallery."""


class GalleryVersionError(ValueError):
    """A delta does not start at the version the device holds: a full resync (from version 0) is needed."""


@dataclass(frozen=True, slots=True)
class Identification:
    """Best match of each probe.

    Attributes:
        pupil_ids: N ids of the best pupil, None where below the threshold.
        best_ids: N ids of the best pupil regardless of the threshold (None for an empty gallery).
        scores: (N,) float32 best pupil's score: the mean cosine to its templates (-1 for an empty gallery).
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
        model: str = SFACE_MODEL,
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
        self._groups_of: NDArray[np.str_] | None = None
        self._groups: tuple[NDArray[np.intp], NDArray[np.str_], NDArray[np.float64]] = (
            np.zeros(0, np.intp), np.zeros(0, np.str_), np.zeros(0, np.float64),
        )  # fmt: skip

    @classmethod
    def empty(cls, dim: int = 128, model: str = SFACE_MODEL) -> Gallery:
        """A gallery with no templates (version 0)."""
        return cls(np.zeros((0, dim), np.float32), [], [], 0, model)

    def __len__(self) -> int:
        return len(self.template_ids)

    @property
    def dim(self) -> int:
        """Embedding size."""
        return int(self.templates.shape[1])

    def identify(self, embeddings: NDArray[Any], threshold: float) -> Identification:
        """Best pupil of each probe, vectorised over the whole gallery.

        A pupil's score is the MEAN of the cosines to its templates (score-level fusion). Over ``wild_lag_cn`` with
        three enrolment photos per identity it ranks the right identity first for 0.691 of the probes, where the
        best single template gives 0.633 and the cosine to the re-normalised mean template 0.676: a pupil with
        varied photos has a short mean vector, and re-normalising it inflates its scores against everybody. One
        fused score per pupil also makes the open-set comparison count the number of pupils.

        Args:
            embeddings: (N, dim) probe embeddings (L2-normalised).
            threshold: fused cosine similarity at or above which the probe is that pupil.
        """
        probes = np.asarray(embeddings, np.float32).reshape(-1, self.dim)
        if len(self) == 0 or len(probes) == 0:
            return Identification([None] * len(probes), [None] * len(probes), np.full(len(probes), -1.0, np.float32))
        inverse, pupils, counts = self._pupil_groups()
        scores = similarity(probes, self.templates)  # (N, M)
        sums = [np.bincount(inverse, weights=row, minlength=len(pupils)) for row in scores]  # one C pass per probe
        fused = np.stack(sums) / counts  # (N, P): mean per pupil
        best = np.argmax(fused, axis=1)
        best_scores = fused[np.arange(len(probes)), best].astype(np.float32)
        best_ids: list[str | None] = [str(p) for p in pupils[best]]
        accepted = [pid if s >= threshold else None for pid, s in zip(best_ids, best_scores.tolist(), strict=True)]
        return Identification(accepted, best_ids, best_scores)

    def _pupil_groups(self) -> tuple[NDArray[np.intp], NDArray[np.str_], NDArray[np.float64]]:
        """(inverse, pupils, counts): each template's pupil index, the pupil ids and their template counts; cached
        until the templates change (``pupil_ids`` is replaced on every change)."""
        if self._groups_of is not self.pupil_ids:
            pupils, inverse, counts = np.unique(self.pupil_ids, return_inverse=True, return_counts=True)
            self._groups = (inverse.reshape(-1), pupils, counts.astype(np.float64))
            self._groups_of = self.pupil_ids
        return self._groups

    def to_delta(self, school_id: str) -> GalleryDelta:
        """The whole gallery as a delta from version 0 (what the backend sends a new device)."""
        added = tuple(
            GalleryTemplate(template_id=str(t), pupil_id=str(p), model=self.model, embedding=tuple(e.tolist()))
            for t, p, e in zip(self.template_ids, self.pupil_ids, self.templates, strict=True)
        )
        return GalleryDelta(school_id=school_id, from_version=0, to_version=self.version, added=added)

    def apply(self, delta: GalleryDelta) -> None:
        """Apply the changes since this gallery's version.

        Templates made by another embedder than this gallery's are skipped (and logged), never compared.

        Raises:
            GalleryVersionError: the delta starts at another version (ask for a full delta from 0).
            ValueError: a template of this gallery's model has another size.
        """
        if delta.from_version not in (self.version, 0):
            raise GalleryVersionError(f"delta starts at version {delta.from_version}, gallery is at {self.version}")
        keep = np.ones(len(self), bool) if delta.from_version else np.zeros(len(self), bool)
        keep &= ~np.isin(self.template_ids, np.asarray(delta.removed, dtype=np.str_))
        added = [t for t in delta.added if t.template_id not in set(self.template_ids[keep].tolist())]
        foreign = [t for t in added if t.model != self.model]
        if foreign:
            logger.error(
                "gallery delta: %d templates made by %s, this door runs %s: skipped (re-enrol or re-embed them)",
                len(foreign), sorted({t.model for t in foreign}), self.model,
            )  # fmt: skip
            added = [t for t in added if t.model == self.model]
        for t in added:
            if len(t.embedding) != self.dim:
                raise ValueError(f"template {t.template_id}: {len(t.embedding)}-d, {self.model} makes {self.dim}-d")
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

    def to_bytes(self) -> bytes:
        """The gallery as ``.npz`` bytes (templates, ids, version, model, names and any thumbnails)."""
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
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Gallery:
        """Read ``to_bytes`` output."""
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            meta = json.loads(str(arrays["meta"]))
            gallery = cls(
                arrays["templates"],
                arrays["pupil_ids"].tolist(),
                arrays["template_ids"].tolist(),
                meta["version"],
                meta["model"],
            )
            gallery.names = {str(k): str(v) for k, v in meta.get("names", {}).items()}
            gallery.thumbnails = {
                k[len("thumb__") :]: arrays[k].tobytes() for k in arrays.files if k.startswith("thumb__")
            }
        return gallery

    def save(self, path: Path, key: bytes) -> None:
        """Encrypt with ``key`` and write atomically (temporary file + rename): a power cut keeps the last copy."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(NONCE_BYTES)
        sealed = MAGIC + nonce + AESGCM(key).encrypt(nonce, self.to_bytes(), MAGIC)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as handle:
            handle.write(sealed)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, key: bytes) -> Gallery:
        """Read a gallery written by ``save``; an older unencrypted ``.npz`` is read as it is.

        Raises:
            GalleryKeyError: ``key`` does not open the file (another device's key, or the file was altered).
        """
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        data = path.read_bytes()
        if not data.startswith(MAGIC):
            logger.warning("gallery %s is not encrypted (written by an older version)", path)
            return cls.from_bytes(data)
        nonce, sealed = data[len(MAGIC) : len(MAGIC) + NONCE_BYTES], data[len(MAGIC) + NONCE_BYTES :]
        try:
            return cls.from_bytes(AESGCM(key).decrypt(nonce, sealed, MAGIC))
        except InvalidTag as exc:
            raise GalleryKeyError(
                f"gallery {path} cannot be decrypted with this device's gallery key (another key, or the file was"
                " altered): restore the key file, or delete the gallery and re-sync it from the backend"
            ) from exc


def load_key(path: Path, create: bool) -> bytes:
    """The device's gallery key from its key file; created (32 random bytes, mode 0600) when ``create``.

    Raises:
        GalleryKeyError: the file is missing (and not created), has another size, or others may read it.
    """
    if not path.is_file():
        if not create:
            raise GalleryKeyError(
                f"gallery key file {path} is missing, so the encrypted gallery cannot be read: restore the key file,"
                " or delete the gallery and re-sync it from the backend"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(KEY_BYTES))
        logger.info("created the device's gallery key %s (mode 0600)", path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise GalleryKeyError(f"gallery key file {path} has mode {mode:o}: others can read it; chmod 600 {path}")
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise GalleryKeyError(f"gallery key file {path} holds {len(key)} bytes, expected {KEY_BYTES}")
    return key


@dataclass(frozen=True, slots=True)
class GalleryFile:
    """Where a door keeps its gallery: the encrypted file and the device key file that opens it.

    Attributes:
        path: the encrypted gallery.
        key_path: the device's gallery key (created with mode 0600 on the first save).
        thumbnails: keep the enrolment face thumbnails in the file (off unless the school turns them on).
    """

    path: Path
    key_path: Path
    thumbnails: bool = False

    def save(self, gallery: Gallery) -> None:
        """Encrypt and write the gallery (thumbnails dropped unless ``thumbnails``)."""
        if not self.thumbnails:
            gallery.thumbnails.clear()
        gallery.save(self.path, load_key(self.key_path, create=True))

    def load(self, model: str, dim: int) -> Gallery:
        """The door's gallery for the embedder ``model`` it runs.

        An empty gallery (version 0, logged) when the device has never synced, and also when the file holds
        another embedder's templates: those are never compared with this model's embeddings; the next sync asks
        for the whole gallery again. An unencrypted file from an older version is re-written encrypted.
        """
        if not self.path.is_file():
            logger.warning("no gallery at %s yet: every face is unknown until the first sync", self.path)
            return Gallery.empty(dim, model)
        stored = Gallery.load(self.path, load_key(self.key_path, create=False) if self._sealed() else b"")
        if stored.model != model or stored.dim != dim:
            logger.error(
                "gallery %s holds %d templates made by %s (%d-d); this door runs %s (%d-d): they are not used."
                " Starting empty: the next sync fetches the whole gallery, or re-enrol with `kuzet enroll`",
                self.path, len(stored), stored.model, stored.dim, model, dim,
            )  # fmt: skip
            return Gallery.empty(dim, model)
        if not self._sealed():
            self.save(stored)
            logger.info("gallery %s re-written encrypted", self.path)
        return stored

    def _sealed(self) -> bool:
        with self.path.open("rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC

    @classmethod
    def of(cls, school: SchoolConfig) -> GalleryFile:
        """The gallery file of a door's ``school:`` section."""
        key_path = school.gallery_key_path or school.gallery_path.with_suffix(".key")
        return cls(school.gallery_path, key_path, school.gallery_thumbnails)
