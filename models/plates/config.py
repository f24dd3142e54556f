"""Configuration of the plate models: detector backend, recogniser, multi-frame voting.

``models/`` must not import ``edge/``, so the strict base model is defined here with the same rules as
``edge.config.StrictModel`` (unknown keys refused, values frozen).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from kuzet.config import StrictModel
from models.runtime import Precision, RunnerConfig

PLATE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class PlateDetectorConfig(StrictModel):
    """Which plate detector runs and how its raw output is filtered."""

    backend: Literal["platedet", "cascade"] = Field(
        default="platedet",
        description="platedet: YOLOv8s-seg ONNX (accurate, ~280 ms); cascade: OpenCV Haar plate cascade (fast)",
    )
    model_path: Path | None = Field(
        default=None, description="Override the platedet ONNX file (default: platedet/artifacts/platedet.onnx)"
    )
    input_size: int = Field(
        default=640,
        ge=128,
        le=1280,
        multiple_of=32,
        description="Square network input side (pixels); platedet's graph is rewritten for sides other than 640",
    )
    precision: Precision = Field(
        default="float32",
        description="platedet arithmetic: the packaged float16 weights, or int8 (`kuzet quantize`, ~2x faster)",
    )
    int8_dir: Path | None = Field(
        default=None, description="Folder of `kuzet quantize` output (default $KUZET_MODEL_CACHE or var/models)"
    )
    score_threshold: float = Field(default=0.25, ge=0.01, le=0.99, description="Minimum plate confidence")
    nms_iou: float = Field(default=0.5, ge=0.05, le=0.95, description="IoU above which overlapping plates merge")
    max_plates: int = Field(default=20, ge=1, le=300, description="Keep at most this many plates per image")
    cascade_scale_factor: float = Field(
        default=1.05, ge=1.01, le=2.0, description="Cascade image-pyramid step (smaller finds more, slower)"
    )
    cascade_min_neighbors: int = Field(default=3, ge=1, le=20, description="Cascade votes a plate needs")
    cascade_min_size: int = Field(default=12, ge=4, le=512, description="Smallest plate height searched (pixels)")
    cascade_box_scale: tuple[Annotated[float, Field(gt=0.1, le=2.0)], Annotated[float, Field(gt=0.1, le=2.0)]] = Field(
        default=(0.79, 0.53),
        description="Cascade boxes are shrunk about their centre by (x, y): its hits include the plate's "
        "surroundings (median box 1.27x wider, 1.88x taller than the plate on openalpr_eu)",
    )
    cascade_confidence: float = Field(
        default=0.5, ge=0.01, le=1.0, description="Confidence given to every cascade hit (it has no score)"
    )
    runner: RunnerConfig = Field(default_factory=RunnerConfig, description="onnxruntime threads for platedet")


class PlateReaderConfig(StrictModel):
    """PP-OCR text recogniser called directly on plate crops, with plate-specific pre/post-processing."""

    model_path: Path | None = Field(
        default=None, description="Override the recogniser ONNX (default: rapidocr/models/PP-OCRv6_rec_small.onnx)"
    )
    alphabet: str = Field(
        default=PLATE_ALPHABET, min_length=1, max_length=80, description="Characters a plate may contain"
    )
    input_height: int = Field(default=48, ge=16, le=128, description="Recogniser input height (pixels)")
    max_width: int = Field(default=480, ge=64, le=2048, description="Longest resized crop width (pixels)")
    side_pad: float = Field(
        default=0.25, ge=0.0, le=2.0, description="Border added left and right, as a fraction of the input height"
    )
    strip_cut: float = Field(
        default=0.10,
        ge=0.0,
        le=0.4,
        description="Width fraction cut on the left in the strip-removal variant when no coloured band is seen",
    )
    strip_max: float = Field(
        default=0.25, ge=0.05, le=0.5, description="Widest left band (fraction of width) taken for a country strip"
    )
    strip_column_fraction: float = Field(
        default=0.35,
        ge=0.05,
        le=1.0,
        description="A column belongs to the coloured country strip when this fraction of its pixels is blue",
    )
    strip_char_confidence: float = Field(
        default=0.8,
        ge=0.0,
        le=1.0,
        description="The strip-cut read may drop leading characters of the full read only below this confidence",
    )
    clean_saturation: float = Field(
        default=80.0,
        ge=0.0,
        le=255.0,
        description="Clean variant: pixels more saturated than this (and 3x the plate median) are painted over",
    )
    clean_value: float = Field(
        default=80.0, ge=0.0, le=255.0, description="Clean variant: only pixels brighter than this are painted"
    )
    clean_dilate: int = Field(
        default=3, ge=1, le=15, description="Clean variant: painted marks are grown by this kernel size (pixels)"
    )
    clean_fill_boxes: bool = Field(
        default=False, description="Clean variant: paint the whole bounding box of each coloured mark"
    )
    clean_max_fraction: float = Field(
        default=0.3, ge=0.0, le=1.0, description="Clean variant is skipped when more of the plate than this is colour"
    )
    variants: tuple[Literal["full", "strip", "clean", "clean_strip", "contrast", "row", "band"], ...] = Field(
        default=("full", "strip", "clean", "clean_strip", "row", "band"),
        min_length=1,
        max_length=7,
        description="Crop variants read per plate; the most confident read wins. row: cut to the tallest row of "
        "character shapes (drops state names, slogans and frame text above and below; levels a tilted row); "
        "band: the crop's middle rows (band_rows), where the registration sits when no row of shapes is seen",
    )
    band_rows: tuple[Annotated[float, Field(ge=0.0, le=0.45)], Annotated[float, Field(ge=0.55, le=1.0)]] = Field(
        default=(0.2, 0.8),
        description="Band variant: first and last row kept, as fractions of the crop height (chosen "
        "leave-one-source-out on EU, US and BR crops; README 'Plates that generalise')",
    )
    row_min_chars: int = Field(
        default=3, ge=2, le=10, description="Character shapes a row needs before the row variant cuts to it"
    )
    small_char_height: int = Field(
        default=16, ge=4, le=64, description="Reads whose characters are lower than this (pixels) count as small"
    )
    width_step: int = Field(
        default=8, ge=1, le=256, description="Inputs are zero-padded to a multiple of this width (pixels)"
    )
    max_batch: int = Field(
        default=16, ge=1, le=256, description="Most crop variants per inference (similar widths are batched)"
    )
    min_char_confidence: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Characters below this confidence are dropped from the read"
    )
    generic_confusables: bool = Field(
        default=True,
        description="Without a national grammar, settle O/0, I/1, B/8, S/5, Z/2 only where common fixed-structure "
        "templates ask (see template_swaps)",
    )
    final_letter_fix: bool = Field(
        default=False,
        description="Also read a final 0/1 after a letter as O/I. Off: chosen on EU crops, it cost US plates "
        "(00256M1, 59E21P1) on held-out folders and added nothing once the templates run",
    )
    template_swaps: int = Field(
        default=1,
        ge=0,
        le=3,
        description="Without a grammar: most confusable swaps that make a read fit a common European template "
        "(AB123CD, AB12CDE); 0 disables",
    )
    region: Literal["any", "kz"] = Field(
        default="any", description="Plate grammar applied after reading: any (none) or kz (Kazakhstan)"
    )
    runner: RunnerConfig = Field(default_factory=RunnerConfig, description="onnxruntime threads for the recogniser")


class VoteConfig(StrictModel):
    """Multi-frame reading of one vehicle track."""

    max_frames: int = Field(default=5, ge=1, le=50, description="Best frames read per track")
    min_plate_width: int = Field(default=40, ge=8, le=2000, description="Plate crops narrower than this are skipped")
    sharpness_weight: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Frame quality = size^(1-w) * sharpness^w; w is this weight"
    )
    min_confidence: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Voted plates whose mean character confidence is lower are flagged"
    )


class PlatesConfig(StrictModel):
    """All plate settings of one camera."""

    detector: PlateDetectorConfig = Field(default_factory=PlateDetectorConfig, description="Plate detector")
    reader: PlateReaderConfig = Field(default_factory=PlateReaderConfig, description="Plate recogniser")
    vote: VoteConfig = Field(default_factory=VoteConfig, description="Multi-frame voting per track")
    crop_margin: float = Field(
        default=0.05,
        ge=0.0,
        le=0.5,
        description="Margin added around a detected plate box before reading (0.05: held out, BR and US photos "
        "read better than at 0.1 or 0.2; the row variant needs little context)",
    )
    extra_detectors: tuple[Literal["platedet", "cascade"], ...] = Field(
        default=("cascade",),
        max_length=1,
        description="Further detector backends whose boxes are merged with the main detector's (NMS)",
    )
