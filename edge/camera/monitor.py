"""The camera tamper monitor: covered, defocused, moved, frozen, offline, clock drift, thermal fault, with hysteresis.

PUBLIC INTERFACE (kept for the agents): agents call ``observe`` with the frames they already decode, ``observe_source``
with the frame source's status and ``observe_thermal`` with the thermal sensor's health; each returns a
``HealthChange`` only when the debounced state changes. Frames are analysed at most every ``analyse_every_s`` of
capture time on a grey copy about 320 px wide (``edge.camera.measures``), against a ``Baseline`` recorded at
installation or built from the stream's first ``baseline_s`` seconds. A condition becomes an active state after it
held ``raise_after_s`` and stops being one after it was absent ``clear_after_s`` (a dropped stream is raised at once:
the source has already given up on its frames). All times are the capture times the agent passes.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from edge.camera.baseline import Baseline, baseline_from_grey
from edge.camera.config import CameraHealthConfig
from edge.camera.measures import (
    Motion,
    brightness_contrast,
    coarse,
    correlation,
    estimate_motion,
    flat_fraction,
    mean_abs_diff,
    orb_features,
    sharpness,
    to_grey,
)
from hardware.camera import SourceStatus
from kuzet.contracts import SEVERITY, CameraHealthMeasures, CameraHealthState

logger = logging.getLogger(__name__)

State = CameraHealthState
COARSE_WIDTH = 40  # px: the picture at which a cover is told from a blur (both keep little detail)
IMMEDIATE_SOURCE_STATES = frozenset({"reconnecting", "ended", "failed", "closed"})
MESSAGES: dict[CameraHealthState, str] = {
    State.HEALTHY: "Camera healthy again: nothing to do",
    State.OFFLINE: "Camera stream is down or reconnecting: check power, cable and network",
    State.COVERED: "Camera view is covered or dark: remove the cover, clean the lens or check the lighting",
    State.FROZEN: "Camera picture is frozen on one frame: restart the camera or its encoder",
    State.DEFOCUSED: "Camera picture is blurred or misted: clean the lens and check the focus",
    State.MOVED: "Camera view has moved from its reference: re-aim and re-calibrate (speed and line checks paused)",
    State.CLOCK_DRIFT: "Capture times disagree with the device clock: check the time source (NTP/GPS)",
    State.THERMAL_FAULT: "Thermal sensor is silent, stuck or out of range: check the sensor",
}


@dataclass(frozen=True, slots=True)
class HealthChange:
    """A change of the camera's debounced health, as the agent ships it."""

    state: CameraHealthState
    active: tuple[CameraHealthState, ...]
    previous: CameraHealthState
    since: datetime
    at: datetime
    measures: CameraHealthMeasures
    message: str


class _Debounce:
    """One state's hysteresis: raised after its condition held ``raise_s``, cleared after it was absent ``clear_s``."""

    def __init__(self, raise_s: float, clear_s: float) -> None:
        self.raise_s = raise_s
        self.clear_s = clear_s
        self.active = False
        self.held_since: datetime | None = None
        self.absent_since: datetime | None = None

    def update(self, condition: bool, at: datetime, immediate: bool = False) -> None:
        if condition:
            self.absent_since = None
            self.held_since = self.held_since or at
            if immediate or (at - self.held_since).total_seconds() >= self.raise_s:
                self.active = True
        else:
            if not self.active:
                self.held_since = None
                return
            self.absent_since = self.absent_since or at
            if (at - self.absent_since).total_seconds() >= self.clear_s:
                self.active = False
                self.held_since = None


class CameraHealthMonitor:
    """Judges a camera's health from its frames (see module docstring).

    Args:
        config: thresholds, analysis rate and hysteresis.
        baseline: the reference recorded at installation; None takes it from the stream's first
            ``config.baseline_s`` seconds.
    """

    def __init__(self, config: CameraHealthConfig, baseline: Baseline | None = None) -> None:
        self.config = config
        self._states = {
            s: _Debounce(config.raise_after_s, config.clear_after_s) for s in SEVERITY if s != State.HEALTHY
        }
        self._conditions: dict[CameraHealthState, bool] = dict.fromkeys(self._states, False)
        self._reported: tuple[CameraHealthState, ...] = ()
        self._measures = CameraHealthMeasures()
        self._last_analysis: datetime | None = None
        self._previous_small: NDArray[np.float32] | None = None
        self._unchanged_since: datetime | None = None
        self._motions: deque[Motion] = deque(maxlen=config.moved_consistent)
        self._last_motion: Motion | None = None
        self._collecting: list[NDArray[np.uint8]] = []
        self._collect_start: datetime | None = None
        self.baseline: Baseline | None = None
        if baseline is not None:
            self._set_baseline(baseline)

    # ---------------------------------------------------------------- inputs

    def observe(
        self, frame_bgr: NDArray[np.uint8], captured_at: datetime, device_now: datetime | None = None
    ) -> HealthChange | None:
        """Analyse a decoded frame (cheaply skipped between analyses); a change when the debounced state changes.

        Args:
            frame_bgr: (H, W, 3) uint8 BGR frame.
            captured_at: its capture time (timezone-aware, the clock every other call uses).
            device_now: the device clock source's time at capture, when known (clock drift check).
        """
        if device_now is not None:
            self._clock(captured_at, device_now)
        if self._conditions[State.OFFLINE] and not self._states[State.OFFLINE].active:
            self._conditions[State.OFFLINE] = False  # frames arrive: a pending "connecting" is over
        last = self._last_analysis
        if last is not None and 0.0 <= (captured_at - last).total_seconds() < self.config.analyse_every_s:
            return self._settle(captured_at) if device_now is not None else None
        self._last_analysis = captured_at
        self._analyse(frame_bgr, captured_at)
        return self._settle(captured_at)

    def observe_source(self, status: SourceStatus, at: datetime) -> HealthChange | None:
        """The frame source's status: anything but ``streaming`` is offline (``connecting`` after ``raise_after_s``)."""
        down = status.state != "streaming"
        self._conditions[State.OFFLINE] = down
        self._states[State.OFFLINE].update(down, at, immediate=status.state in IMMEDIATE_SOURCE_STATES)
        return self._settle(at)

    def observe_thermal(self, ok: bool, at: datetime, reason: str = "") -> HealthChange | None:
        """The thermal sensor's health where there is one (False: silent, stuck or out of range)."""
        if not ok and not self._conditions[State.THERMAL_FAULT]:
            logger.warning("thermal sensor fault: %s", reason or "unknown")
        self._conditions[State.THERMAL_FAULT] = not ok
        return self._settle(at)

    def observe_clock(self, captured_at: datetime, device_now: datetime) -> HealthChange | None:
        """Capture time against the device clock source; clock drift beyond ``clock_tolerance_s``."""
        self._clock(captured_at, device_now)
        return self._settle(captured_at)

    # ---------------------------------------------------------------- outputs

    @property
    def state(self) -> CameraHealthState:
        """The current debounced state (the most severe active one)."""
        return self._reported[0] if self._reported else State.HEALTHY

    @property
    def active(self) -> tuple[CameraHealthState, ...]:
        """Every active non-healthy state, most severe first."""
        return self._reported

    @property
    def measures(self) -> CameraHealthMeasures:
        """The latest measures."""
        return self._measures

    @property
    def moved(self) -> bool:
        """True while the view is judged moved from its reference (speed and line checks must pause)."""
        return State.MOVED in self._reported

    def reference_shift(self) -> tuple[float, float] | None:
        """The latest trusted (shift px, rotation degrees) of the view against the reference; None when unknown."""
        motion = self._last_motion
        return None if motion is None else (motion.shift_px, motion.rotation_deg)

    # ---------------------------------------------------------------- analysis

    def _set_baseline(self, baseline: Baseline) -> None:
        self.baseline = baseline
        self._reference_features = orb_features(baseline.reference, self.config.orb_features)
        self._reference_coarse = coarse(baseline.reference, COARSE_WIDTH)

    def _clock(self, captured_at: datetime, device_now: datetime) -> None:
        offset = (captured_at - device_now).total_seconds()
        self._measures = self._measures.model_copy(update={"clock_offset_s": offset})
        self._conditions[State.CLOCK_DRIFT] = abs(offset) > self.config.clock_tolerance_s

    def _analyse(self, frame_bgr: NDArray[np.uint8], at: datetime) -> None:
        cfg = self.config
        grey = to_grey(frame_bgr, cfg.analyse_width)
        brightness, contrast = brightness_contrast(grey)
        baseline = self.baseline
        # a hazy or dark picture has proportionally less noise: the same-picture threshold scales with its contrast
        damping = 1.0 if baseline is None else min(1.0, contrast / max(baseline.contrast, 1e-6))
        frozen_s = self._frozen(grey, at, cfg.frozen_diff * damping)
        update: dict[str, float | None] = {"brightness": brightness, "contrast": min(contrast, 255.0)}
        update["frozen_s"] = frozen_s
        if baseline is None or grey.shape != baseline.reference.shape:
            self._collect(grey, frame_bgr, at)
            covered = brightness < cfg.covered_brightness
            self._conditions[State.COVERED] = covered
            self._measures = self._measures.model_copy(update=update)
            return
        ratio = sharpness(grey) / max(baseline.sharpness, 1e-6)
        covered = self._covered(grey, brightness, contrast, baseline)
        update["sharpness_ratio"] = min(ratio, 1000.0)
        self._conditions[State.COVERED] = covered
        self._conditions[State.DEFOCUSED] = ratio < cfg.defocused_ratio
        if covered:
            self._motions.clear()
        else:
            self._judge_motion(grey, baseline)
        if self._last_motion is not None:
            update["shift_px"] = self._last_motion.shift_px
            update["rotation_deg"] = self._last_motion.rotation_deg
        self._measures = self._measures.model_copy(update=update)

    def _collect(self, grey: NDArray[np.uint8], frame_bgr: NDArray[np.uint8], at: datetime) -> None:
        if self._collect_start is None or (self._collecting and self._collecting[0].shape != grey.shape):
            self._collect_start, self._collecting = at, []
        self._collecting.append(grey)
        if (at - self._collect_start).total_seconds() >= self.config.baseline_s:
            size = (int(frame_bgr.shape[1]), int(frame_bgr.shape[0]))
            cfg = self.config
            self._set_baseline(baseline_from_grey(self._collecting, size, cfg.flat_block_px, cfg.flat_block_std))
            self._collecting = []
            logger.info("camera baseline taken from the stream's first %.1f s", cfg.baseline_s)

    def _frozen(self, grey: NDArray[np.uint8], at: datetime, threshold: float) -> float:
        small = coarse(grey, self.config.frozen_width)
        previous, self._previous_small = self._previous_small, small
        if previous is None or mean_abs_diff(small, previous) >= threshold:
            self._unchanged_since = at
        since = self._unchanged_since or at
        frozen_s = (at - since).total_seconds()
        self._conditions[State.FROZEN] = frozen_s >= self.config.frozen_after_s
        return frozen_s

    def _covered(self, grey: NDArray[np.uint8], brightness: float, contrast: float, baseline: Baseline) -> bool:
        cfg = self.config
        if brightness < cfg.covered_brightness or brightness < cfg.covered_brightness_ratio * baseline.brightness:
            return True
        flat = flat_fraction(grey, cfg.flat_block_px, cfg.flat_block_std)
        collapsed = contrast < cfg.covered_contrast_ratio * baseline.contrast
        featureless = flat >= cfg.covered_flat_fraction and flat - baseline.flat_fraction >= cfg.covered_flat_gain
        if not (collapsed or featureless):
            return False
        return correlation(coarse(grey, COARSE_WIDTH), self._reference_coarse) < cfg.covered_max_correlation

    def _judge_motion(self, grey: NDArray[np.uint8], baseline: Baseline) -> None:
        cfg = self.config
        size = (grey.shape[1], grey.shape[0])
        motion = estimate_motion(self._reference_features, orb_features(grey, cfg.orb_features), size, baseline.scale)
        trusted = (
            motion is not None
            and motion.inliers >= cfg.moved_min_inliers
            and motion.inliers >= cfg.moved_min_inlier_share * motion.matches
        )
        if motion is None or not trusted:  # a cut, a vehicle filling the view, a cover: no judgement
            return
        self._last_motion = motion
        self._motions.append(motion)
        recent = list(self._motions)
        if len(recent) < cfg.moved_consistent:
            return
        width = baseline.frame_size[0]
        beyond = [self._beyond(m, width) for m in recent]
        if all(beyond):
            dxs, dys = [m.dx for m in recent], [m.dy for m in recent]
            spread = max(max(dxs) - min(dxs), max(dys) - min(dys))
            rotations = [m.rotation_deg for m in recent]
            stable = spread <= cfg.moved_stable_frac * width and (
                max(rotations) - min(rotations) <= cfg.moved_rotation_deg / 2
            )
            if stable:
                self._conditions[State.MOVED] = True
        elif not any(beyond):
            self._conditions[State.MOVED] = False

    def _beyond(self, motion: Motion, width: int) -> bool:
        cfg = self.config
        return (
            motion.shift_px > cfg.moved_shift_frac * width
            or abs(motion.rotation_deg) > cfg.moved_rotation_deg
            or abs(motion.scale - 1.0) > cfg.moved_scale
        )

    # ---------------------------------------------------------------- hysteresis

    def _settle(self, at: datetime) -> HealthChange | None:
        for key, debounce in self._states.items():
            debounce.update(self._conditions[key], at)
        active = tuple(s for s in SEVERITY if s in self._states and self._states[s].active)
        if active == self._reported:
            return None
        previous = self.state
        self._reported = active
        state = self.state
        since = self._since(state, previous, at)
        message = f"{MESSAGES[state]} ({self._describe()})"[:300]
        logger.warning("camera health %s -> %s: %s", previous, state, message)
        return HealthChange(state, active, previous, since, at, self._measures, message)

    def _since(self, state: CameraHealthState, previous: CameraHealthState, at: datetime) -> datetime:
        """When the condition behind ``state`` began (for healthy: when the previous one went away)."""
        if state != State.HEALTHY:
            return self._states[state].held_since or at
        if previous == State.HEALTHY:
            return at
        return self._states[previous].absent_since or at

    def _describe(self) -> str:
        m = self._measures
        parts = []
        if m.brightness is not None and m.contrast is not None:
            parts.append(f"brightness {m.brightness:.0f}, contrast {m.contrast:.1f}")
        if m.sharpness_ratio is not None:
            parts.append(f"sharpness x{m.sharpness_ratio:.2f}")
        if m.shift_px is not None and m.rotation_deg is not None:
            parts.append(f"shift {m.shift_px:.1f} px, rotation {m.rotation_deg:.1f} deg")
        if m.frozen_s:
            parts.append(f"unchanged {m.frozen_s:.1f} s")
        if m.clock_offset_s is not None:
            parts.append(f"clock offset {m.clock_offset_s:+.1f} s")
        return "; ".join(parts) or "no measures yet"
