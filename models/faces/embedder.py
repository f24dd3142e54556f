"""Face embeddings: the dlib ResNet backend (face_recognition's 128-d model), the ``FACE_EMBEDDERS`` registry and
``build_face_embedder``; the ``Embedder`` interface is in ``base.py``. SFace (the default) is in ``sface.py``.

dlib's network expects the face chip its own 5-point shape predictor and aligner produce. Its landmark model was
trained on boxes from dlib's HOG detector, which are tighter than CenterFace's, and a loose box costs accuracy. So
each face gets a dlib-like square box built from the detector's landmarks (centre on the landmark centroid, side
proportional to the eye-to-mouth distance, constants measured against dlib's detector on the people/probes photos),
then dlib finds its own landmarks inside it and builds the aligned 150x150 chip.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from models.detections import Detections
from models.faces.base import Embedder
from models.faces.config import EmbedderConfig
from models.faces.sface import SFACE_FAR_TABLE, SFACE_MODEL, build_sface
from models.image import as_bgr, l2_normalise
from models.runtime import ModelError, package_file

logger = logging.getLogger(__name__)

DLIB_BOX_SIDE = 2.24  # dlib HOG box side / (eye-midpoint to mouth-midpoint distance), median of 88 faces
DLIB_BOX_DY = -0.05  # dlib HOG box centre minus landmark centroid, in the same unit, along y
DLIB_MODEL = "dlib_resnet_v1"  # the tag every template made by this embedder carries
# Per-comparison false-accept rate -> cosine threshold on the 814,165 impostor pairs of wild_lag_cn + orl (the door's
# CenterFace at 320 px; `kuzet calibrate-faces --embedder dlib --data .../wild_lag_cn --data .../orl`).
DLIB_FAR_TABLE: tuple[tuple[float, float], ...] = (
    (1e-2, 0.9235),
    (3e-3, 0.9355),
    (1e-3, 0.9438),
    (3e-4, 0.9512),
    (1e-4, 0.9562),
    (3e-5, 0.9602),
)


def dlib_boxes(faces: Detections) -> NDArray[np.float32]:
    """(N, 4) dlib-like square boxes from the landmarks (or from the detector box when there are none)."""
    if "landmarks" not in faces.data:
        side = (faces.xyxy[:, 2] - faces.xyxy[:, 0]) * 1.05
        cx, cy = faces.center[:, 0], faces.center[:, 1] + 0.057 * (faces.xyxy[:, 3] - faces.xyxy[:, 1])
    else:
        lm = np.asarray(faces.data["landmarks"], np.float32)
        eye_mouth = np.linalg.norm((lm[:, 3] + lm[:, 4]) / 2 - (lm[:, 0] + lm[:, 1]) / 2, axis=1)
        side = DLIB_BOX_SIDE * eye_mouth
        cx, cy = lm[:, :, 0].mean(1), lm[:, :, 1].mean(1) + DLIB_BOX_DY * eye_mouth
    return np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], axis=1).astype(np.float32)


class DlibEmbedder:
    """dlib's ResNet face descriptor (128-d), run on dlib's own aligned chip.

    Args:
        config: model paths, jitters and chip padding.
    """

    dim = 128
    model = DLIB_MODEL

    def __init__(self, config: EmbedderConfig) -> None:
        import dlib

        self.config = config
        self.far_table = config.far_table or DLIB_FAR_TABLE
        shape_path = config.shape_model_path or package_file(
            "face_recognition_models", "models/shape_predictor_5_face_landmarks.dat"
        )
        model_path = config.model_path or package_file(
            "face_recognition_models", "models/dlib_face_recognition_resnet_model_v1.dat"
        )
        for path in (shape_path, model_path):
            if not path.is_file():
                raise ModelError(f"dlib model file {path} does not exist")
        self._dlib = dlib
        self._shape = dlib.shape_predictor(str(shape_path))
        self._net = dlib.face_recognition_model_v1(str(model_path))

    def embed(self, image_bgr: NDArray[np.uint8], faces: Detections) -> NDArray[np.float32]:
        """Embed faces; see ``Embedder.embed``."""
        if len(faces) == 0:
            return np.zeros((0, self.dim), np.float32)
        rgb = np.ascontiguousarray(as_bgr(image_bgr)[..., ::-1])
        shapes = self._dlib.full_object_detections()
        for x1, y1, x2, y2 in np.rint(dlib_boxes(faces)).astype(int).tolist():
            shapes.append(self._shape(rgb, self._dlib.rectangle(x1, y1, x2, y2)))
        vectors = self._net.compute_face_descriptor(rgb, shapes, self.config.jitters, self.config.chip_padding)
        return l2_normalise(np.array([np.asarray(v) for v in vectors], np.float32))


EmbedderFactory = Callable[[EmbedderConfig], Embedder]

FACE_EMBEDDERS: dict[str, EmbedderFactory] = {"sface": build_sface, "dlib": DlibEmbedder}


def build_face_embedder(config: EmbedderConfig | None = None) -> Embedder:
    """Build the configured embedder from the ``FACE_EMBEDDERS`` registry."""
    config = config or EmbedderConfig()
    return FACE_EMBEDDERS[config.backend](config)


def embedder_far_table(config: EmbedderConfig) -> tuple[tuple[float, float], ...]:
    """The (far, threshold) table of the configured backend, without loading its model."""
    return config.far_table or {"sface": SFACE_FAR_TABLE, "dlib": DLIB_FAR_TABLE}[config.backend]


def embedder_model(config: EmbedderConfig) -> str:
    """The template tag of the configured backend (``sface_2021dec``, ``dlib_resnet_v1``), without loading it."""
    return {"sface": SFACE_MODEL, "dlib": DLIB_MODEL}[config.backend]


__all__ = [
    "DLIB_FAR_TABLE",
    "DLIB_MODEL",
    "FACE_EMBEDDERS",
    "DlibEmbedder",
    "Embedder",
    "EmbedderFactory",
    "build_face_embedder",
    "dlib_boxes",
    "embedder_far_table",
    "embedder_model",
]
