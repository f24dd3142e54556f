"""The tamper monitor on real clips with tampering applied to their real frames (see ``clips`` for what is used).

Each tamper runs from 6 s to 16 s of clip time (the baseline is the first 3 s of the stream); it must raise the
right state within 5 s of its start and clear within 5 s of its end, and the untouched clips raise nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import cv2
import numpy as np
import pytest

from edge.camera.baseline import record_baseline
from edge.camera.config import CameraHealthConfig
from edge.camera.monitor import CameraHealthMonitor, HealthChange
from hardware.camera import SourceState, SourceStatus
from kuzet.contracts import CameraHealthEvent, CameraHealthState
from kuzet.devsets import tampers
from tests.edge.camera.clips import STEP_S, Image, at, blur, cap, hand, iter_clip, jpeg, rotate, sampled, shift

State = CameraHealthState
START, END, DEADLINE = 6.0, 16.0, 5.0
Tamper = Callable[[Image], Image]


def freeze() -> Tamper:
    """The first tampered frame repeated, re-encoded each time at a JPEG quality between 85 and 95."""
    held: list[Image] = []

    def apply(frame: Image) -> Image:
        if not held:
            held.append(frame)
        return jpeg(held[0], 85 + (len(held) * 7) % 11)

    return apply


def run(clip: str, tamper: Tamper, monitor: CameraHealthMonitor | None = None) -> list[tuple[float, HealthChange]]:
    monitor = monitor or CameraHealthMonitor(CameraHealthConfig())
    changes = []
    for t, frame in sampled(clip):
        image = tamper(frame) if START <= t < END else frame
        change = monitor.observe(image, at(t))
        if change is not None:
            changes.append((t, change))
    return changes


def assert_raised_and_cleared(changes: list[tuple[float, HealthChange]], expected: CameraHealthState) -> None:
    assert changes, f"{expected} never raised"
    raised_t, raised = changes[0]
    assert raised.state == expected and raised.previous == State.HEALTHY, changes
    assert START <= raised_t <= START + DEADLINE, f"{expected} raised at {raised_t:.1f} s"
    assert at(START) <= raised.since <= raised.at == at(raised_t)
    during = [c for t, c in changes if t < END]
    assert all(c.state == expected for c in during), [(t, c.state, c.active) for t, c in changes]
    cleared_t, cleared = changes[-1]
    assert cleared.state == State.HEALTHY and cleared.active == (), changes
    assert END <= cleared_t <= END + DEADLINE, f"{expected} cleared at {cleared_t:.1f} s"


TAMPERS: list[tuple[str, Tamper, CameraHealthState]] = [
    ("hand-85%", hand(0.85), State.COVERED),
    ("hand-100%", hand(1.3), State.COVERED),
    ("pale-hand-90%", hand(0.9, (120, 150, 200)), State.COVERED),
    ("cap", cap, State.COVERED),
    ("blur-3px", blur(3.0), State.DEFOCUSED),
    ("shift-3%", shift(0.03), State.MOVED),
    ("shift-down-3%", lambda f: np.ascontiguousarray(np.roll(f, int(0.03 * f.shape[1]), axis=0)), State.MOVED),
    ("rotate-2deg", rotate(2.0), State.MOVED),
    ("rotate-minus-2deg", rotate(-2.0), State.MOVED),
]


@pytest.mark.slow
@pytest.mark.parametrize("clip", ["ozlu", "intel"])
@pytest.mark.parametrize(("name", "tamper", "expected"), TAMPERS, ids=[t[0] for t in TAMPERS])
def test_tamper_is_raised_and_cleared(clip: str, name: str, tamper: Tamper, expected: CameraHealthState) -> None:
    assert_raised_and_cleared(run(clip, tamper), expected)


def zoom(factor: float) -> Tamper:
    """The view zoomed by ``factor`` about its centre."""

    def apply(frame: Image) -> Image:
        h, w = frame.shape[:2]
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, factor)
        return np.asarray(cv2.warpAffine(frame, matrix, (w, h), borderMode=cv2.BORDER_REFLECT), dtype=np.uint8)

    return apply


def mist(veil: float, sigma: float) -> Tamper:
    """A misted lens: a slight blur under a pale veil of strength ``veil``."""

    def apply(frame: Image) -> Image:
        blurred = blur(sigma)(frame).astype(np.float32)
        return np.asarray(np.clip(blurred * (1 - veil) + 230 * veil, 0, 255), dtype=np.uint8)

    return apply


def sticker(fraction: float) -> Tamper:
    """A dark sticker over the left ``fraction`` of the lens."""

    def apply(frame: Image) -> Image:
        covered = frame.copy()
        covered[:, : int(fraction * frame.shape[1])] = (40, 40, 40)
        return covered

    return apply


OTHER_MAGNITUDES: list[tuple[str, Tamper, CameraHealthState]] = [
    ("mist", mist(0.6, 1.5), State.DEFOCUSED),
    ("blur-1.5px", blur(1.5), State.DEFOCUSED),
    ("sticker-60%", sticker(0.6), State.COVERED),
    ("shift-10%", shift(0.10), State.MOVED),
    ("rotate-5deg", rotate(5.0), State.MOVED),
    ("zoom-1.1", zoom(1.1), State.MOVED),
    ("zoom-0.9", zoom(0.9), State.MOVED),
]


def uneven_mist(veil: float) -> Tamper:
    """Condensation as the development set renders it: a little scatter under a bright, blotchy veil."""
    apply = tampers.mist(veil, 0.005, np.random.default_rng(7))
    return lambda frame: apply(frame, 1.0)


CAR_PARK: list[tuple[str, Tamper, CameraHealthState]] = [
    ("uneven-mist-35%", uneven_mist(0.35), State.DEFOCUSED),
    ("shift-down-left-3.5%", lambda f: shift(-0.035)(np.ascontiguousarray(np.roll(f, 12, axis=0))), State.MOVED),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "tamper", "expected"), CAR_PARK, ids=[t[0] for t in CAR_PARK])
def test_mist_and_a_small_shift_on_the_low_texture_car_park(
    name: str, tamper: Tamper, expected: CameraHealthState
) -> None:
    """An almost featureless asphalt view: the mist must not read as a cover, the shift must be seen without ORB."""
    assert_raised_and_cleared(run("intel", tamper), expected)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "tamper", "expected"), OTHER_MAGNITUDES, ids=[t[0] for t in OTHER_MAGNITUDES])
def test_other_magnitudes_on_the_street_camera(name: str, tamper: Tamper, expected: CameraHealthState) -> None:
    assert_raised_and_cleared(run("ozlu", tamper), expected)


@pytest.mark.slow
def test_a_gradual_turn_is_moved() -> None:
    def turning(frame: Image, t: float) -> Image:
        return shift(0.05 * min(1.0, (t - START) / 4.0))(frame)  # 0 -> 5 % of the width over 4 s, then held

    monitor = CameraHealthMonitor(CameraHealthConfig())
    changes = []
    for t, frame in sampled("ozlu"):
        if (change := monitor.observe(turning(frame, t) if START <= t < END else frame, at(t))) is not None:
            changes.append((t, change))
    assert_raised_and_cleared(changes, State.MOVED)


@pytest.mark.slow
def test_a_cut_to_another_view_is_not_a_moved_camera() -> None:
    """An edited file cutting to another scene for 4 s (the Hamilton stage, resized): no matches, no move."""
    other = [cv2.resize(frame, (640, 352)) for _, frame in iter_clip("hamilton", STEP_S, 6.5)][-20:]
    monitor = CameraHealthMonitor(CameraHealthConfig())
    states = set()
    for index, (t, frame) in enumerate(sampled("ozlu")):
        cut = START <= t < START + 4.0
        monitor.observe(other[index % len(other)] if cut else frame, at(t))
        states.update(monitor.active)
    assert State.MOVED not in states


@pytest.mark.slow
def test_sway_sized_shift_is_tolerated() -> None:
    assert run("ozlu", shift(0.01)) == []


@pytest.mark.slow
@pytest.mark.parametrize("clip", ["ozlu", "intel"])
def test_repeated_frame_with_reencoding_noise_is_frozen(clip: str) -> None:
    changes = run(clip, freeze())
    assert_raised_and_cleared(changes, State.FROZEN)
    assert changes[0][1].measures.frozen_s is not None and changes[0][1].measures.frozen_s >= 2.0


@pytest.mark.slow
@pytest.mark.parametrize("clip", ["ozlu", "intel"])
def test_untouched_clip_raises_nothing(clip: str) -> None:
    monitor = CameraHealthMonitor(CameraHealthConfig())
    changes = [(t, c) for t, frame in iter_clip(clip) if (c := monitor.observe(frame, at(t))) is not None]
    assert changes == []
    assert monitor.state == State.HEALTHY and not monitor.moved
    shift_rotation = monitor.reference_shift()
    assert shift_rotation is not None and shift_rotation[0] < 0.02 * 768 and abs(shift_rotation[1]) < 1.0


@pytest.mark.slow
@pytest.mark.parametrize("state", ["reconnecting", "failed"])
def test_dropped_stream_is_offline_until_it_streams_again(state: SourceState) -> None:
    monitor = CameraHealthMonitor(CameraHealthConfig())
    changes: list[tuple[float, HealthChange | None]] = []
    down, up = False, False
    for t, frame in sampled("ozlu"):
        if START <= t < START + 3.0:  # the stream is down for 3 s: the source reports it, no frames arrive
            if not down:
                changes.append((t, monitor.observe_source(SourceStatus(state=state, drops=1), at(t))))
                down = True
            continue
        if down and not up:
            changes.append((t, monitor.observe_source(SourceStatus(state="streaming", drops=1, reconnects=1), at(t))))
            up = True
        changes.append((t, monitor.observe(frame, at(t))))
    real = [(t, c) for t, c in changes if c is not None]
    assert [c.state for _, c in real] == [State.OFFLINE, State.HEALTHY]
    assert real[0][0] - START < 0.3 and real[0][1].message.startswith("Camera stream is down")
    assert real[1][0] - (START + 3.0) <= DEADLINE


def test_connecting_at_start_is_not_offline_when_frames_follow() -> None:
    monitor = CameraHealthMonitor(CameraHealthConfig())
    assert monitor.observe_source(SourceStatus(state="connecting"), at(0.0)) is None
    changes = [monitor.observe(frame, at(t)) for t, frame in sampled("ozlu")[:20]]
    assert changes == [None] * 20 and monitor.state == State.HEALTHY


def test_connecting_that_lasts_is_offline() -> None:
    monitor = CameraHealthMonitor(CameraHealthConfig(raise_after_s=1.0))
    assert monitor.observe_source(SourceStatus(state="connecting"), at(0.0)) is None
    change = monitor.observe_source(SourceStatus(state="connecting", reconnect_attempts=2), at(1.5))
    assert change is not None and change.state == State.OFFLINE and change.since == at(0.0)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("offset_s", "expected"),
    [(5.0, [State.CLOCK_DRIFT, State.HEALTHY]), (-30.0, [State.CLOCK_DRIFT, State.HEALTHY]), (0.8, [])],
)
def test_clock_drift(offset_s: float, expected: list[CameraHealthState]) -> None:
    monitor = CameraHealthMonitor(CameraHealthConfig())
    changes = []
    for t, frame in sampled("ozlu"):
        drift = offset_s if START <= t < END else 0.1
        change = monitor.observe(frame, at(t), device_now=at(t) - timedelta(seconds=drift))
        if change is not None:
            changes.append((t, change))
    assert [c.state for _, c in changes] == expected
    if expected:
        assert changes[0][0] <= START + DEADLINE and changes[0][1].measures.clock_offset_s == pytest.approx(offset_s)
        assert changes[1][0] <= END + DEADLINE


def test_thermal_fault_is_debounced_and_cleared() -> None:
    monitor = CameraHealthMonitor(CameraHealthConfig())
    readings = [(t / 10, not (START <= t / 10 < END)) for t in range(0, 240)]
    changes = [(t, c) for t, ok in readings if (c := monitor.observe_thermal(ok, at(t), "stuck at 0 C")) is not None]
    assert [c.state for _, c in changes] == [State.THERMAL_FAULT, State.HEALTHY]
    assert changes[0][0] == pytest.approx(START + 1.5) and changes[1][0] == pytest.approx(END + 2.0)


@pytest.mark.slow
@pytest.mark.parametrize("seconds", [0.4, 1.0])
def test_a_short_cover_is_not_raised(seconds: float) -> None:
    monitor = CameraHealthMonitor(CameraHealthConfig())
    changes = []
    for t, frame in sampled("ozlu"):
        image = cap(frame) if START <= t < START + seconds else frame
        if (change := monitor.observe(image, at(t))) is not None:
            changes.append(change)
    assert changes == []


@pytest.mark.slow
def test_covered_and_moved_together_report_the_most_severe_first() -> None:
    monitor = CameraHealthMonitor(CameraHealthConfig())
    changes = run("ozlu", shift(0.05), monitor)
    assert changes[0][1].state == State.MOVED and monitor.state == State.HEALTHY
    monitor = CameraHealthMonitor(CameraHealthConfig())
    for t, frame in sampled("ozlu"):
        if t >= 12.0:
            break
        image = shift(0.05)(frame) if t >= START else frame
        monitor.observe(hand(0.9)(image) if t >= 9.0 else image, at(t))
    assert monitor.active[0] == State.COVERED and State.MOVED in monitor.active and monitor.moved


@pytest.mark.slow
def test_recorded_baseline_is_used_from_the_first_frame() -> None:
    frames = [frame for t, frame in sampled("ozlu") if t < 3.0]
    baseline = record_baseline(frames)
    monitor = CameraHealthMonitor(CameraHealthConfig(), baseline)
    changes = []
    for t, frame in sampled("ozlu"):
        if t >= 8.0:
            break
        change = monitor.observe(shift(0.03)(frame), at(t))  # moved from the very start of the stream
        if change is not None:
            changes.append((t, change))
    assert [c.state for _, c in changes] == [State.MOVED]
    assert changes[0][0] <= DEADLINE
    shift_px, rotation = monitor.reference_shift() or (0.0, 99.0)
    assert shift_px == pytest.approx(0.03 * 640, abs=3.0) and abs(rotation) < 0.5


@pytest.mark.slow
def test_a_change_ships_as_a_camera_health_event() -> None:
    change = run("ozlu", cap)[0][1]
    event = CameraHealthEvent(
        event_id="00000000-0000-4000-8000-000000000001",
        camera_id="demo-ozlu-street",
        captured_at=change.at,
        clock_source="file",
        state=change.state,
        active=change.active,
        previous=change.previous,
        since=change.since,
        measures=change.measures,
        message=change.message,
    )
    assert event.state == State.COVERED and "\n" not in event.message
    assert event.measures.brightness is not None and event.measures.brightness < 18.0


def test_a_clock_that_steps_back_does_not_stop_the_analysis() -> None:
    monitor = CameraHealthMonitor(CameraHealthConfig())
    frames = sampled("ozlu")
    for t, frame in frames[:20]:
        monitor.observe(frame, at(t + 3600.0))
    changes = [monitor.observe(cap(frame), at(t)) for t, frame in frames[20:40]]  # the clock stepped back an hour
    assert [c.state for c in changes if c is not None] == [State.COVERED]
