"""Which frames go into a violation's package, and the loop that packages a track's violations.

``pick_frames`` chooses the stills (before / at / after the offence), ``clip_indices`` the source frames of the
clip (every frame from ``clip_s`` before to ``clip_s`` after the offence, within the track), ``evidence_indices``
both (what the frame buffer must keep), and ``clock_status`` reads the capture clock's last sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from edge.traffic.evidence import (
    ClockStatus,
    EvidenceConfig,
    EvidenceContext,
    EvidenceFrame,
    EvidenceItem,
    HealthRecord,
    PlateEvidence,
    build_package,
)
from edge.traffic.evidence_clip import ClipFrame
from edge.traffic.evidence_keys import load_or_create_key
from edge.traffic.rules.base import TrackView, Violation
from edge.traffic.scene import SceneConfig
from kuzet.contracts import ClockSource

logger = logging.getLogger(__name__)

FrameGetter = Callable[[int], NDArray[np.uint8] | None]
PlateGetter = Callable[[Violation, TrackView], PlateEvidence | None]
HealthGetter = Callable[[Violation], HealthRecord | None]
TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")


def pick_frames(violation: Violation, track: TrackView, context_s: float) -> list[tuple[str, int, float]]:
    """``(role, frame_index, t)`` of the frames before / at / after a violation, from the track's samples."""
    if track.frame_index is None:
        raise ValueError(f"track {track.track_id} has no frame_index; evidence needs the source frames")
    at = min(violation.index, len(track) - 1)
    before = int(np.argmin(np.abs(track.t - (track.t[at] - context_s))))
    after = int(np.argmin(np.abs(track.t - (track.t[at] + context_s))))
    picks = [("before", before), ("at", at), ("after", after)]
    return [(role, int(track.frame_index[i]), float(track.t[i])) for role, i in picks if role == "at" or i != at]


def clip_indices(violation: Violation, track: TrackView, config: EvidenceConfig) -> list[int]:
    """Every source frame index from ``clip_s`` before to ``clip_s`` after the offence (within the track), at most
    ``max_clip_frames`` centred on the offence; empty without clips or frame indices."""
    if not config.clip or track.frame_index is None or len(track) == 0:
        return []
    t_at = track.t[min(violation.index, len(track) - 1)]
    inside = np.abs(track.t - t_at) <= config.clip_s
    first, last = int(track.frame_index[inside].min()), int(track.frame_index[inside].max())
    at = int(track.frame_index[min(violation.index, len(track) - 1)])
    half = config.max_clip_frames // 2
    first, last = max(first, at - half), min(last, at + (config.max_clip_frames - half) - 1)
    return list(range(first, last + 1))


def evidence_indices(violation: Violation, track: TrackView, config: EvidenceConfig) -> set[int]:
    """Source frames a violation's package needs: its stills and its clip."""
    stills = {index for _, index, _ in pick_frames(violation, track, config.context_s)}
    return stills | set(clip_indices(violation, track, config))


def _clip(violation: Violation, track: TrackView, config: EvidenceConfig, frame_at: FrameGetter) -> list[ClipFrame]:
    """The clip's frames still available, each with its capture time (interpolated between the track's samples)."""
    assert track.frame_index is not None  # pick_frames checked
    frames: list[ClipFrame] = []
    for index in clip_indices(violation, track, config):
        image = frame_at(index)
        if image is not None:
            t = float(np.interp(index, track.frame_index.astype(np.float64), track.t))
            frames.append(ClipFrame(index, t, image))
    return frames


def clock_status(source: ClockSource, flag: Path = TIMESYNC_FLAG) -> ClockStatus:
    """The capture clock's last sync as the device knows it.

    Replayed files carry no wall clock; for live sources, systemd-timesyncd creates ``flag`` at each successful
    sync (its modification time is the last sync); without it the status is unknown, never assumed good.
    """
    if source is ClockSource.FILE:
        return ClockStatus(None, None, "replayed media: times come from the file, no wall clock to sync")
    if flag.exists():
        at = datetime.fromtimestamp(flag.stat().st_mtime, tz=UTC).isoformat()
        return ClockStatus(True, at, f"systemd-timesyncd: {flag} present")
    return ClockStatus(None, None, f"no sync status found ({flag} absent); clock source {source.value}")


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
        scene: the camera's scene (drawn on the annotated frames, stored as ``scene.json``).
        frame_at: source frame index -> (H, W, 3) BGR frame.
        context: camera facts (id, clock, calibration, speed settings, model files).
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
        item = EvidenceItem(
            violation=violation,
            track=track,
            scene=scene,
            frames=frames,
            plate=plate_for(violation, track) if plate_for is not None else None,
            health=health_for(violation) if health_for is not None else None,
            clip=_clip(violation, track, config, frame_at),
        )
        written.append(build_package(item, context, config, key))
    return written
