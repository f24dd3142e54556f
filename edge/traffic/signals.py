"""Signal state you can trust: the camera's reading and the controller's feed fused per signal head.

Each signal head (one movement: ``main``, ``left_arrow``, ...) may be read by the camera (an ROI and the light
classifier, ``hardware.signal.CameraSignalSource``) and reported by the controller (``hardware.signals.ntcip``, or a
``ReplaySignalFeed`` of a recorded log). Per head and per time:

- both agree: that state (decided by the controller);
- the camera cannot tell (``unknown``: occluded, glare, low confidence): the controller's state;
- the controller cannot tell (link down, ``unknown``): the camera's state (decided by the classifier);
- they disagree (e.g. the controller says red and the head is dark or green): ``unknown`` for the whole
  disagreement, so no red-light violation can be issued on it (the rules fire only on a confident ``red``);
  disagreements no longer than ``tolerance_s`` are the two sources' lag at a phase change (the camera's debounce,
  the controller's poll) and keep the controller's state.

``SignalFusion.check(now)`` logs each disagreement longer than the tolerance once and counts it (``disagreements``,
``events``) and keeps the ones still going (``active``); ``SignalRuntime.report`` hands those to the camera's tamper
monitor, which ships them as the ``signal_mismatch`` health state (``CameraHealthEvent``, ``measures.signal_heads``),
so an operator sees them in ``GET /api/v1/cameras/health``. ``timeline(head_id)`` is a ``SignalTimeline`` whose
changes name the source that decided them (``source_at``), so the rules use it like any other timeline.

Per line: every stop and junction-entry line is judged on its own head (``head_for``: the line's ``signal``, else
the section's ``stop_lines`` map, else the primary head); ``govern_lines`` writes each line's head into the scene the
rules see and ``head_timelines`` gives them one timeline per head, the same two functions the scenario eval uses. A
disagreement on one head therefore suppresses red light only on the lines that head governs.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator

from edge.camera.events import HealthReporter
from edge.camera.monitor import HealthChange
from edge.traffic.scene import Line, LineKind, SceneConfig
from hardware.signal import (
    CameraSignalConfig,
    CameraSignalSource,
    PhaseChange,
    SignalHeadClassifier,
    SignalPhaseFeed,
    SignalTimeline,
)
from hardware.signals.ntcip import NtcipConfig, NtcipController
from kuzet.config import StrictModel
from kuzet.contracts import SignalSource, SignalState

logger = logging.getLogger(__name__)


class SignalsConfig(StrictModel):
    """The camera's signal heads, the controller link and how the two are fused."""

    camera: CameraSignalConfig | None = Field(default=None, description="Heads read off the frame (ROIs)")
    controller: NtcipConfig | None = Field(default=None, description="NTCIP 1202 controller; its heads map phases")
    tolerance_s: float = Field(
        default=0.6, ge=0.0, le=5.0, description="Disagreements this short are lag at a phase change, not a fault"
    )
    stop_lines: dict[str, str] = Field(
        default_factory=dict,
        max_length=64,
        description="Stop or junction-entry line id -> the signal head governing it (a line's own `signal` wins;"
        " a line named nowhere: the primary head)",
    )

    @model_validator(mode="after")
    def _heads_known(self) -> SignalsConfig:
        heads = self.head_ids()
        if not heads:
            raise ValueError("signals needs camera heads or a controller")
        unknown = sorted(set(self.stop_lines.values()) - set(heads))
        if unknown:
            raise ValueError(f"stop_lines name unknown signal heads {unknown}")
        return self

    def head_ids(self) -> tuple[str, ...]:
        """Every head, camera heads first (the first is the primary), then controller-only ones."""
        camera = [h.id for h in self.camera.heads] if self.camera is not None else []
        controller = list(self.controller.heads) if self.controller is not None else []
        return tuple(dict.fromkeys(camera + controller))


SIGNAL_LINES = frozenset({LineKind.STOP, LineKind.JUNCTION_ENTRY})
"""Line kinds a signal head governs."""
NO_HEAD = "no-signal-head"
"""The head a stop or junction-entry line names when none governs it: it has no timeline, so no red light there."""


def govern_lines(scene: SceneConfig, head_of: Callable[[Line], str | None]) -> SceneConfig:
    """The scene with every stop and junction-entry line naming the signal head that governs it.

    The one place a line gets its head, for the live agent (``SignalFusion.head_for``) and the scenario eval (the
    line's own ``signal``, else none); the rules then look each line's timeline up by that name
    (``edge.traffic.rules.base.timeline_for``), so a line is judged on its own head and no other.

    Args:
        scene: the camera's geometry.
        head_of: the head governing a line; None when none does (the line then names ``NO_HEAD``).
    """
    lines = tuple(
        line.model_copy(update={"signal": head_of(line) or NO_HEAD}) if line.kind in SIGNAL_LINES else line
        for line in scene.lines
    )
    return scene.model_copy(update={"lines": lines})


def head_timelines(
    governed: SceneConfig, timeline_of: Callable[[str], SignalTimeline | None]
) -> dict[str, SignalTimeline]:
    """The rules' signal input for a ``govern_lines`` scene: the timeline of each head its stop and junction-entry
    lines name (a head without one is left out, so its lines issue no red light)."""
    heads = dict.fromkeys(line.signal for line in governed.lines if line.kind in SIGNAL_LINES and line.signal)
    found = {head: timeline_of(head) for head in heads}
    return {head: timeline for head, timeline in found.items() if timeline is not None}


@dataclass(frozen=True, slots=True)
class SignalDisagreement:
    """The camera and the controller disagreed on one head from ``start`` to ``end`` (None: still ongoing);
    ``controller`` and ``camera`` are the states of the longest part of it."""

    head_id: str
    start: float
    end: float | None
    controller: SignalState
    camera: SignalState


@dataclass(frozen=True, slots=True)
class SignalReading:
    """A head's fused state at one time, the source that decided it (None: undecided) and both inputs."""

    state: SignalState
    source: SignalSource | None
    controller: SignalState | None
    camera: SignalState | None


def resolve(controller: SignalState, camera: SignalState) -> tuple[SignalState, SignalSource | None]:
    """The fused state of one instant, and its deciding source; ``(UNKNOWN, None)`` when they disagree."""
    if controller == camera or camera is SignalState.UNKNOWN:
        return controller, SignalSource.CONTROLLER
    if controller is SignalState.UNKNOWN:
        return camera, SignalSource.CLASSIFIER
    return SignalState.UNKNOWN, None


def fuse(
    controller: SignalTimeline, camera: SignalTimeline, tolerance_s: float, head_id: str = ""
) -> tuple[list[PhaseChange], list[SignalDisagreement]]:
    """Fused phase changes of one head and the disagreements longer than ``tolerance_s`` (open ones included)."""
    times = sorted({c.t for c in controller.changes} | {c.t for c in camera.changes})
    segments = []
    for k, t in enumerate(times):
        c, v = controller.state_at(t), camera.state_at(t)
        end = times[k + 1] if k + 1 < len(times) else math.inf
        segments.append((t, end, c, v, *resolve(c, v)))
    changes: list[PhaseChange] = []
    disagreements: list[SignalDisagreement] = []
    k = 0
    while k < len(segments):
        t, end, c, v, state, source = segments[k]
        if source is not None:
            changes.append(PhaseChange(t, state, source))
            k += 1
            continue
        last = k
        while last + 1 < len(segments) and segments[last + 1][5] is None:
            last += 1
        end = segments[last][1]
        if end - t > tolerance_s:
            changes.append(PhaseChange(t, SignalState.UNKNOWN, None))
            longest = max(segments[k : last + 1], key=lambda s: s[1] - s[0])  # the states that disagreed longest
            disagreements.append(
                SignalDisagreement(head_id, t, None if math.isinf(end) else end, longest[2], longest[3])
            )
        else:  # the sources' lag at a phase change: the controller decides
            changes.extend(PhaseChange(s[0], s[2], SignalSource.CONTROLLER) for s in segments[k : last + 1])
        k = last + 1
    return changes, disagreements


class FusedHeadFeed:
    """One fused head as a ``SignalPhaseFeed`` (e.g. the one a single-signal rule set uses)."""

    def __init__(self, fusion: SignalFusion, head_id: str) -> None:
        self.fusion, self.head_id = fusion, head_id

    @property
    def source(self) -> SignalSource:
        """The controller when the head has one, else the classifier."""
        return self.fusion.timeline(self.head_id).source

    def timeline(self) -> SignalTimeline:
        """The head's fused timeline."""
        return self.fusion.timeline(self.head_id)


class SignalFusion:
    """Camera and controller feeds fused per head.

    Args:
        config: heads, tolerance and stop-line map.
        camera: head id -> the camera's feed for that head (``CameraSignalSource.feed``).
        controller: head id -> the controller's feed (``NtcipController.feed`` or a ``ReplaySignalFeed``).
    """

    def __init__(
        self,
        config: SignalsConfig,
        camera: Mapping[str, SignalPhaseFeed] | None = None,
        controller: Mapping[str, SignalPhaseFeed] | None = None,
    ) -> None:
        self.config = config
        self.camera, self.controller = dict(camera or {}), dict(controller or {})
        self.heads = tuple(h for h in config.head_ids() if h in self.camera or h in self.controller)
        if not self.heads:
            raise ValueError("no signal head has a feed")
        self.disagreements = 0
        self.events: list[SignalDisagreement] = []
        self.active: tuple[SignalDisagreement, ...] = ()  # lasting past the tolerance and still going at the check
        self._logged: set[tuple[str, float]] = set()

    def _fused(self, head_id: str) -> tuple[SignalTimeline, list[SignalDisagreement]]:
        if head_id not in self.heads:
            raise KeyError(f"no signal head {head_id!r} (has {list(self.heads)})")
        controller, camera = self.controller.get(head_id), self.camera.get(head_id)
        if controller is None or camera is None:
            only = controller if controller is not None else camera
            if only is None:
                raise KeyError(f"signal head {head_id!r} has no feed")
            return only.timeline(), []
        changes, disagreements = fuse(controller.timeline(), camera.timeline(), self.config.tolerance_s, head_id)
        return SignalTimeline(changes, SignalSource.CONTROLLER), disagreements

    def timeline(self, head_id: str | None = None) -> SignalTimeline:
        """A head's fused timeline (default: the primary head)."""
        return self._fused(head_id or self.heads[0])[0]

    def state_at(self, head_id: str, t: float) -> SignalState:
        """A head's fused state at ``t``."""
        return self.timeline(head_id).state_at(t)

    def reading_at(self, head_id: str, t: float) -> SignalReading:
        """A head's fused state at ``t`` with the deciding source and both inputs (None: that source is absent)."""
        timeline = self.timeline(head_id)
        state = timeline.state_at(t)
        controller, camera = self.controller.get(head_id), self.camera.get(head_id)
        source = None if state is SignalState.UNKNOWN and controller and camera else timeline.source_at(t)
        return SignalReading(
            state,
            source,
            controller.timeline().state_at(t) if controller else None,
            camera.timeline().state_at(t) if camera else None,
        )

    def head_for(self, line: Line) -> str:
        """The head governing a stop or junction-entry line: its own ``signal``, else the ``stop_lines`` map, else
        the primary head.

        Raises:
            ValueError: the line and the map name different heads, or the head has no feed (a scene and a
                signals section that do not fit together must not silently judge a line on another head).
        """
        mapped = self.config.stop_lines.get(line.id)
        if line.signal is not None and mapped is not None and line.signal != mapped:
            raise ValueError(f"line {line.id!r} names signal head {line.signal!r}, stop_lines maps it to {mapped!r}")
        head = line.signal or mapped or self.heads[0]
        if head not in self.heads:
            raise ValueError(f"line {line.id!r}: signal head {head!r} has no feed (heads: {list(self.heads)})")
        return head

    def for_line(self, line: Line | str) -> SignalTimeline | None:
        """The fused timeline of the head governing a line (``head_for``); by id, the ``stop_lines`` map or the
        primary head (None when that head has no feed)."""
        if isinstance(line, Line):
            return self.timeline(self.head_for(line))
        head = self.config.stop_lines.get(line, self.heads[0])
        return self.timeline(head) if head in self.heads else None

    def timeline_or_none(self, head_id: str) -> SignalTimeline | None:
        """A head's fused timeline, None for a head without a feed."""
        return self.timeline(head_id) if head_id in self.heads else None

    def feed(self, head_id: str | None = None) -> FusedHeadFeed:
        """A head (default: the primary) as a ``SignalPhaseFeed``."""
        head = head_id or self.heads[0]
        self._fused(head)  # raises KeyError for an unknown head
        return FusedHeadFeed(self, head)

    def check(self, now: float) -> list[SignalDisagreement]:
        """Log and count the disagreements newly longer than the tolerance by ``now``; returns the new ones and keeps
        those still going at ``now`` in ``active``."""
        new: list[SignalDisagreement] = []
        active: list[SignalDisagreement] = []
        for head in self.heads:
            for d in self._fused(head)[1]:
                lasting = min(d.end if d.end is not None else now, now) - d.start > self.config.tolerance_s
                if lasting and (d.end is None or d.end > now):
                    active.append(d)
                if (head, d.start) in self._logged or not lasting:
                    continue
                self._logged.add((head, d.start))
                new.append(d)
                logger.warning(
                    "signal head %s: controller %s, camera %s from %.2f: state unknown, no red-light violation",
                    head,
                    d.controller,
                    d.camera,
                    d.start,
                )
        self.disagreements += len(new)
        self.events.extend(new)
        self.active = tuple(active)
        return new


class SignalRuntime:
    """A camera's signal sources as its ``signals`` section configures them: the camera heads (read per frame),
    the NTCIP controller (polled on a thread) and their fusion.

    Args:
        config: the ``signals`` section.
        classifier: the light classifier reading the camera heads (needed when the section has camera heads).
        controller: the controller driver (default: an ``NtcipController`` on ``config.controller``).
    """

    def __init__(
        self,
        config: SignalsConfig,
        classifier: SignalHeadClassifier | None = None,
        controller: NtcipController | None = None,
    ) -> None:
        self.camera: CameraSignalSource | None = None
        if config.camera is not None:
            if classifier is None:
                raise ValueError("signal heads read by the camera need a light classifier")
            self.camera = CameraSignalSource(classifier, config.camera)
        self.controller = controller
        if self.controller is None and config.controller is not None:
            self.controller = NtcipController(config.controller)
        camera_feeds = {h: self.camera.feed(h) for h in self.camera.head_ids} if self.camera else {}
        controller_feeds = {h: self.controller.feed(h) for h in self.controller.config.heads} if self.controller else {}
        self.fusion = SignalFusion(config, camera_feeds, controller_feeds)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start polling the controller (no-op without one)."""
        if self.controller is not None and self._thread is None:
            self._thread = threading.Thread(target=self.controller.run, args=(self._stop,), name="ntcip", daemon=True)
            self._thread.start()

    def observe(self, frame: NDArray[np.uint8], t: float) -> None:
        """Read every camera head in one frame and log the disagreements that have lasted past the tolerance."""
        if self.camera is not None:
            self.camera.observe_heads(frame, t)
        self.fusion.check(t)

    def report(self, health: HealthReporter, t: float) -> HealthChange | None:
        """Hand the disagreements going on at ``t`` (after ``observe``) to the camera's tamper monitor, which raises
        ``signal_mismatch`` at once (the fusion's tolerance already debounced it), clears it after its hysteresis
        and ships each change; returns that change."""
        active = self.fusion.active
        heads = tuple(dict.fromkeys(d.head_id for d in active))
        since = datetime.fromtimestamp(min(d.start for d in active), UTC) if active else None
        detail = "; ".join(f"{d.head_id}: controller {d.controller.value}, camera {d.camera.value}" for d in active)
        return health.observe_signals(heads, datetime.fromtimestamp(t, UTC), since, detail)

    def close(self) -> None:
        """Stop polling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None


__all__ = [
    "NO_HEAD",
    "SIGNAL_LINES",
    "FusedHeadFeed",
    "SignalDisagreement",
    "SignalFusion",
    "SignalReading",
    "SignalRuntime",
    "SignalsConfig",
    "fuse",
    "govern_lines",
    "head_timelines",
    "resolve",
]
