"""The situations of the generated traffic scenarios: each kind draws its signal timeline and its vehicles' true
motion (``kuzet.devsets.traffic`` adds the camera, the detector's noise and the truth).

Road layout (metres, Y ahead of the camera): governed lanes ``m1`` (X 0..3.5) and ``m2`` (3.5..7) travel in the
subject's direction (towards the camera, or away from it), ``o1`` (-3.5..0) the other way; the stop line is across
m1+m2 at ``stop_y`` and the junction-entry line 4.5 m further on. The centre line (X 0) is solid; the m1/m2 divider
(X 3.5) is solid in the solid-line kinds, dashed otherwise, and m2 is a bus lane in the bus kinds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from kuzet.devsets.traffic_camera import DIMENSIONS, Camera

JUNCTION_GAP_M = 4.5
KINDS = (
    "stopped_before",
    "stopped_past",
    "creep",
    "red_runner",
    "amber",
    "signal_off",
    "beside_solid",
    "solid_change",
    "speed",
    "wrong_way",
    "bus_lane",
)


@dataclass(slots=True)
class Actor:
    """A vehicle's planned motion: distance travelled ``s(t)`` along ``direction`` from ``y0``, lateral ``x(t)``."""

    object_id: int
    kind: str
    direction: int
    y0: float
    s: NDArray[np.float64]  # on the fine grid
    x: NDArray[np.float64]  # on the fine grid
    constant_speed_kmh: float | None = None
    lane_direction: int | None = None


@dataclass(slots=True)
class Plan:
    """A scenario's situation before the camera and noise: signal, actors, duration, layout and tags."""

    kind: str
    direction: int
    stop_y: float
    signal: list[tuple[float, str]]
    duration: float
    grid: NDArray[np.float64]
    actors: list[Actor] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    solid_divider: bool = False
    bus_lane: bool = False
    limit_kmh: float = 60.0
    tolerance_kmh: float = 10.0

    @property
    def junction_y(self) -> float:
        """Y of the junction-entry line."""
        return self.stop_y + self.direction * JUNCTION_GAP_M


DT = 0.005


def integrate(v: NDArray[np.float64]) -> NDArray[np.float64]:
    """Distance on the fine grid from speeds on it (trapezoid)."""
    return np.concatenate([[0.0], np.cumsum((v[1:] + v[:-1]) / 2.0 * DT)])


def stop_profile(
    grid: NDArray[np.float64], v0: float, t_brake: float, decel: float, t_go: float | None
) -> NDArray[np.float64]:
    """Speeds: cruise ``v0`` until ``t_brake``, brake at ``decel`` to a stand, pull away at 2 m/s^2 from ``t_go``."""
    v = np.where(grid < t_brake, v0, np.maximum(v0 - decel * (grid - t_brake), 0.0))
    if t_go is not None:
        v = np.where(grid >= t_go, np.minimum(2.0 * (grid - t_go), v0), v)
    return np.asarray(v)


def lane_change(grid: NDArray[np.float64], x0: float, x1: float, t0: float, span: float) -> NDArray[np.float64]:
    """Lateral position moving smoothly from ``x0`` to ``x1`` over ``[t0, t0 + span]``."""
    u = np.clip((grid - t0) / span, 0.0, 1.0)
    return np.asarray(x0 + (x1 - x0) * (1 - np.cos(math.pi * u)) / 2.0)


def _stop_scene(plan: Plan, rng: np.random.Generator, front_at: float, actor_id: int) -> Actor:
    """A car that brakes on amber and stands with its front at ``front_at`` metres past the stop line."""
    v0 = rng.uniform(30.0, 55.0) / 3.6
    decel = rng.uniform(1.8, 3.5)
    brake_d = v0**2 / (2 * decel)
    cruise = rng.uniform(1.5, 3.0)
    amber = cruise - rng.uniform(0.3, 1.5)
    red = amber + 3.0
    stand_end = max(cruise + v0 / decel, red) + rng.uniform(3.0, 7.0)
    plan.signal = [(0.0, "green"), (amber, "amber"), (red, "red"), (stand_end + 30.0, "green")]
    plan.duration = stand_end
    length = DIMENSIONS["car"][0]
    stop_centre = plan.stop_y + plan.direction * (front_at - length / 2.0)
    y0 = stop_centre - plan.direction * (brake_d + v0 * cruise)
    v = stop_profile(plan.grid, v0, cruise, decel, None)
    return Actor(actor_id, "car", plan.direction, y0, integrate(v), np.full(len(plan.grid), 1.75))


def _runner(plan: Plan, rng: np.random.Generator, red_for: float, state: str) -> Actor:
    """A car at constant speed whose front enters the junction ``red_for`` seconds after the red onset."""
    v0 = rng.uniform(30.0, 60.0) / 3.6
    t_cross = max(rng.uniform(3.0, 5.5), red_for + 3.0 + rng.uniform(0.3, 2.0))  # amber starts after 0
    red = t_cross - red_for
    plan.signal = [(0.0, "green"), (red - 3.0, "amber"), (red, state), (red + 25.0, "green")]
    plan.duration = t_cross + rng.uniform(1.5, 3.5)
    length = DIMENSIONS["car"][0]
    y0 = plan.junction_y - plan.direction * (length / 2.0 + v0 * t_cross)
    lane_x = 1.75 if rng.random() < 0.6 else 5.25
    return Actor(1, "car", plan.direction, y0, v0 * plan.grid, np.full(len(plan.grid), lane_x), v0 * 3.6)


def _cruiser(plan: Plan, rng: np.random.Generator, actor_id: int, x: float, direction: int, speed_kmh: float) -> Actor:
    """A car at constant speed over the whole scenario, starting where it crosses the view in time."""
    v0 = speed_kmh / 3.6
    span = v0 * plan.duration
    y_mid = plan.stop_y + rng.uniform(-5.0, 15.0)
    y0 = y_mid - direction * span * rng.uniform(0.3, 0.7)
    kind = "car" if rng.random() < 0.85 else str(rng.choice(["truck", "motorcycle", "bus"]))
    return Actor(actor_id, kind, direction, y0, v0 * plan.grid, np.full(len(plan.grid), x), speed_kmh)


def draw_plan(kind: str, rng: np.random.Generator, camera: Camera) -> Plan:
    """The situation of one scenario of ``kind`` (every vehicle's motion and the signal)."""
    near, far = camera.near_far()
    direction = 1 if rng.random() < 0.35 else -1
    if direction < 0:
        stop_y = rng.uniform(near + JUNCTION_GAP_M + 4.0, near + JUNCTION_GAP_M + 14.0)
    else:
        stop_y = rng.uniform(near + 8.0, min(far - JUNCTION_GAP_M - 8.0, near + 24.0))
    plan = Plan(kind, direction, float(stop_y), [(0.0, "green")], 12.0, np.zeros(1))
    plan.grid = np.arange(0.0, 40.0, DT)
    plan.tags.append("moving_away" if direction > 0 else "toward")
    _FILL[kind](plan, rng)
    _background(plan, rng)
    return plan


def _fill_stopped_before(plan: Plan, rng: np.random.Generator) -> None:
    plan.actors.append(_stop_scene(plan, rng, -rng.uniform(0.03, 2.0), 1))


def _fill_stopped_past(plan: Plan, rng: np.random.Generator) -> None:
    plan.actors.append(_stop_scene(plan, rng, rng.uniform(0.1, 3.3), 1))


def _fill_creep(plan: Plan, rng: np.random.Generator) -> None:
    actor = _stop_scene(plan, rng, -rng.uniform(0.5, 2.0), 1)
    red = plan.signal[2][0]
    start = max(red, float(plan.grid[np.argmax(actor.s >= actor.s[-1] - 1e-6)])) + rng.uniform(1.0, 3.0)
    creep_v = rng.uniform(0.3, 0.8)
    go = rng.random() < 0.25
    distance = rng.uniform(1.0, 5.0) if not go else 25.0
    extra = np.clip((plan.grid - start) * creep_v, 0.0, distance)
    if go:  # a stand, then it drives off through the junction while still red
        extra = np.clip(0.5 * 2.0 * np.clip(plan.grid - start, 0.0, None) ** 2, 0.0, distance)
    actor.s = actor.s + extra
    plan.duration = start + (distance / creep_v if not go else 5.0) + rng.uniform(2.0, 4.0)
    plan.signal[-1] = (plan.duration + 30.0, "green")
    actor.constant_speed_kmh = None
    plan.actors.append(actor)


def _fill_red_runner(plan: Plan, rng: np.random.Generator) -> None:
    plan.actors.append(_runner(plan, rng, rng.uniform(-0.5, 5.0), "red"))


def _fill_amber(plan: Plan, rng: np.random.Generator) -> None:
    plan.actors.append(_runner(plan, rng, rng.uniform(-2.9, -0.1), "red"))


def _fill_signal_off(plan: Plan, rng: np.random.Generator) -> None:
    plan.actors.append(_runner(plan, rng, rng.uniform(1.0, 5.0), str(rng.choice(["off", "unknown", "flashing"]))))


def _fill_beside_solid(plan: Plan, rng: np.random.Generator) -> None:
    plan.solid_divider = True
    plan.duration = rng.uniform(6.0, 10.0)
    offset = rng.choice([-1, 1]) * rng.uniform(0.02, 0.9)
    actor = _cruiser(plan, rng, 1, 3.5 + offset, plan.direction, rng.uniform(25.0, 60.0))
    actor.kind = "car"
    actor.x = actor.x + 0.04 * np.sin(plan.grid * rng.uniform(0.5, 2.0))
    plan.actors.append(actor)


def _fill_solid_change(plan: Plan, rng: np.random.Generator) -> None:
    plan.solid_divider = True
    plan.duration = rng.uniform(7.0, 10.0)
    actor = _cruiser(plan, rng, 1, 1.75, plan.direction, rng.uniform(25.0, 55.0))
    actor.kind = "car"
    actor.x = lane_change(plan.grid, 1.75, 5.25, rng.uniform(1.5, plan.duration - 4.5), rng.uniform(2.0, 3.5))
    plan.actors.append(actor)


def _fill_speed(plan: Plan, rng: np.random.Generator) -> None:
    plan.duration = rng.uniform(5.0, 9.0)
    plan.limit_kmh = float(rng.choice([40.0, 60.0, 80.0]))
    threshold = plan.limit_kmh + plan.tolerance_kmh
    speed = threshold * rng.uniform(0.5, 1.5)
    plan.actors.append(_cruiser(plan, rng, 1, 1.75 if rng.random() < 0.5 else 5.25, plan.direction, speed))


def _fill_at_limit(plan: Plan, rng: np.random.Generator) -> None:
    plan.duration = rng.uniform(5.0, 9.0)
    speed = (plan.limit_kmh + plan.tolerance_kmh) * rng.uniform(0.85, 1.0)
    plan.actors.append(_cruiser(plan, rng, 1, 1.75 if rng.random() < 0.5 else 5.25, plan.direction, speed))
    plan.actors[-1].kind = "car"


def _fill_wrong_way(plan: Plan, rng: np.random.Generator) -> None:
    plan.duration = rng.uniform(6.0, 9.0)
    actor = _cruiser(plan, rng, 1, 1.75, -plan.direction, rng.uniform(20.0, 50.0))
    actor.kind, actor.lane_direction = "car", plan.direction
    if rng.random() < 0.3:  # a short reverse: a few metres backwards at walking pace
        actor.s = np.clip(plan.grid * rng.uniform(0.8, 1.5), 0.0, rng.uniform(2.0, 6.0))
        actor.constant_speed_kmh = None
    plan.actors.append(actor)


def _fill_bus_lane(plan: Plan, rng: np.random.Generator) -> None:
    plan.bus_lane = True
    plan.duration = rng.uniform(6.0, 9.0)
    kind = str(rng.choice(["car", "car", "bus", "truck"]))
    actor = _cruiser(plan, rng, 1, 5.25, plan.direction, rng.uniform(25.0, 55.0))
    actor.kind = kind
    if rng.random() < 0.3:  # cuts across the bus lane to turn: in it for a few metres only
        start = rng.uniform(1.0, plan.duration - 3.0)
        actor.x = lane_change(plan.grid, 1.75, 8.5, start, rng.uniform(1.5, 2.5))
    plan.actors.append(actor)


_FILL = {
    "stopped_before": _fill_stopped_before,
    "stopped_past": _fill_stopped_past,
    "creep": _fill_creep,
    "red_runner": _fill_red_runner,
    "amber": _fill_amber,
    "signal_off": _fill_signal_off,
    "beside_solid": _fill_beside_solid,
    "solid_change": _fill_solid_change,
    "speed": _fill_speed,
    "wrong_way": _fill_wrong_way,
    "bus_lane": _fill_bus_lane,
    "at_limit": _fill_at_limit,
}


def _background(plan: Plan, rng: np.random.Generator) -> None:
    """Zero or one car at constant speed in the opposite lane (no signal governs it; one, so none drives through
    another)."""
    for k in range(int(rng.integers(0, 2))):
        threshold = plan.limit_kmh + plan.tolerance_kmh
        fast = rng.random() < 0.2 and plan.kind != "at_limit"  # at the limit: nobody over it
        speed = float(rng.uniform(1.0, 1.5) * threshold if fast else rng.uniform(0.4, 1.0) * threshold)
        plan.actors.append(_cruiser(plan, rng, 10 + k, -1.75, -plan.direction, speed))
