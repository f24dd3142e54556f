"""The camera tamper monitor: covered, defocused, moved, frozen, offline, clock drift, thermal fault, with hysteresis
(and a traffic camera's signal mismatch).

PUBLIC INTERFACE (kept for the agents): agents call ``observe`` with the frames they already decode, ``observe_source``
with the frame source's status, ``observe_thermal`` with the thermal sensor's health and ``observe_signals`` with the
signal heads whose camera reading and controller feed disagree; each returns a ``HealthChange`` only when the
debounced state changes. Frames are analysed at most every ``analyse_every_s`` of
capture time on a grey copy about 320 px wide (``edge.camera.measures``), against a ``Baseline`` recorded at
installation or built from the stream's first ``baseline_s`` seconds. A condition becomes an active state after it
held ``raise_after_s`` and stops being one after it was absent ``clear_after_s`` (a dropped stream is raised at once:
the source has already given up on its frames). All times are the capture times the agent passes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from edge.camera.baseline import Baseline, baseline_from_grey
from edge.camera.config import CameraHealthConfig
from edge.camera.judge import LensJudge, MotionJudge, Reference, detail_kept, reference_of, scene_shift
from edge.camera.measures import brightness_contrast, coarse, to_grey
from hardware.camera import SourceStatus
from kuzet.contracts import SEVERITY, CameraHealthMeasures, CameraHealthState

logger = logging.getLogger(__name__)

State = CameraHealthState
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
    State.SIGNAL_MISMATCH: "Signal head seen otherwise than the controller reports: no red-light violation on its"
    " lines; check the head's ROI and the controller link",
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
        self._anchor_small: NDArray[np.float32] | None = None
        self._frozen_strays = 0
        self._unchanged_since: datetime | None = None
        self._lens = LensJudge(config)
        self._motion = MotionJudge(config)
        self._collecting: list[NDArray[np.uint8]] = []
        self._collect_start: datetime | None = None
        self._signal_detail = ""
        self.baseline: Baseline | None = None
        self._reference: Reference | None = None
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

    def observe_signals(
        self, heads: tuple[str, ...], at: datetime, since: datetime | None = None, detail: str = ""
    ) -> HealthChange | None:
        """The signal heads whose camera reading and controller feed disagree now (``edge.traffic.signals``, which
        already ignored the sources' lag): raised at once from ``since`` (when the disagreement began), cleared
        after ``clear_after_s`` without one. ``detail`` (the states of each) goes into the message."""
        if heads == (self._measures.signal_heads or ()):
            return None  # nothing new: the next analysis settles the hysteresis
        debounce = self._states[State.SIGNAL_MISMATCH]
        self._conditions[State.SIGNAL_MISMATCH] = bool(heads)
        self._measures = self._measures.model_copy(update={"signal_heads": heads or None})
        if heads:
            self._signal_detail = detail
            debounce.update(True, at, immediate=True)
            if since is not None and debounce.held_since is not None:
                debounce.held_since = min(debounce.held_since, since)
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
        motion = self._motion.last
        return None if motion is None else (motion.shift_px, motion.rotation_deg)

    # ---------------------------------------------------------------- analysis

    def _set_baseline(self, baseline: Baseline) -> None:
        self.baseline = baseline
        self._reference = reference_of(baseline, self.config)

    def _clock(self, captured_at: datetime, device_now: datetime) -> None:
        offset = (captured_at - device_now).total_seconds()
        self._measures = self._measures.model_copy(update={"clock_offset_s": offset})
        self._conditions[State.CLOCK_DRIFT] = abs(offset) > self.config.clock_tolerance_s

    def _analyse(self, frame_bgr: NDArray[np.uint8], at: datetime) -> None:
        cfg = self.config
        grey = to_grey(frame_bgr, cfg.analyse_width)
        brightness, contrast = brightness_contrast(grey)
        baseline = self.baseline
        frozen_s = self._frozen(grey, at)
        update: dict[str, float | None] = {"brightness": brightness, "contrast": min(contrast, 255.0)}
        update["frozen_s"] = frozen_s
        if baseline is None or grey.shape != baseline.reference.shape:
            self._collect(grey, frame_bgr, at)
            covered = brightness < cfg.covered_brightness
            self._conditions[State.COVERED] = covered
            self._conditions[State.FROZEN] &= not covered
            self._measures = self._measures.model_copy(update=update)
            return
        reference = self._reference
        assert reference is not None  # set with the baseline
        ratio, lost, gained = detail_kept(grey, reference, cfg)
        update["sharpness_ratio"] = min(ratio, 1000.0)
        dark = brightness < cfg.covered_brightness or brightness < cfg.covered_brightness_ratio * baseline.brightness
        scene = scene_shift(grey, reference)
        # a view turned to another part of the scene has other detail and another layout: when two estimates agree
        # that it moved beyond the tolerance, that is a moved camera, not a cover or a blur
        sure_moved = not dark and self._motion.judge(grey, reference, scene, at)
        if dark:
            covered, defocused, self._lens.verdict = True, False, "covered"
        elif sure_moved:
            covered, defocused, self._lens.verdict = False, False, None
        else:
            covered, defocused = self._lens.judge(grey, reference, contrast, (ratio, lost, gained), scene)
        self._conditions[State.COVERED] = covered
        self._conditions[State.DEFOCUSED] = defocused
        self._conditions[State.MOVED] = self._motion.moved
        if dark:  # the estimates before a cap or paint no longer say where the view points
            self._motion.clear()
        # a covered lens may send the same dark picture over and over: that is the cover, not a freeze
        self._conditions[State.FROZEN] &= not self._conditions[State.COVERED]
        motion = self._motion.last
        if motion is not None:
            update["shift_px"] = motion.shift_px
            update["rotation_deg"] = motion.rotation_deg
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

    def _frozen(self, grey: NDArray[np.uint8], at: datetime) -> float:
        """Seconds the picture has stayed the same: every pixel (at ``frozen_width``) within ``frozen_diff`` of the
        first frame of the run, one stray analysis forgiven (an encoder's key frame). Re-encoding noise stays within;
        a live view, however quiet, moves somewhere."""
        cfg = self.config
        small = coarse(grey, cfg.frozen_width)
        anchor = self._anchor_small
        if anchor is None or anchor.shape != small.shape:
            self._frozen_strays = 2
        elif float(np.abs(small - anchor).max()) < cfg.frozen_diff:
            self._frozen_strays = 0
        else:
            self._frozen_strays += 1
        if self._frozen_strays >= 2:
            self._anchor_small, self._unchanged_since, self._frozen_strays = small, at, 0
        since = self._unchanged_since or at
        frozen_s = (at - since).total_seconds()
        self._conditions[State.FROZEN] = frozen_s >= cfg.frozen_after_s
        return frozen_s

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
        if State.SIGNAL_MISMATCH in self._reported and self._signal_detail:  # first: the message is cut at 300
            parts.append(f"signal heads {self._signal_detail}")
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
