"""What a generated traffic scenario's vehicles truly did, in road metres and true times (``kuzet.devsets.traffic``).

The truth follows EVAL.md's meaning of each kind, judged on the true trajectories (front = the vehicle's front
bumper on the road, centre = its middle); ``required`` marks clear cases and ``allowed`` the borderline ones a fair
system may decide either way (a front 0.3-1.0 m past a line, the first second of red, a speed above the limit
plus tolerance but within the measurement's doubt, a stand of 0.8-1.5 s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kuzet.devsets.traffic_camera import DIMENSIONS

STILL_MPS = 0.1


@dataclass(slots=True)
class Motion:
    """One vehicle's true trajectory at the scenario's true frame times.

    Attributes:
        object_id: its identity.
        kind: vehicle class.
        direction: +1 travels towards +Y (away from the camera), -1 towards the camera.
        x: (T,) centre X, metres. y: (T,) centre Y, metres.
        visible: (T,) whether a detector could see it (in view), before misses.
        constant_speed_kmh: its speed when constant, else None.
        lane_direction: +1/-1 legal direction of the lane it drives in (wrong way when it differs).
    """

    object_id: int
    kind: str
    direction: int
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    visible: NDArray[np.bool_]
    constant_speed_kmh: float | None
    lane_direction: int

    @property
    def front(self) -> NDArray[np.float64]:
        """(T,) Y of the front bumper."""
        return self.y + self.direction * DIMENSIONS[self.kind][0] / 2.0


def states_at(signal: list[tuple[float, str]], t: NDArray[np.float64]) -> tuple[NDArray[np.str_], NDArray[np.float64]]:
    """(T,) state and onset time of the state in force at each time."""
    times = np.array([c[0] for c in signal])
    idx = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(signal) - 1)
    return np.array([signal[i][1] for i in idx]), times[idx]


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the lines and special lanes are, in road metres."""

    stop_y: float
    junction_y: float
    governed_direction: int  # lanes of this direction are governed by the stop and junction lines
    main_x: tuple[float, float]  # X range of the governed (main) lanes
    solid_x: float
    bus_x: tuple[float, float] | None
    limit_kmh: float
    tolerance_kmh: float


def _red_light(
    m: Motion, t: NDArray[np.float64], signal: list[tuple[float, str]], lay: Layout
) -> dict[str, Any] | None:
    if m.direction != lay.governed_direction:
        return None
    past = m.direction * (m.front - lay.junction_y)
    inside = (m.x >= lay.main_x[0]) & (m.x <= lay.main_x[1])
    hit = np.flatnonzero((past[:-1] < 0) & (past[1:] >= 0) & inside[1:])
    if not len(hit):
        return None
    k = int(hit[0])
    tc = float(t[k] + (t[k + 1] - t[k]) * (-past[k]) / (past[k + 1] - past[k]))
    state, onset = states_at(signal, np.array([tc]))
    if state[0] != "red":
        return None
    red_for, depth = tc - float(onset[0]), float(past.max())
    required = red_for >= 1.0 and depth >= 1.0
    return {"kind": "red_light", "required": required, "why": f"front entered on red after {red_for:.2f} s"}


def _stop_line(
    m: Motion, t: NDArray[np.float64], signal: list[tuple[float, str]], lay: Layout
) -> dict[str, Any] | None:
    if m.direction != lay.governed_direction:
        return None
    past_stop = m.direction * (m.front - lay.stop_y)
    past_junction = m.direction * (m.front - lay.junction_y)
    speed = np.abs(np.gradient(m.y, t))
    state, _ = states_at(signal, t)
    mask = (speed < STILL_MPS) & (state == "red") & (past_stop > 0.0) & (past_junction < 0.0)
    if not mask.any():
        return None
    idx = np.flatnonzero(mask)
    stood = float(t[idx[-1]] - t[idx[0]])
    past = float(np.median(past_stop[idx]))
    if past < 0.3 or stood < 0.8:
        return None
    clear_of_junction = float(np.median(past_junction[idx])) <= -1.0
    required = past >= 1.0 and stood >= 1.5 and clear_of_junction
    return {"kind": "stop_line", "required": required, "why": f"stood {stood:.1f} s with its front {past:.2f} m past"}


def _solid_line(m: Motion, lay: Layout) -> dict[str, Any] | None:
    side = m.x[m.visible] - lay.solid_x
    if len(side) < 2 or side.max() <= 0 or side.min() >= 0:
        return None
    first = np.flatnonzero(np.abs(side) >= 0.3)
    if not len(first):
        return None
    start = np.sign(side[first[0]])
    across = float((-start * side).max())
    if across < 0.3:
        return None
    near = float((start * side).max())
    required = across >= 0.9 and near >= 0.9
    return {"kind": "solid_line", "required": required, "why": f"centre {across:.2f} m over the solid line"}


def _wrong_way(m: Motion) -> dict[str, Any] | None:
    if m.direction == m.lane_direction or m.visible.sum() < 2:
        return None
    travel = float(abs(m.y[m.visible][-1] - m.y[m.visible][0]))
    if travel < 10.0:
        return None
    return {"kind": "wrong_way", "required": travel >= 20.0, "why": f"{travel:.1f} m against the lane"}


def _bus_lane(m: Motion, lay: Layout) -> dict[str, Any] | None:
    if lay.bus_x is None or m.kind == "bus":
        return None
    inside = m.visible & (m.x > lay.bus_x[0]) & (m.x < lay.bus_x[1])
    if inside.sum() < 2:
        return None
    travel = float(abs(m.y[inside][-1] - m.y[inside][0]))
    if travel < 15.0:
        return None
    return {"kind": "bus_lane", "required": travel >= 25.0, "why": f"{travel:.1f} m in the bus lane"}


def _speeding(m: Motion, t: NDArray[np.float64], lay: Layout) -> dict[str, Any] | None:
    speed = np.abs(np.gradient(m.y, t)) * 3.6
    top = float(speed[m.visible].max()) if m.visible.any() else 0.0
    threshold = lay.limit_kmh + lay.tolerance_kmh
    if top <= threshold:
        return None
    required = m.constant_speed_kmh is not None and top >= 1.2 * threshold + 3.0
    return {"kind": "speeding", "required": required, "why": f"{top:.1f} km/h over {threshold:.0f}"}


def truth_of(
    motions: list[Motion], t: NDArray[np.float64], signal: list[tuple[float, str]], lay: Layout
) -> dict[str, Any]:
    """The scenario's ``truth``: every object and each violation it committed (required or allowed)."""
    objects: dict[str, Any] = {}
    violations: list[dict[str, Any]] = []
    for m in motions:
        objects[str(m.object_id)] = {
            "class": m.kind,
            "direction": "away" if m.direction > 0 else "toward",
            "speed_kmh": round(m.constant_speed_kmh, 3) if m.constant_speed_kmh is not None else None,
            "constant_speed": m.constant_speed_kmh is not None,
        }
        ran = _red_light(m, t, signal, lay)
        found = [ran, None if ran else _stop_line(m, t, signal, lay)]
        found += [_solid_line(m, lay), _wrong_way(m), _bus_lane(m, lay), _speeding(m, t, lay)]
        violations += [{"object": m.object_id, **v} for v in found if v is not None]
    return {"objects": objects, "violations": violations}
