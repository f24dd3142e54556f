"""Detect plates in a whole image and read them: the path ``kuzet eval scenes`` and a camera pipeline share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.detections import Detections
from models.geometry import box_iou_batch
from models.plates.config import PlateDetectorConfig, PlateReaderConfig, PlatesConfig
from models.plates.detector import PlateDetector, build_plate_detector, expand_boxes, merge_detections
from models.plates.ocr import PlateRead, PlateReader, build_plate_reader
from models.runtime import RunnerConfig


@dataclass(frozen=True, slots=True)
class ScenePlate:
    """A plate found and read in an image: box (4,) xyxy pixels, detector score, the read and its crop."""

    box: NDArray[np.float32]
    score: float
    read: PlateRead
    crop: NDArray[np.uint8]


class ScenePlateReader:
    """One or more plate detectors (boxes merged) plus the plate reader.

    Args:
        detectors: plate detectors; their boxes are merged by NMS.
        reader: the plate reader.
        crop_margin: margin added around each box before reading (fraction of the box size).
        merge_iou: IoU above which boxes of different detectors are the same plate.
    """

    def __init__(
        self, detectors: Sequence[PlateDetector], reader: PlateReader, crop_margin: float = 0.05, merge_iou: float = 0.5
    ) -> None:
        self.detectors = list(detectors)
        self.reader = reader
        self.crop_margin = crop_margin
        self.merge_iou = merge_iou

    @classmethod
    def build(cls, detector: str, region: str, threads: int = 2) -> ScenePlateReader:
        """Detectors by name (``platedet``, ``cascade`` or ``both``) and a reader with the given grammar."""
        runner = RunnerConfig(intra_op_threads=threads)
        names = ["platedet", "cascade"] if detector == "both" else [detector]
        detectors = [build_plate_detector(PlateDetectorConfig(backend=n, runner=runner)) for n in names]
        reader = build_plate_reader(PlateReaderConfig(region=region, runner=runner))
        return cls(detectors, reader)

    @classmethod
    def from_config(cls, config: PlatesConfig) -> ScenePlateReader:
        """Main detector plus ``extra_detectors`` (same thresholds and threads), reader, crop margin."""
        backends = dict.fromkeys([config.detector.backend, *config.extra_detectors])
        detectors = [build_plate_detector(config.detector.model_copy(update={"backend": b})) for b in backends]
        return cls(detectors, build_plate_reader(config.reader), crop_margin=config.crop_margin)

    def detect(self, image_bgr: NDArray[np.uint8]) -> Detections:
        """Merged plate boxes of every detector."""
        parts = [d.detect(image_bgr) for d in self.detectors]
        return parts[0] if len(parts) == 1 else merge_detections(parts, self.merge_iou)

    def crops(self, image_bgr: NDArray[np.uint8], xyxy: NDArray[np.float32]) -> list[NDArray[np.uint8]]:
        """Crops of (N, 4) boxes with the reading margin."""
        height, width = image_bgr.shape[:2]
        bounds = expand_boxes(xyxy, self.crop_margin, width, height)
        return [image_bgr[y1:y2, x1:x2] for x1, y1, x2, y2 in bounds]

    def read_image(self, image_bgr: NDArray[np.uint8]) -> list[ScenePlate]:
        """Every plate of the image, detected and read (one batched OCR call)."""
        found = self.detect(image_bgr)
        crops = self.crops(image_bgr, found.xyxy)
        reads = self.reader.read_batch(crops)
        return [ScenePlate(found.xyxy[i], float(found.confidence[i]), reads[i], crops[i]) for i in range(len(found))]

    def read_labelled(
        self, image_bgr: NDArray[np.uint8], box: tuple[float, float, float, float], min_iou: float = 0.5
    ) -> tuple[str, bool]:
        """Evaluation helper: the text read from the detected box that best matches ``box``, and whether one did.

        Returns:
            ``(text, found)``; text is empty when no detected box reaches ``min_iou`` with the labelled one.
        """
        read = self.read_labelled_plate(image_bgr, box, min_iou)
        return (read.text, True) if read is not None else ("", False)

    def read_labelled_plate(
        self, image_bgr: NDArray[np.uint8], box: tuple[float, float, float, float], min_iou: float = 0.5
    ) -> PlateRead | None:
        """Evaluation helper: the whole read of the detected box that best matches ``box`` (None: none reaches
        ``min_iou`` with it)."""
        found = self.detect(image_bgr)
        if len(found) == 0:
            return None
        iou = box_iou_batch(found.xyxy, np.asarray([box], np.float32))[:, 0]
        best = int(iou.argmax())
        if iou[best] < min_iou:
            return None
        return self.reader.read_batch(self.crops(image_bgr, found.xyxy[[best]]))[0]
