"""Per-frame traffic perception: detect -> track -> (at track end) speed, lane, line crossings, TrackView.

``TrafficPipeline.step`` takes one frame and whether the frame plan gave it the detector; confirmed tracks
accumulate their measured samples (bottom-centre of the box, the point that touches the road). When a track ends
(or the stream closes) it becomes a ``TrackSummary``: a ``TrackView`` for the rules, a robust speed, the lane it
spent most time in and its counting-line crossings. ``vehicle_event`` turns a summary into the wire event.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from edge.tracking.bytetrack import ByteTracker
from edge.traffic.calibration import Calibration
from edge.traffic.config import TrafficConfig
from edge.traffic.rules.base import TrackView
from edge.traffic.scene import SceneConfig, lane_index, path_crossings, signed_distance
from edge.traffic.speed import SpeedEstimate
from edge.traffic.tracks import track_view
from kuzet.contracts import CameraId, ClockSource, VehicleEvent
from models.detections import Detections
from models.vehicles.detector import VEHICLE_NAMES, VehicleDetector

VEHICLE_CLASSES = VEHICLE_NAMES  # the contract's VehicleClass values (COCO names)


@dataclass(slots=True)
class _History:
    """Measured samples of one confirmed track (appended per detector frame)."""

    frame: list[int] = field(default_factory=list)
    t: list[float] = field(default_factory=list)
    xy: list[NDArray[np.float32]] = field(default_factory=list)
    box: list[NDArray[np.float32]] = field(default_factory=list)
    class_id: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TrackSummary:
    """A finished confirmed track.

    Attributes:
        view: the track as the rules see it (``TrackView``).
        speed: robust speed estimate.
        lane_id: lane holding most samples, None without a scene or outside every lane.
        crossings: (line_id, direction +1/-1, sample index) per counting-line crossing.
    """

    view: TrackView
    speed: SpeedEstimate
    lane_id: str | None
    crossings: tuple[tuple[str, int, int], ...]


class TrafficPipeline:
    """Detector + tracker + per-track history for one camera.

    Args:
        detector: the vehicle detector (its class names map ids to vehicle classes).
        config: the traffic section (tracker, speed, scene, thresholds).
        calibration: image -> road homography, or None (no speeds, no road path).
    """

    def __init__(self, detector: VehicleDetector, config: TrafficConfig, calibration: Calibration | None) -> None:
        self.detector = detector
        self.config = config
        self.calibration = calibration
        self.scene: SceneConfig | None = config.scene
        self.tracker = ByteTracker(config.tracker)
        names = detector.backend.class_names
        self._vehicle_ids = np.array([names.index(c) for c in VEHICLE_CLASSES if c in names], np.int32)
        self._history: dict[int, _History] = defaultdict(_History)
        self.traffic_lights = Detections.empty()

    def step(self, frame_bgr: NDArray[np.uint8], t: float, frame_index: int, detect: bool) -> Detections:
        """Process one frame.

        Args:
            frame_bgr: (H, W, 3) uint8 frame.
            t: capture time, seconds (monotonic within the stream).
            frame_index: index of the frame in the stream.
            detect: run the detector (True) or let the tracker predict (False).

        Returns:
            Confirmed tracks in this frame (``tracker_id`` set; ``data["measured"]`` False for predictions).
        """
        if not detect:
            return self.tracker.predict_only()
        detections = self.detector.detect(frame_bgr)
        vehicles = np.isin(detections.class_id, self._vehicle_ids)
        self.traffic_lights = detections[~vehicles]
        tracked = self.tracker.update(detections[vehicles])
        self._record(tracked, t, frame_index)
        return tracked

    def _record(self, tracked: Detections, t: float, frame_index: int) -> None:
        points = tracked.bottom_center
        for row, track_id in enumerate(tracked.tracker_id.tolist()):
            history = self._history[track_id]
            history.frame.append(frame_index)
            history.t.append(t)
            history.xy.append(points[row])
            history.box.append(tracked.xyxy[row])
            history.class_id.append(int(tracked.class_id[row]))

    def finished(self) -> list[TrackSummary]:
        """Summaries of the tracks the tracker removed at the last detector frame."""
        return self._close(self.tracker.removed_ids)

    def close(self) -> list[TrackSummary]:
        """End of stream: summaries of every track still open."""
        return self._close(list(self._history))

    def live_views(self) -> list[TrackView]:
        """``TrackView`` of every open track with enough samples (whole path so far), e.g. for red-light rules
        that should not wait for the track to end; finished tracks come from ``finished``/``close``."""
        return [
            self.summarise(track_id, history).view
            for track_id, history in self._history.items()
            if len(history.t) >= self.config.min_track_samples
        ]

    def _close(self, track_ids: list[int]) -> list[TrackSummary]:
        out = []
        for track_id in track_ids:
            history = self._history.pop(track_id, None)
            if history is not None and len(history.t) >= self.config.min_track_samples:
                out.append(self.summarise(track_id, history))
        return out

    def summarise(self, track_id: int, history: _History) -> TrackSummary:
        """Build the ``TrackSummary`` (TrackView, speed, lane, crossings) of one track's history."""
        t = np.asarray(history.t, np.float64)
        image_xy = np.asarray(history.xy, np.float64).reshape(-1, 2)
        ids, counts = np.unique(np.asarray(history.class_id), return_counts=True)
        vehicle_class = self.detector.class_name(int(ids[np.argmax(counts)]))
        boxes = np.asarray(history.box, np.float64).reshape(-1, 4)
        frames = np.asarray(history.frame, np.int64)
        calibration, speed_config = self.calibration, self.config.speed
        view, speed = track_view(track_id, vehicle_class, t, boxes, frames, calibration, self.scene, speed_config)
        _, lane = self._lanes(image_xy)
        return TrackSummary(view, speed, lane, self._crossings(image_xy))

    def _lanes(self, image_xy: NDArray[np.float64]) -> tuple[tuple[str, ...] | None, str | None]:
        if self.scene is None or not self.scene.lanes:
            return None, None
        index = lane_index(image_xy, self.scene)
        names = tuple(self.scene.lanes[i].id if i >= 0 else "" for i in index.tolist())
        inside = index[index >= 0]
        lane = self.scene.lanes[int(np.bincount(inside).argmax())].id if len(inside) else None
        return names, lane

    def _crossings(self, image_xy: NDArray[np.float64]) -> tuple[tuple[str, int, int], ...]:
        if self.scene is None:
            return ()
        out: list[tuple[str, int, int]] = []
        for line in self.scene.counting_lines:
            out += [(line.id, d, i) for i, d in count_crossings(image_xy, line.array(), self.config.counting_margin_px)]
        return tuple(out)


def count_crossings(
    image_xy: NDArray[np.floating], line: NDArray[np.floating], margin_px: float
) -> list[tuple[int, int]]:
    """Crossings of a counting line with hysteresis: samples within ``margin_px`` of the line are ignored, so a
    box that jitters on the line is not counted again and again.

    Args:
        image_xy: (T, 2) path in image pixels.
        line: (2, 2) segment [p1, p2].
        margin_px: dead band either side of the line.

    Returns:
        (sample index in ``image_xy``, direction +1/-1) per crossing.
    """
    path = np.asarray(image_xy, np.float64).reshape(-1, 2)
    clear = np.flatnonzero(np.abs(signed_distance(path, line)) >= margin_px)
    index, direction = path_crossings(path[clear], line)
    return [(int(clear[i]), int(d)) for i, d in zip(index.tolist(), direction.tolist(), strict=True)]


def vehicle_event(
    summary: TrackSummary,
    camera_id: CameraId,
    clock_source: ClockSource,
    max_path_points: int = 200,
    plate: tuple[str, float] | None = None,
    speeds: bool = True,
) -> VehicleEvent | None:
    """The wire event of a finished track (times in ``view.t`` are Unix seconds); None for non-vehicles.

    ``plate`` is the track's voted ``(text, confidence)`` when one was read. ``speeds`` False (the camera's view
    moved or could not be seen, ``edge.traffic.rules.stage.health_policy``) withholds the speed and the road path,
    which come from a calibration that no longer holds; the vehicle is still counted.
    """
    view = summary.view
    if view.vehicle_class not in VEHICLE_CLASSES:
        return None
    path: tuple[tuple[float, float], ...] = ()
    if view.road_xy is not None and speeds:
        keep = np.unique(np.linspace(0, len(view.road_xy) - 1, min(len(view.road_xy), max_path_points)).astype(int))
        path = tuple((round(float(x), 2), round(float(y), 2)) for x, y in view.road_xy[keep])
    first = datetime.fromtimestamp(float(view.t[0]), tz=UTC)
    last = datetime.fromtimestamp(float(view.t[-1]), tz=UTC)
    return VehicleEvent.model_validate(
        {
            "event_id": uuid.uuid4(),
            "camera_id": camera_id,
            "captured_at": last,
            "clock_source": clock_source,
            "track_id": view.track_id,
            "vehicle_class": view.vehicle_class,
            "lane_id": summary.lane_id,
            "speed_kmh": summary.speed.speed_kmh if speeds else None,
            "speed_uncertainty_kmh": summary.speed.sigma_kmh if speeds else None,
            "first_seen": first,
            "last_seen": last,
            "path_m": path,
            "plate_text": plate[0] if plate is not None else None,
            "plate_confidence": round(min(max(plate[1], 0.0), 1.0), 4) if plate is not None else None,
        }
    )
