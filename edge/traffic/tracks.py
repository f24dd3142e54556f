"""From a track's measured boxes to what the rules judge: ``track_view`` (one function for the pipeline and the
scenario evals).

Per sample: the box's bottom-centre (where the vehicle touches the road), its road position through the
calibration, the vehicle's **front** and the road metres one pixel spans there. The front of a vehicle coming
towards the camera is the box bottom; one moving away shows its rear, so its front is estimated on the road: the
rear contact point plus a conservative vehicle length along its road heading, never beyond the box top taken as a
road point (a roof projects further up the image than the bumper under it). Without a calibration the rules fall
back to the box edge (``edge.traffic.rules.geometry.front_points``).

The speed comes from ``edge.traffic.speed.speed_from_track`` on the samples whose box is not clipped by the frame
edge (a clipped box's bottom is the frame's, not the vehicle's).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from edge.traffic.calibration import Calibration
from edge.traffic.rules.base import TrackView
from edge.traffic.rules.geometry import edge_band, travel_direction
from edge.traffic.scene import SceneConfig, lane_index
from edge.traffic.speed import SpeedConfig, SpeedEstimate, speed_from_track

VEHICLE_LENGTH_M = {"car": 4.1, "motorcycle": 1.8, "bus": 9.0, "truck": 5.5}
"""Conservative (short) lengths: an underestimated front means a later crossing, never an earlier one."""
DEFAULT_LENGTH_M = 4.1


def speed_samples(boxes: NDArray[np.float64], image_size: tuple[int, int] | None) -> NDArray[np.bool_]:
    """(T,) samples whose bottom-centre is the vehicle's: the box touches neither the bottom nor a side edge."""
    if image_size is None:
        return np.ones(len(boxes), bool)
    width, height = image_size
    bx, by = edge_band(width), edge_band(height)
    return np.asarray((boxes[:, 0] > bx) & (boxes[:, 2] < width - bx) & (boxes[:, 3] < height - by))


def _front_away(
    bottom: NDArray[np.float64], boxes: NDArray[np.float64], calibration: Calibration, length_m: float
) -> NDArray[np.float64]:
    """(T, 2) image point of the front of a vehicle moving away: rear + length along its road heading, capped."""
    rear = calibration.to_road(bottom)
    k = max(1, min(5, len(rear) // 3))
    heading = np.median(rear[-k:], axis=0) - np.median(rear[:k], axis=0)
    norm = float(np.linalg.norm(heading))
    if norm < 0.5:  # not moved on the road: take the image's up direction on the road
        ahead = calibration.to_road(bottom - np.array([0.0, 10.0]))
        heading = np.median(ahead - rear, axis=0)
        norm = float(np.linalg.norm(heading))
    unit = heading / max(norm, 1e-9)
    top = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2.0, boxes[:, 1]], axis=1)
    reach = (calibration.to_road(top) - rear) @ unit  # the box top as a road point: beyond the true front
    ok = np.isfinite(reach) & (reach > 0) & calibration.covers(top)
    length = np.where(ok, np.minimum(length_m, reach), length_m)
    return calibration.to_image(rear + length[:, None] * unit)


def track_view(
    track_id: int,
    vehicle_class: str,
    t: NDArray[np.float64],
    boxes: NDArray[np.float64],
    frame_index: NDArray[np.int64] | None,
    calibration: Calibration | None,
    scene: SceneConfig | None,
    speed_config: SpeedConfig,
) -> tuple[TrackView, SpeedEstimate]:
    """The ``TrackView`` of one confirmed track and its speed estimate.

    Args:
        track_id: tracker id.
        vehicle_class: majority class of its detections.
        t: (T,) capture times, increasing.
        boxes: (T, 4) measured boxes, image pixels.
        frame_index: (T,) source frame numbers, or None.
        calibration: the camera's homography (None: no road path, no speed, box-edge fronts).
        scene: the geometry (lanes; its image size tells clipped boxes), or None.
        speed_config: speed estimation settings.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    bottom = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2.0, boxes[:, 3]], axis=1)
    lane_ids = None
    if scene is not None and scene.lanes:
        lane_ids = tuple(scene.lanes[i].id if i >= 0 else "" for i in lane_index(bottom, scene).tolist())
    base = TrackView(
        track_id, vehicle_class, True, t, bottom, None, lane_ids=lane_ids, frame_index=frame_index, boxes_xyxy=boxes
    )
    if calibration is None:
        return base, SpeedEstimate(None, None, 0, len(t), "no_calibration")
    usable = speed_samples(boxes, scene.image_size if scene is not None else None)
    speed = speed_from_track(t[usable], bottom[usable], calibration.config, speed_config)
    toward = scene is None or travel_direction(base, scene)[1] >= 0.0
    length = VEHICLE_LENGTH_M.get(vehicle_class, DEFAULT_LENGTH_M)
    front = bottom if toward else _front_away(bottom, boxes, calibration, length)
    view = TrackView(
        track_id=track_id,
        vehicle_class=vehicle_class,
        confirmed=True,
        t=t,
        image_xy=bottom,
        road_xy=calibration.to_road(bottom),
        speed_kmh=speed.speed_kmh,
        speed_sigma_kmh=speed.sigma_kmh,
        lane_ids=lane_ids,
        frame_index=frame_index,
        boxes_xyxy=boxes,
        front_xy=front,
        metres_per_px=calibration.metres_per_pixel(front),
        speed_estimate=speed,
    )
    return view, speed
