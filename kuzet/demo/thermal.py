"""The demo's thermal recording, generated: faces found in a clip rendered warm (SYNTHETIC, not a measurement).

There is no radiometric data in ../shared (the thermal images there are palette pictures), so the demo's thermal
stream is synthesised: each detected face becomes an ellipse at a skin temperature in a room at ``ambient_c``,
mapped through the device registration, at the sensor's own frame rate and resolution, rounded to 0.1 C like a
real MLX90640 stream. The file says so (``source = "synthetic"``), so every temperature read from it travels as
synthetic: in the door's events, the backend's passes and the demo's summary. A temperature read back from this
rendering only shows that the ROI, registration and median work; it says nothing about a sensor's accuracy.
"""

from __future__ import annotations

import argparse
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hardware.camera import VideoFileSource
from hardware.thermal import Registration, write_replay
from models.faces.detector import FaceDetector

NOISE_C = 0.1  # rendered sensor noise, 1 sigma


def render_faces(
    registration: Registration, xyxy: NDArray[Any], skin_c: float, ambient_c: float, rng: np.random.Generator
) -> NDArray[np.float32]:
    """(H, W) synthetic thermal frame: face ellipses (visible-pixel boxes (N, 4)) at ``skin_c``, 0.1 C noise."""
    w, h = registration.thermal_size
    ys, xs = np.mgrid[0:h, 0:w]
    centres = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1)
    inverse = Registration.from_matrix(np.linalg.inv(registration.matrix), (w, h))
    visible = inverse.map_points(centres)  # (P, 2) visible pixels of each thermal pixel centre
    boxes = np.asarray(xyxy, np.float32).reshape(-1, 4)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2.0
    radius = np.maximum((boxes[:, 2:] - boxes[:, :2]) / 2.0, 1.0)
    norm = ((visible[None, :, :] - centre[:, None, :]) / radius[:, None, :]) ** 2
    face = (norm.sum(axis=2) <= 1.0).any(axis=0)
    frame = np.where(face, skin_c, ambient_c) + rng.normal(0.0, NOISE_C, h * w)
    return np.round(frame, 1).reshape(h, w).astype(np.float32)


def generate_replay(
    video: Path,
    out: Path,
    detector: FaceDetector,
    registration: Registration,
    start: datetime,
    rate_hz: float = 8.0,
    skin_c: float = 36.6,
    ambient_c: float = 22.0,
    seed: int = 0,
) -> int:
    """Write ``out`` (.npz for ``ReplayThermalSensor``) with thermal frames aligned to ``video`` started at ``start``.

    Returns:
        The number of thermal frames written.
    """
    source = VideoFileSource(video, start=start)
    step = max(1, round(source.fps / rate_hz))
    rng = np.random.default_rng(seed)
    frames, times = [], []
    for frame in source:
        if frame.index % step:
            continue
        faces = detector.detect(frame.image)
        frames.append(render_faces(registration, faces.xyxy, skin_c, ambient_c, rng))
        times.append(frame.captured_at.timestamp())
    write_replay(out, np.stack(frames), np.asarray(times), source="synthetic", sigma_c=NOISE_C)
    return len(frames)


def main(argv: list[str] | None = None) -> None:
    """``python -m kuzet.demo.thermal --start ISO-TIME``: write the replay of a clip whose frame 0 was captured at
    ``--start`` (by default the bundled clip, into samples/school/thermal_replay.npz)."""
    from models.faces.config import FaceDetectorConfig
    from models.faces.detector import build_face_detector

    school = Path(__file__).resolve().parents[2] / "samples" / "school"
    parser = argparse.ArgumentParser(prog="python -m kuzet.demo.thermal", description=main.__doc__)
    parser.add_argument("--start", required=True, type=datetime.fromisoformat, help="capture time of frame 0 (ISO)")
    parser.add_argument("--video", type=Path, default=school / "short_hamilton_clip.mp4", help="clip to replay")
    parser.add_argument("--out", type=Path, default=school / "thermal_replay.npz", help="replay file to write")
    args = parser.parse_args(argv)
    registration = Registration.scaled((640, 360), (32, 24))
    detector = build_face_detector(FaceDetectorConfig())
    count = generate_replay(args.video, args.out, detector, registration, args.start)
    logging.getLogger(__name__).info("wrote %d SYNTHETIC thermal frames (labelled so) to %s", count, args.out)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
