"""The ``kuzet eval violations`` / ``eval speed`` development set: generated traffic scenarios (EVAL.md format).

Each scenario is one fixed camera (``traffic_camera``: random frame size, focal length, height, tilt and yaw) over
a signalled approach, one situation (``traffic_kinds``: stopped before or past the stop line, creeping, red
runners, amber, a dark signal, beside or across a solid line, speeds, wrong way, bus lane; towards the camera or
moving away) with background traffic, and a detector's noise: box jitter, misses, an occlusion gap, lost frames
and irregular capture times, ghosts, and a survey whose scale is off by up to 2 ``scale_sigma`` (declared).
Vehicles are 3-D boxes projected through the camera, so a vehicle moving away shows its rear and a box is clipped
where it leaves the frame. The truth (``traffic_truth``) is judged on the true trajectories in road metres.

Plans: ``dev`` mixes every kind and noise (tune on seed 12); ``acceptance`` writes the issue's three sets (200
stopped before the line with 1 px jitter, 200 beside a solid line with 4 px jitter, 200 constant speeds at or
under the limit plus tolerance with the survey 10% off and 10% of frames lost). Same seed, same files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kuzet.devsets.traffic_camera import Camera, beyond_side, clip_polygon, clip_segment, image_direction, random_camera
from kuzet.devsets.traffic_kinds import KINDS, Plan, draw_plan
from kuzet.devsets.traffic_truth import Layout, Motion, truth_of

FORMAT = "kuzet-scenario/1"
DEV_SEED, HELD_OUT_SEED = 12, 31  # tune on the first; the second is only ever reported
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Noise:
    """A detector's and a camera's imperfections for one scenario."""

    jitter_px: float = 1.0
    miss: float = 0.0
    occlusion_s: float = 0.0
    frame_loss: float = 0.0
    ghosts: float = 0.0
    scale_error: float = 0.0  # in units of scale_sigma
    scale_sigma: float = 0.03
    point_sigma_m: float = 0.05
    timestamp_sigma_s: float = 0.002
    fps: float = 25.0

    def tags(self) -> list[str]:
        """EVAL.md's noise tags."""
        out = ["jitter"] if self.jitter_px >= 2.0 else []
        out += ["misses"] if self.miss > 0 else []
        out += ["occlusion"] if self.occlusion_s > 0 else []
        out += ["frame_loss"] if self.frame_loss > 0 else []
        out += ["ghosts"] if self.ghosts > 0 else []
        out += ["calibration_error"] if abs(self.scale_error) > 0.5 else []
        return out


def random_noise(rng: np.random.Generator) -> Noise:
    """Noise of a development scenario: each imperfection present in a good share of them."""
    scale_sigma = float(rng.choice([0.02, 0.03, 0.05]))
    return Noise(
        jitter_px=float(rng.choice([0.5, 1.0, 2.0, 3.0, 4.0])),
        miss=float(rng.choice([0.0, 0.0, 0.05, 0.15])),
        occlusion_s=float(rng.uniform(0.3, 1.0)) if rng.random() < 0.3 else 0.0,
        frame_loss=float(rng.choice([0.0, 0.0, 0.1, 0.2])),
        ghosts=0.03 if rng.random() < 0.3 else 0.0,
        scale_error=float(rng.uniform(-2.0, 2.0)) if rng.random() < 0.4 else float(rng.normal(0.0, 0.3)),
        scale_sigma=scale_sigma,
        point_sigma_m=float(rng.choice([0.03, 0.05, 0.1])),
        timestamp_sigma_s=float(rng.choice([0.001, 0.002, 0.005])),
        fps=float(rng.choice([25.0, 30.0, 15.0, 12.5])),
    )


def _scene(camera: Camera, plan: Plan) -> dict[str, Any]:
    near, far = camera.near_far()
    y_lo, y_hi = near - 3.0, min(far, near + 80.0)
    lanes: list[dict[str, Any]] = []
    for lane_id, x0, x1, sign in (("m1", 0.0, 3.5, 1), ("m2", 3.5, 7.0, 1), ("o1", -3.5, 0.0, -1)):
        direction = plan.direction * sign
        polygon = clip_polygon(camera, np.array([[x0, y_lo], [x1, y_lo], [x1, y_hi], [x0, y_hi]]))
        if polygon is None:
            continue
        mid = (x0 + x1) / 2.0, (near + 10.0)
        bus = plan.bus_lane and lane_id == "m2"
        lanes.append(
            {
                "id": lane_id,
                "polygon": polygon,
                "direction_deg": image_direction(camera, mid, (mid[0], mid[1] + 5.0 * direction)),
                "kind": "bus" if bus else "normal",
                "speed_limit_kmh": plan.limit_kmh,
                "speed_tolerance_kmh": plan.tolerance_kmh,
            }
        )
    lines: list[dict[str, Any]] = []
    for line_id, kind, y in (("stop", "stop", plan.stop_y), ("entry", "junction_entry", plan.junction_y)):
        seg = clip_segment(camera, (0.0, y), (7.0, y))
        if seg is not None:
            past = (3.5, y + plan.direction * 2.0)
            side = beyond_side(camera, seg[0], seg[1], past)
            lines.append({"id": line_id, "kind": kind, "p1": seg[0], "p2": seg[1], "beyond": side,
                          "lanes": ["m1", "m2"], "signal": "main"})  # fmt: skip
    for line_id, kind, x in (("centre", "solid", 0.0), ("divider", "solid" if plan.solid_divider else "dashed", 3.5)):
        seg = clip_segment(camera, (x, y_lo), (x, y_hi))
        if seg is not None:
            lines.append({"id": line_id, "kind": kind, "p1": seg[0], "p2": seg[1]})
    return {"lanes": lanes, "lines": lines}


def _survey(camera: Camera, noise: Noise, rng: np.random.Generator) -> dict[str, Any]:
    near, _ = camera.near_far()
    road = np.array([[x, y] for y in (near + 2.0, near + 12.0, near + 25.0) for x in (-3.5, 7.0)])
    image = camera.ground(road) + rng.normal(0.0, 0.5, road.shape)
    surveyed = road * (1.0 + noise.scale_error * noise.scale_sigma) + rng.normal(0.0, noise.point_sigma_m, road.shape)
    return {
        "image_points": np.round(image, 2).tolist(),
        "road_points": np.round(surveyed, 3).tolist(),
        "point_sigma_m": noise.point_sigma_m,
        "scale_sigma": noise.scale_sigma,
    }


def _frame_times(plan: Plan, noise: Noise, rng: np.random.Generator) -> np.ndarray:
    period = 1.0 / noise.fps
    n = math.ceil(plan.duration / period)
    t = np.clip(np.arange(n) * period + rng.uniform(-0.1, 0.1, n) * period, 0.0, None)
    keep = rng.random(len(t)) >= noise.frame_loss
    return np.asarray(np.sort(t[keep]))


def _motions(plan: Plan, camera: Camera, t: np.ndarray) -> tuple[list[Motion], list[list[Any]]]:
    """True trajectories at the frame times and each vehicle's (box, clipped) per frame."""
    motions, boxes = [], []
    for a in plan.actors:
        y = a.y0 + a.direction * np.interp(t, plan.grid, a.s)
        x = np.interp(t, plan.grid, a.x)
        dy, dx = np.gradient(y, t) if len(t) > 1 else np.zeros(1), np.gradient(x, t) if len(t) > 1 else np.zeros(1)
        moving = np.hypot(dx, dy) > 0.05
        heading = np.where(moving, np.arctan2(dx, dy), 0.0 if a.direction > 0 else math.pi)
        per_frame = [camera.box((float(x[k]), float(y[k])), float(heading[k]), a.kind) for k in range(len(t))]
        visible = np.array([b is not None for b in per_frame])
        lane_dir = a.lane_direction if a.lane_direction is not None else a.direction
        motions.append(Motion(a.object_id, a.kind, a.direction, x, y, visible, a.constant_speed_kmh, lane_dir))
        boxes.append(per_frame)
    return motions, boxes


def _detections(
    camera: Camera, t: np.ndarray, boxes: list[list[Any]], ids: list[int], noise: Noise, rng: np.random.Generator
) -> list[list[list[Any]]]:
    w, h = camera.size
    out: list[list[list[Any]]] = [[] for _ in t]
    gap = (rng.uniform(0.2, 0.7) * t[-1], noise.occlusion_s) if len(t) else (0.0, 0.0)
    for obj, per_frame in zip(ids, boxes, strict=True):
        for k, item in enumerate(per_frame):
            if item is None or rng.random() < noise.miss:
                continue
            if obj == ids[0] and gap[0] <= t[k] < gap[0] + gap[1]:
                continue
            box = np.clip(item[0] + rng.normal(0.0, noise.jitter_px, 4), [0, 0, 0, 0], [w, h, w, h])
            if box[2] - box[0] < 4 or box[3] - box[1] < 4:
                continue
            out[k].append([*np.round(box, 1).tolist(), "", round(float(rng.uniform(0.55, 0.95)), 3), obj])
    for k in range(len(t)):
        if rng.random() < noise.ghosts:
            size = rng.uniform(25.0, 150.0)
            x, y = rng.uniform(0, w - size), rng.uniform(0, h - size)
            out[k].append([round(x, 1), round(y, 1), round(x + size, 1), round(y + size * 0.8, 1), "car",
                           round(float(rng.uniform(0.5, 0.8)), 3), -1])  # fmt: skip
    return out


def scenario(scenario_id: str, kind: str, rng: np.random.Generator, noise: Noise | None = None) -> dict[str, Any]:
    """One scenario of ``kind`` (noise drawn at random unless given)."""
    camera = random_camera(rng)
    noise = noise or random_noise(rng)
    plan = draw_plan(kind, rng, camera)
    t_true = _frame_times(plan, noise, rng)
    motions, boxes = _motions(plan, camera, t_true)
    dets = _detections(camera, t_true, boxes, [m.object_id for m in motions], noise, rng)
    kinds = {m.object_id: m.kind for m in motions}
    for frame in dets:
        for d in frame:
            d[4] = d[4] or kinds[d[6]]
    measured = t_true + rng.normal(0.0, noise.timestamp_sigma_s, len(t_true))
    measured = np.maximum.accumulate(measured + np.arange(len(measured)) * 1e-6)
    layout = Layout(plan.stop_y, plan.junction_y, plan.direction, (0.0, 7.0), 3.5 if plan.solid_divider else 0.0,
                    (3.5, 7.0) if plan.bus_lane else None, plan.limit_kmh, plan.tolerance_kmh)  # fmt: skip
    truth = truth_of(motions, t_true, plan.signal, layout)
    return {
        "format": FORMAT,
        "id": scenario_id,
        "tags": sorted({kind, *plan.tags, *noise.tags()}),
        "image_size": list(camera.size),
        "nominal_fps": noise.fps,
        "calibration": _survey(camera, noise, rng),
        "timing": {"timestamp_sigma_s": noise.timestamp_sigma_s},
        "scene": _scene(camera, plan),
        "signals": {"main": [[round(t, 3), s] for t, s in plan.signal]},
        "frames": [{"t": round(float(tm), 4), "detections": d} for tm, d in zip(measured, dets, strict=True)],
        "truth": truth,
    }


def acceptance_noise(kind: str) -> Noise:
    """The issue's acceptance conditions for ``kind``."""
    if kind == "stopped_before":
        return Noise(jitter_px=1.0)
    if kind == "beside_solid":
        return Noise(jitter_px=4.0)
    return Noise(jitter_px=1.0, frame_loss=0.1, scale_error=2.0, scale_sigma=0.05)


def generate(out: Path, seed: int, count: int, plan: str = "dev", progress: Progress | None = None) -> int:
    """Write the scenarios of a plan to ``out``: ``count`` for ``dev``, ``count`` per set for ``acceptance``."""
    say = progress or (lambda _m: None)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    jobs: list[tuple[str, str, Noise | None]] = []
    if plan == "acceptance":
        for kind in ("stopped_before", "beside_solid", "at_limit"):
            jobs += [(f"{kind}-{k:04d}", kind, acceptance_noise(kind)) for k in range(count)]
    else:
        jobs = [(f"{KINDS[k % len(KINDS)]}-{k:04d}", KINDS[k % len(KINDS)], None) for k in range(count)]
    for n, (name, kind, noise) in enumerate(jobs, start=1):
        data = scenario(name, kind, rng, noise)
        (out / f"{name}.json").write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        if n % 100 == 0 or n == len(jobs):
            say(f"[{n}/{len(jobs)}] {name}")
    return len(jobs)
