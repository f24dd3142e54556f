"""Tamper-evident evidence packages for traffic violations, signed and hash-chained per camera.

A camera's chain is one folder holding one sub-folder per package, named ``{seq:08d}_{kind}``, plus ``HEAD`` (the
newest package's ``seq`` and manifest SHA-256, the camera id and key, signed with the camera key). A package holds
the evidence files and its ``manifest.json`` and ``manifest.sig``:

- the original frames before / at / after the offence (JPEG, never drawn on), a short MP4 clip of the original
  frames spanning the offence (``clip.mp4``) and its annotated copy (``clip_annotated.mp4``: the vehicle's box in
  every frame and its path), the annotated still (``annotated_at.jpg``), the plate crop, ``track.json`` (every
  sample's time, image point, box, frame index and road point: what the speed was computed on) and ``scene.json``;
- ``manifest.json`` lists every file's name, role, media type, size and SHA-256 (clips also their codec), the
  SHA-256 of each clip frame's original pixels, and records the violation, speed with its sigma, the calibration
  (survey points, ``point_sigma_m``, ``scale_sigma``, homography, reprojection error), the speed settings, signal
  state and source, model file hashes, camera id, location, capture time, clock source and its last sync status,
  the sequence number, ``prev_manifest_sha256`` (64 zeros for the first) and the camera's Ed25519 public key; with a
  tamper monitor running, also ``camera_health`` (the camera's health at the offence);
- ``manifest.sig`` is the Ed25519 signature (hex) of the exact bytes of ``manifest.json``.

So ``kuzet evidence verify --recompute`` can recompute the speed from the package alone. Verification lives in
``edge.traffic.evidence_verify``; frames and clips are chosen in ``edge.traffic.evidence_package``. One writer per
chain folder is assumed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from numpy.typing import NDArray
from pydantic import Field

from edge.traffic.calibration import Calibration, CalibrationConfig
from edge.traffic.evidence_clip import ClipFrame, annotate, annotate_frame, clip_fps, encode_clip
from edge.traffic.evidence_keys import KeyFileError, key_paths, load_or_create_key, public_hex  # noqa: F401
from edge.traffic.rules.base import TrackView, Violation
from edge.traffic.scene import SceneConfig
from edge.traffic.speed import SpeedConfig
from kuzet.config import StrictModel
from kuzet.contracts import CameraHealthMeasures, CameraHealthState, ClockSource
from models.runtime import sha256_file

logger = logging.getLogger(__name__)

FORMAT = "kuzet-evidence/2"
FORMATS = ("kuzet-evidence/1", FORMAT)
GENESIS = "0" * 64
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
HEAD = "HEAD"
MEDIA_TYPES = {".jpg": "image/jpeg", ".json": "application/json", ".mp4": "video/mp4"}


class EvidenceConfig(StrictModel):
    """How evidence packages are written."""

    chain_dir: Path = Field(description="Folder of this camera's package chain")
    key_dir: Path = Field(description="Folder of camera signing keys (created 0700)")
    jpeg_quality: int = Field(default=92, ge=50, le=100, description="JPEG quality of evidence frames")
    max_frames: int = Field(default=9, ge=1, le=30, description="Still frames kept per package")
    context_s: float = Field(
        default=1.0, gt=0.0, le=30.0, description="The 'before' and 'after' frames are this far from the offence"
    )
    clip: bool = Field(default=True, description="Write the MP4 clip and its annotated copy")
    clip_s: float = Field(
        default=1.5, gt=0.0, le=15.0, description="The clip spans this long before and after the offence"
    )
    max_clip_frames: int = Field(default=90, ge=2, le=900, description="Most source frames in a clip")
    clip_codecs: tuple[str, ...] = Field(
        default=("avc1", "H264", "mp4v"),
        min_length=1,
        max_length=6,
        description="Codecs of the original clip in order of preference: an H.264 name (avc1/H264) is encoded by"
        " imageio-ffmpeg's FFmpeg (libx264) when present, else each FOURCC by OpenCV when this build can write it",
    )
    preview_codecs: tuple[str, ...] = Field(
        default=("avc1", "H264", "mp4v"),
        min_length=1,
        max_length=6,
        description="Codecs of the annotated clip, as clip_codecs (H.264 by FFmpeg plays in browsers; without that"
        " binary, 'vp09' before 'mp4v' does, at ~16 s for 30 frames of 640x352 in the OpenCV wheel)",
    )
    preview_width: int = Field(default=640, ge=160, le=3840, description="Width of the annotated clip, pixels")


@dataclass(frozen=True, slots=True)
class EvidenceFrame:
    """One frame for the package: role ``before`` / ``at`` / ``after``, its source index, time and pixels."""

    role: str
    frame_index: int
    t: float
    image: NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class PlateEvidence:
    """The plate crop and its read, when the plate reader produced one."""

    crop: NDArray[np.uint8] | None
    raw: str | None
    normalised: str | None
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class HealthRecord:
    """The camera's health at an offence, as the tamper monitor judged it (``edge.camera.monitor``)."""

    state: CameraHealthState
    active: tuple[CameraHealthState, ...] = ()
    measures: CameraHealthMeasures = field(default_factory=CameraHealthMeasures)

    def record(self) -> dict[str, Any]:
        """The manifest's ``camera_health`` entry."""
        return {
            "state": self.state.value,
            "active": [s.value for s in self.active],
            "measures": self.measures.model_dump(mode="json"),
        }


@dataclass(frozen=True, slots=True)
class ClockStatus:
    """The capture clock's last known synchronisation (``edge.traffic.evidence_package.clock_status``).

    Attributes:
        synced: the sync daemon says the clock is synchronised; None when unknown or not applicable.
        last_sync_at: when it last said so (ISO UTC), or None.
        detail: where the status came from, for people.
    """

    synced: bool | None
    last_sync_at: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class EvidenceContext:
    """Per-camera facts recorded in every package."""

    camera_id: str
    clock_source: ClockSource
    calibration_version: str
    location: str = ""
    model_files: Mapping[str, Path] = field(default_factory=dict)
    calibration: CalibrationConfig | None = None
    speed: SpeedConfig | None = None
    clock: ClockStatus | None = None


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """Everything one package is built from (``clip``: the source frames spanning the offence, in time order)."""

    violation: Violation
    track: TrackView
    scene: SceneConfig
    frames: Sequence[EvidenceFrame]
    plate: PlateEvidence | None = None
    health: HealthRecord | None = None
    clip: Sequence[ClipFrame] = ()


def head_body(seq: int, digest: str, camera_id: str, public: str) -> bytes:
    """The signed bytes of ``HEAD``: canonical JSON of the newest package's seq and hash, camera and key."""
    body = {"seq": seq, "manifest_sha256": digest, "camera_id": camera_id, "public_key": public}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def read_head(chain_dir: Path) -> tuple[int, str]:
    """``(seq, manifest_sha256)`` of the newest package, ``(0, GENESIS)`` for an empty chain."""
    head = chain_dir / HEAD
    if not head.is_file():
        return 0, GENESIS
    data = json.loads(head.read_text())
    return int(data["seq"]), str(data["manifest_sha256"])


def _jpeg(image: NDArray[np.uint8], quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"could not encode a {image.shape} image as JPEG")
    return bytes(buf.tobytes())


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).isoformat()


def _array(value: NDArray[Any] | None) -> list[Any] | None:
    return None if value is None else value.tolist()


def _track_record(track: TrackView) -> dict[str, Any]:
    """Every sample at full precision: the speed is recomputed from ``t`` and ``image_xy``."""
    return {
        "track_id": track.track_id,
        "vehicle_class": track.vehicle_class,
        "confirmed": track.confirmed,
        "t": track.t.tolist(),
        "image_xy": track.image_xy.tolist(),
        "boxes_xyxy": _array(track.boxes_xyxy),
        "road_xy": _array(track.road_xy),
        "frame_index": _array(track.frame_index),
        "speed_kmh": track.speed_kmh,
        "speed_sigma_kmh": track.speed_sigma_kmh,
    }


def _violation_record(v: Violation) -> dict[str, Any]:
    return {
        "kind": v.kind,
        "track_id": v.track_id,
        "vehicle_class": v.vehicle_class,
        "t": v.t,
        "captured_at": _iso(v.t),
        "index": v.index,
        "lane_id": v.lane_id,
        "line_id": v.line_id,
        "speed_kmh": v.speed_kmh,
        "speed_sigma_kmh": v.speed_sigma_kmh,
        "details": dict(v.details),
    }


def calibration_record(config: CalibrationConfig | None, version: str) -> dict[str, Any]:
    """The manifest's ``calibration``: the survey itself, its homography and reprojection error."""
    if config is None:
        return {"version": version, "config": None}
    fitted = Calibration(config)
    return {
        "version": config.version,
        "config": config.model_dump(mode="json"),
        "homography": fitted.H.tolist(),
        "reprojection": {"rms_m": fitted.error.rms_m, "max_m": fitted.error.max_m, "rms_px": fitted.error.rms_px},
    }


def _clip_files(item: EvidenceItem, config: EvidenceConfig) -> tuple[list[tuple[str, str, bytes]], dict[str, Any]]:
    """The original and annotated clips and the clip's manifest entry (codecs, fps, each frame's pixel hash)."""
    clip = list(item.clip)[: config.max_clip_frames]
    if not config.clip or not clip:
        return [], {}
    fps = clip_fps(clip)
    original, codec = encode_clip([f.image for f in clip], fps, config.clip_codecs)
    drawn = [annotate_frame(f.image, item.track, item.scene, item.violation, f.frame_index) for f in clip]
    preview, preview_codec = encode_clip(drawn, fps, config.preview_codecs, config.preview_width)
    record = {
        "fps": fps,
        "codecs": {"clip.mp4": codec, "clip_annotated.mp4": preview_codec},
        "frames": [
            {"frame_index": f.frame_index, "t": f.t, "pixels_sha256": hashlib.sha256(f.image.tobytes()).hexdigest()}
            for f in clip
        ],
    }
    return [("clip.mp4", "clip", original), ("clip_annotated.mp4", "clip_annotated", preview)], record


def _files(item: EvidenceItem, config: EvidenceConfig) -> tuple[list[tuple[str, str, bytes]], dict[str, Any]]:
    """``(name, role, bytes)`` of every evidence file, and the clip's manifest entry."""
    files: list[tuple[str, str, bytes]] = []
    frames = sorted(item.frames, key=lambda f: f.t)[: config.max_frames]
    if not any(f.role == "at" for f in frames):
        raise ValueError("evidence needs the frame 'at' the offence")
    for k, frame in enumerate(frames):
        files.append(
            (f"frame_{k:02d}_{frame.role}.jpg", f"frame_{frame.role}", _jpeg(frame.image, config.jpeg_quality))
        )
    at = next(f for f in frames if f.role == "at")
    overlay = annotate(at.image, item.track, item.scene, item.violation, at.frame_index)
    files.append(("annotated_at.jpg", "annotated", _jpeg(overlay, config.jpeg_quality)))
    if item.plate is not None and item.plate.crop is not None:
        files.append(("plate_crop.jpg", "plate_crop", _jpeg(item.plate.crop, config.jpeg_quality)))
    clips, clip_record = _clip_files(item, config)
    files.extend(clips)
    files.append(("track.json", "track", json.dumps(_track_record(item.track), sort_keys=True).encode()))
    files.append(("scene.json", "scene", item.scene.model_dump_json().encode()))
    return files, clip_record


def _file_entry(name: str, role: str, data: bytes) -> dict[str, Any]:
    return {
        "name": name,
        "role": role,
        "media_type": MEDIA_TYPES.get(Path(name).suffix, "application/octet-stream"),
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def _clock_record(context: EvidenceContext) -> dict[str, Any]:
    status = context.clock
    return {
        "source": context.clock_source.value,
        "synced": None if status is None else status.synced,
        "last_sync_at": None if status is None else status.last_sync_at,
        "detail": "no sync status given" if status is None else status.detail,
    }


def _manifest(item: EvidenceItem, context: EvidenceContext, files: list[tuple[str, str, bytes]]) -> dict[str, Any]:
    """Everything but the chain fields (seq, prev, key, frames and clip are added by ``build_package``)."""
    v, plate = item.violation, item.plate
    health = {} if item.health is None else {"camera_health": item.health.record()}
    return {
        **health,
        "format": FORMAT,
        "package_id": str(uuid.uuid4()),
        "camera_id": context.camera_id,
        "location": context.location or item.scene.location,
        "captured_at": _iso(v.t),
        "clock_source": context.clock_source.value,
        "clock": _clock_record(context),
        "created_at": datetime.now(tz=UTC).isoformat(),
        "violation": _violation_record(v),
        "signal": {
            "state": None if v.signal_state is None else v.signal_state.value,
            "source": None if v.signal_source is None else v.signal_source.value,
        },
        "plate": None
        if plate is None
        else {"raw": plate.raw, "normalised": plate.normalised, "confidence": plate.confidence},
        "speed": {
            "kmh": item.track.speed_kmh,
            "sigma_kmh": item.track.speed_sigma_kmh,
            "config": None if context.speed is None else context.speed.model_dump(mode="json"),
        },
        "calibration_version": context.calibration_version,
        "calibration": calibration_record(context.calibration, context.calibration_version),
        "models": {name: sha256_file(path) for name, path in sorted(context.model_files.items())},
        "files": [_file_entry(name, role, data) for name, role, data in files],
    }


def _write_head(chain_dir: Path, manifest: Mapping[str, Any], digest: str, key: Ed25519PrivateKey) -> None:
    body = head_body(int(manifest["seq"]), digest, str(manifest["camera_id"]), str(manifest["public_key"]))
    head = {**json.loads(body), "signature": key.sign(body).hex()}
    head_tmp = chain_dir / f".{HEAD}.tmp"
    head_tmp.write_text(json.dumps(head, sort_keys=True) + "\n")
    head_tmp.replace(chain_dir / HEAD)


def build_package(
    item: EvidenceItem, context: EvidenceContext, config: EvidenceConfig, key: Ed25519PrivateKey | None = None
) -> Path:
    """Write one signed package at the end of the camera's chain and advance the signed ``HEAD``.

    The package is written to a temporary folder and renamed into place, so a crash leaves no half package.

    Returns:
        The package folder.
    """
    key = key or load_or_create_key(config.key_dir, context.camera_id)
    config.chain_dir.mkdir(parents=True, exist_ok=True)
    seq, prev = read_head(config.chain_dir)
    files, clip = _files(item, config)
    manifest = {
        **_manifest(item, context, files),
        "seq": seq + 1,
        "prev_manifest_sha256": prev,
        "public_key": public_hex(key),
        "frames": [
            {"role": f.role, "frame_index": f.frame_index, "t": f.t, "captured_at": _iso(f.t)}
            for f in sorted(item.frames, key=lambda f: f.t)[: config.max_frames]
        ],
        "clip": clip or None,
    }
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    tmp = config.chain_dir / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        for name, _, data in files:
            (tmp / name).write_bytes(data)
        (tmp / MANIFEST).write_bytes(body)
        (tmp / SIGNATURE).write_text(key.sign(body).hex() + "\n")
        final = config.chain_dir / f"{seq + 1:08d}_{item.violation.kind}"
        tmp.rename(final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    _write_head(config.chain_dir, manifest, hashlib.sha256(body).hexdigest(), key)
    logger.info("evidence package %s written (%d files)", final.name, len(files))
    return final


def manifest_sha256(package: Path) -> str:
    """SHA-256 of a package's manifest bytes (the value chained and sent as ``evidence_sha256``)."""
    return hashlib.sha256((package / MANIFEST).read_bytes()).hexdigest()
