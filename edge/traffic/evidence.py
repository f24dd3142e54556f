"""Tamper-evident evidence packages for traffic violations, signed and hash-chained per camera.

A camera's chain is one folder holding one sub-folder per package, named ``{seq:08d}_{kind}``, plus ``HEAD``
(``{"seq": N, "manifest_sha256": ...}`` of the newest package). A package holds the evidence files (frames before /
at / after the offence as JPEG, an annotated frame, the plate crop, ``track.json``, ``scene.json``), its
``manifest.json`` and ``manifest.sig``:

- ``manifest.json`` lists every file's name, role, size and SHA-256, and records the violation, track path and
  speed with its uncertainty, signal state and source, calibration version, model file hashes, camera id,
  location, capture time and clock source, the sequence number, ``prev_manifest_sha256`` (the SHA-256 of the
  previous package's manifest bytes; 64 zeros for the first) and the camera's Ed25519 public key (hex); with a
  tamper monitor running, also ``camera_health``: the camera's health at the offence (state, active states and the
  monitor's measures), so a court can see the view was as calibrated. Packages without a monitor omit the key.
- ``manifest.sig`` is the Ed25519 signature (hex) of the exact bytes of ``manifest.json``.

A changed file breaks its hash, a changed manifest breaks the signature, a removed or reordered package breaks
the sequence and the hash links, and a re-signed package shows a key other than the trusted one.
Verification lives in ``edge.traffic.evidence_verify``. One writer per chain folder is assumed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from numpy.typing import NDArray
from pydantic import Field

from edge.traffic.rules.base import TrackView, Violation
from edge.traffic.scene import SceneConfig
from kuzet.config import StrictModel
from kuzet.contracts import CameraHealthMeasures, CameraHealthState, ClockSource
from models.runtime import sha256_file

logger = logging.getLogger(__name__)

FORMAT = "kuzet-evidence/1"
GENESIS = "0" * 64
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
HEAD = "HEAD"


class KeyFileError(RuntimeError):
    """A camera key file is unreadable, malformed or readable by others."""


class EvidenceConfig(StrictModel):
    """How evidence packages are written."""

    chain_dir: Path = Field(description="Folder of this camera's package chain")
    key_dir: Path = Field(description="Folder of camera signing keys (created 0700)")
    jpeg_quality: int = Field(default=92, ge=50, le=100, description="JPEG quality of evidence frames")
    max_frames: int = Field(default=9, ge=1, le=30, description="Frames kept per package")
    context_s: float = Field(
        default=1.0, gt=0.0, le=30.0, description="The 'before' and 'after' frames are this far from the offence"
    )


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
class EvidenceContext:
    """Per-camera facts recorded in every package."""

    camera_id: str
    clock_source: ClockSource
    calibration_version: str
    location: str = ""
    model_files: Mapping[str, Path] = field(default_factory=dict)


def key_paths(key_dir: Path, camera_id: str) -> tuple[Path, Path]:
    """``(private, public)`` key file paths of one camera."""
    return key_dir / f"{camera_id}.ed25519", key_dir / f"{camera_id}.ed25519.pub"


def public_hex(key: Ed25519PrivateKey) -> str:
    """Raw 32-byte public key as lower-case hex."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def load_or_create_key(key_dir: Path, camera_id: str) -> Ed25519PrivateKey:
    """The camera's Ed25519 signing key; generated (file mode 0600, folder 0700) when absent.

    Raises:
        KeyFileError: the key file is group/other accessible or is not an Ed25519 PEM key.
    """
    private, public = key_paths(key_dir, camera_id)
    if not private.exists():
        key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        public.write_text(public_hex(key) + "\n")
        logger.info("generated signing key for camera %s at %s", camera_id, private)
        return key
    mode = stat.S_IMODE(private.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(f"{private} has mode {mode:o}; it must be readable by its owner only (chmod 600)")
    try:
        loaded = serialization.load_pem_private_key(private.read_bytes(), password=None)
    except ValueError as exc:
        raise KeyFileError(f"{private} is not a PEM private key: {exc}") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise KeyFileError(f"{private} holds a {type(loaded).__name__}, not an Ed25519 key")
    return loaded


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


def annotate(image: NDArray[np.uint8], track: TrackView, scene: SceneConfig, violation: Violation) -> NDArray[np.uint8]:
    """A copy of the deciding frame with the scene lines, the track path and the deciding point drawn."""
    out = image.copy()
    colours = {"stop": (0, 0, 255), "solid": (255, 255, 255), "dashed": (200, 200, 200), "counting": (255, 0, 0)}
    for line in scene.lines:
        p1, p2 = (int(line.p1[0]), int(line.p1[1])), (int(line.p2[0]), int(line.p2[1]))
        cv2.line(out, p1, p2, colours[line.kind.value], 2 if line.id == violation.line_id else 1)
    pts = np.round(track.image_xy).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(out, [pts], isClosed=False, color=(0, 255, 255), thickness=2)
    at = track.image_xy[min(violation.index, len(track) - 1)]
    cv2.circle(out, (int(at[0]), int(at[1])), 6, (0, 0, 255), 2)
    label = f"{violation.kind} track {violation.track_id}"
    cv2.putText(out, label, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 255), 2)
    return np.asarray(out, dtype=np.uint8)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).isoformat()


def _track_record(track: TrackView) -> dict[str, Any]:
    return {
        "track_id": track.track_id,
        "vehicle_class": track.vehicle_class,
        "confirmed": track.confirmed,
        "t": track.t.tolist(),
        "image_xy": np.round(track.image_xy, 2).tolist(),
        "road_xy": None if track.road_xy is None else np.round(track.road_xy, 3).tolist(),
        "frame_index": None if track.frame_index is None else track.frame_index.tolist(),
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


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """Everything one package is built from."""

    violation: Violation
    track: TrackView
    scene: SceneConfig
    frames: Sequence[EvidenceFrame]
    plate: PlateEvidence | None = None
    health: HealthRecord | None = None


def _files(item: EvidenceItem, config: EvidenceConfig) -> list[tuple[str, str, bytes]]:
    """``(name, role, bytes)`` of every evidence file."""
    files: list[tuple[str, str, bytes]] = []
    frames = sorted(item.frames, key=lambda f: f.t)[: config.max_frames]
    if not any(f.role == "at" for f in frames):
        raise ValueError("evidence needs the frame 'at' the offence")
    for k, frame in enumerate(frames):
        files.append(
            (f"frame_{k:02d}_{frame.role}.jpg", f"frame_{frame.role}", _jpeg(frame.image, config.jpeg_quality))
        )
    at = next(f for f in frames if f.role == "at")
    overlay = annotate(at.image, item.track, item.scene, item.violation)
    files.append(("annotated_at.jpg", "annotated", _jpeg(overlay, config.jpeg_quality)))
    if item.plate is not None and item.plate.crop is not None:
        files.append(("plate_crop.jpg", "plate_crop", _jpeg(item.plate.crop, config.jpeg_quality)))
    files.append(("track.json", "track", json.dumps(_track_record(item.track), sort_keys=True).encode()))
    files.append(("scene.json", "scene", item.scene.model_dump_json().encode()))
    return files


def _manifest(
    item: EvidenceItem,
    context: EvidenceContext,
    files: list[tuple[str, str, bytes]],
    chain: tuple[int, str, str],
    frames_meta: list[dict[str, Any]],
) -> dict[str, Any]:
    seq, prev, public = chain
    v = item.violation
    plate = item.plate
    health = {} if item.health is None else {"camera_health": item.health.record()}
    return {
        **health,
        "format": FORMAT,
        "package_id": str(uuid.uuid4()),
        "seq": seq,
        "prev_manifest_sha256": prev,
        "camera_id": context.camera_id,
        "public_key": public,
        "location": context.location or item.scene.location,
        "captured_at": _iso(v.t),
        "clock_source": context.clock_source.value,
        "created_at": datetime.now(tz=UTC).isoformat(),
        "violation": _violation_record(v),
        "signal": {
            "state": None if v.signal_state is None else v.signal_state.value,
            "source": None if v.signal_source is None else v.signal_source.value,
        },
        "plate": None
        if plate is None
        else {"raw": plate.raw, "normalised": plate.normalised, "confidence": plate.confidence},
        "speed": {"kmh": item.track.speed_kmh, "sigma_kmh": item.track.speed_sigma_kmh},
        "calibration_version": context.calibration_version,
        "models": {name: sha256_file(path) for name, path in sorted(context.model_files.items())},
        "frames": frames_meta,
        "files": [
            {"name": name, "role": role, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, role, data in files
        ],
    }


def build_package(
    item: EvidenceItem, context: EvidenceContext, config: EvidenceConfig, key: Ed25519PrivateKey | None = None
) -> Path:
    """Write one signed package at the end of the camera's chain and advance ``HEAD``.

    The package is written to a temporary folder and renamed into place, so a crash leaves no half package.

    Returns:
        The package folder.
    """
    key = key or load_or_create_key(config.key_dir, context.camera_id)
    config.chain_dir.mkdir(parents=True, exist_ok=True)
    seq, prev = read_head(config.chain_dir)
    files = _files(item, config)
    frames_meta = [
        {"role": f.role, "frame_index": f.frame_index, "t": f.t, "captured_at": _iso(f.t)}
        for f in sorted(item.frames, key=lambda f: f.t)[: config.max_frames]
    ]
    manifest = _manifest(item, context, files, (seq + 1, prev, public_hex(key)), frames_meta)
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
    head = {"seq": seq + 1, "manifest_sha256": hashlib.sha256(body).hexdigest()}
    head_tmp = config.chain_dir / f".{HEAD}.tmp"
    head_tmp.write_text(json.dumps(head) + "\n")
    head_tmp.replace(config.chain_dir / HEAD)
    logger.info("evidence package %s written (%d files)", final.name, len(files))
    return final


def manifest_sha256(package: Path) -> str:
    """SHA-256 of a package's manifest bytes (the value chained and sent as ``evidence_sha256``)."""
    return hashlib.sha256((package / MANIFEST).read_bytes()).hexdigest()


FrameGetter = Callable[[int], NDArray[np.uint8] | None]
PlateGetter = Callable[[Violation, TrackView], PlateEvidence | None]
HealthGetter = Callable[[Violation], HealthRecord | None]


def pick_frames(violation: Violation, track: TrackView, context_s: float) -> list[tuple[str, int, float]]:
    """``(role, frame_index, t)`` of the frames before / at / after a violation, from the track's samples."""
    if track.frame_index is None:
        raise ValueError(f"track {track.track_id} has no frame_index; evidence needs the source frames")
    at = min(violation.index, len(track) - 1)
    before = int(np.argmin(np.abs(track.t - (track.t[at] - context_s))))
    after = int(np.argmin(np.abs(track.t - (track.t[at] + context_s))))
    picks = [("before", before), ("at", at), ("after", after)]
    return [(role, int(track.frame_index[i]), float(track.t[i])) for role, i in picks if role == "at" or i != at]


def package_violations(
    violations: Sequence[Violation],
    tracks: Mapping[int, TrackView],
    scene: SceneConfig,
    frame_at: FrameGetter,
    context: EvidenceContext,
    config: EvidenceConfig,
    plate_for: PlateGetter | None = None,
    health_for: HealthGetter | None = None,
) -> list[Path]:
    """One package per violation, frames fetched by source index (``frame_at`` returns None when gone).

    Args:
        violations: from ``evaluate_rules``.
        tracks: track id -> the ``TrackView`` the violation came from.
        scene: the camera's scene (drawn on the annotated frame, stored as ``scene.json``).
        frame_at: source frame index -> (H, W, 3) BGR frame.
        context: camera facts (id, clock, calibration version, model files).
        config: where and how to write.
        plate_for: the plate crop and read of a violation's vehicle, or None.
        health_for: the camera's health at a violation, or None (no ``camera_health`` in the manifest).
    """
    key = load_or_create_key(config.key_dir, context.camera_id)
    written: list[Path] = []
    for violation in violations:
        track = tracks[violation.track_id]
        frames = []
        for role, index, t in pick_frames(violation, track, config.context_s):
            image = frame_at(index)
            if image is not None:
                frames.append(EvidenceFrame(role, index, t, image))
        plate = plate_for(violation, track) if plate_for is not None else None
        health = health_for(violation) if health_for is not None else None
        item = EvidenceItem(violation=violation, track=track, scene=scene, frames=frames, plate=plate, health=health)
        written.append(build_package(item, context, config, key))
    return written
