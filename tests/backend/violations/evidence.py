"""Real signed evidence packages for the backend tests, written by the edge evidence builder on rendered frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.traffic.evidence import (
    EvidenceConfig,
    EvidenceContext,
    EvidenceFrame,
    EvidenceItem,
    PlateEvidence,
    build_package,
)
from edge.traffic.evidence_clip import ClipFrame
from edge.traffic.evidence_verify import violation_event
from edge.traffic.rules.base import SignalSource, SignalState, TrackView, Violation
from edge.traffic.scene import SceneConfig
from kuzet.contracts import ClockSource, ViolationEvent
from kuzet.demo.violations import DEMO_FPS, DEMO_SCENE, demo_car_box, render_demo_frame

T0 = 1_764_050_000.0
FPS = 5.0


def make_package(
    root: Path, camera_id: str, plate: str | None = "123ABC02", kind: str = "red_light", clip: bool = False
) -> tuple[ViolationEvent, dict[str, bytes]]:
    """One more package at the end of ``camera_id``'s chain under ``root``; returns its wire event and media
    (``clip``: with the MP4 clip of frames 24-36 and its annotated copy)."""
    indices = np.arange(20, 45, 2, dtype=np.int64)
    t = T0 + indices / FPS
    image_xy = np.stack([np.full(len(t), 250.0), 50.0 + 28.0 * (indices / FPS) * 1.0], axis=1)
    track = TrackView(
        track_id=7,
        vehicle_class="car",
        confirmed=True,
        t=t,
        image_xy=image_xy,
        speed_kmh=31.5,
        speed_sigma_kmh=1.2,
        frame_index=indices,
        boxes_xyxy=np.array([demo_car_box(i / DEMO_FPS) for i in indices], np.float64),  # the rendered car
    )
    at = 8
    violation = Violation(
        kind=kind,  # type: ignore[arg-type]
        track_id=7,
        vehicle_class="car",
        t=float(t[at]),
        index=at,
        lane_id="n1",
        line_id="stop-1",
        speed_kmh=31.5,
        speed_sigma_kmh=1.2,
        signal_state=SignalState.RED,
        signal_source=SignalSource.CLASSIFIER,
    )
    frames = [
        EvidenceFrame(role, int(indices[i]), float(t[i]), render_demo_frame(int(indices[i])))
        for role, i in (("before", 3), ("at", at), ("after", 12))
    ]
    crop = frames[1].image[200:240, 200:300].copy()
    item = EvidenceItem(
        violation=violation,
        track=track,
        scene=SceneConfig.model_validate(DEMO_SCENE),
        frames=frames,
        plate=PlateEvidence(crop=crop, raw=plate, normalised=plate, confidence=0.9) if plate else None,
        clip=[ClipFrame(i, T0 + i / FPS, render_demo_frame(i)) for i in range(24, 37)] if clip else (),
    )
    context = EvidenceContext(camera_id=camera_id, clock_source=ClockSource.NTP, calibration_version="test-1")
    config = EvidenceConfig(chain_dir=root / "chains" / camera_id, key_dir=root / "keys")
    return violation_event(build_package(item, context, config))
