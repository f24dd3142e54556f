"""Per-line signal heads in the live traffic agent, and their disagreements on the operator's health endpoint.

One ``build_agent`` pass (the real wiring: signals section, fusion, violation stage, tamper monitor, spool) over real
frames of the bundled street clip with two real signal-head crops pasted in (read per frame by the real light
classifier), while the real NTCIP driver polls a UDP agent replaying the controller (the test double at the
controller boundary). Two junction-entry lines: ``entry_through`` names no head (the primary, ``main``) and
``entry_left`` its own ``left_arrow``. Vehicles cross each line while only one head is red, then while the left
arrow's lamp is dark although the controller says red: red light fires only on the line whose own head is red,
and the disagreement suppresses only the left arrow's line. The spooled ``signal_mismatch`` health changes are then
posted to a real backend on a SQLite file, which stores them and shows them to the district's operator.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from backend.db import connect
from edge.camera.config import CameraHealthConfig
from edge.camera.monitor import CameraHealthMonitor
from edge.spool import Spool
from edge.traffic.agent import TrafficAgent, build_agent
from edge.traffic.config import TrafficConfig
from edge.traffic.pipeline import TrackSummary
from edge.traffic.scene import Line, SceneConfig
from edge.traffic.signals import NO_HEAD, SignalFusion, SignalsConfig, govern_lines, head_timelines
from edge.traffic.speed import SpeedConfig
from edge.traffic.tracks import track_view
from hardware.signal import PhaseChange, ReplaySignalFeed, SignalSource, SignalState, SignalTimeline
from hardware.signals import NtcipController
from kuzet.contracts import CameraHealthEvent, CameraHealthState, ClockSource, EventBatch
from models.detections import Detections
from tests.backend.conftest import open_api
from tests.conftest import require_data
from tests.hardware.ntcip_agent import NtcipAgent

R, G, OFF, UNK = SignalState.RED, SignalState.GREEN, SignalState.OFF, SignalState.UNKNOWN
MISMATCH = CameraHealthState.SIGNAL_MISMATCH
T0, FPS, FRAMES = 1_795_402_800.0, 10.0, 230
CAMERA = "cam-junction"
MAIN_ROI, ARROW_ROI = (560, 20, 590, 86), (600, 20, 630, 86)
MAIN_RED_AT, ARROW_DARK, ARROW_LIT_AGAIN = 100, 100, 170  # frame indices (10 fps from T0)
SCENE = {
    "image_size": (640, 352),
    "lanes": [
        {"id": "through", "polygon": [(0, 0), (320, 0), (320, 352), (0, 352)], "direction_deg": 90},
        {"id": "left", "polygon": [(320, 0), (640, 0), (640, 352), (320, 352)], "direction_deg": 90},
    ],
    "lines": [
        {"id": "entry_through", "p1": (0, 200), "p2": (320, 200), "kind": "junction_entry"},
        {"id": "entry_left", "p1": (320, 200), "p2": (640, 200), "kind": "junction_entry", "signal": "left_arrow"},
    ],
}
CARS = {1: (160, 20), 2: (480, 20), 3: (160, 120), 4: (480, 120)}  # track id -> (lane x, first frame); 4 s each


def _crop(shape: str, colour: str) -> NDArray[np.uint8]:
    root = require_data("traffic/lights")
    rows = csv.DictReader((root / "labels.csv").open())
    row = next(r for r in rows if r["split"] == "test" and r["shape"] == shape and r["colour"] == colour)
    return np.asarray(cv2.imread(str(root / row["image"])), dtype=np.uint8)


def _paste(frame: NDArray[np.uint8], roi: tuple[int, int, int, int], crop: NDArray[np.uint8]) -> None:
    x1, y1, x2, y2 = roi
    frame[y1:y2, x1:x2] = cv2.resize(crop, (x2 - x1, y2 - y1), interpolation=cv2.INTER_AREA)


def _frames(samples: Path) -> list[NDArray[np.uint8]]:
    """Real street frames with the two heads pasted in: main green then red; the arrow red, dark, red again."""
    green, red, arrow = _crop("round", "green"), _crop("round", "red"), _crop("arrow", "red")
    dark_arrow = arrow[int(arrow.shape[0] * 0.45) :]  # the same head's unlit part: real pixels, no lamp lit
    capture = cv2.VideoCapture(str(samples / "traffic" / "ozlu_vehicle_counting.mp4"))
    frames = []
    for k in range(FRAMES):
        ok, frame = capture.read()
        assert ok, k
        _paste(frame, MAIN_ROI, green if k < MAIN_RED_AT else red)
        _paste(frame, ARROW_ROI, dark_arrow if ARROW_DARK <= k < ARROW_LIT_AGAIN else arrow)
        frames.append(np.asarray(frame, dtype=np.uint8))
    capture.release()
    return frames


def _config(work: Path, port: int) -> TrafficConfig:
    return TrafficConfig.model_validate(
        {
            "scene": SCENE,
            "violations": {"evidence": {"chain_dir": work / "chain", "key_dir": work / "keys", "clip": False}},
            "signals": {
                "camera": {
                    "heads": [
                        {"id": "main", "roi": MAIN_ROI},
                        {"id": "left_arrow", "roi": ARROW_ROI, "shape": "arrow"},
                    ],
                    "min_consecutive": 2,
                },
                "controller": {
                    "host": "127.0.0.1",
                    "port": port,
                    "heads": {"main": 2, "left_arrow": 5},
                    "poll_interval_s": 10.0,  # the test polls on its own clock; the agent's thread only at start
                },
                "tolerance_s": 0.6,
            },
        }
    )


def _summary(agent: TrafficAgent, track_id: int) -> TrackSummary:
    """A car 60x40 px driving down its lane at 40 px/s for 4 s; its front crosses y = 200 after 2 s."""
    x, first = CARS[track_id]
    frames = np.arange(first, first + 41)
    bottom = 120.0 + 4.0 * (frames - first)
    boxes = np.stack([np.full(len(frames), x - 30.0), bottom - 40.0, np.full(len(frames), x + 30.0), bottom], 1)
    scene = agent.pipeline.config.scene
    view, speed = track_view(track_id, "car", T0 + frames / FPS, boxes, frames, None, scene, SpeedConfig())
    return TrackSummary(view, speed, None, ())


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def one_pass(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("signal-lines")
    frames = _frames(samples)
    clock = Clock()
    replay = {  # phase 2 drives the main head (green, red from 10 s), phase 5 the left arrow (red throughout)
        2: SignalTimeline([PhaseChange(T0, G), PhaseChange(T0 + MAIN_RED_AT / FPS, R)], SignalSource.CONTROLLER),
        5: SignalTimeline([PhaseChange(T0, R)], SignalSource.CONTROLLER),
    }
    with NtcipAgent(replay, clock) as controller_double:
        config = _config(work, controller_double.port)
        assert config.signals is not None and config.signals.controller is not None
        spool = Spool(work / "spool.sqlite")
        driver = NtcipController(config.signals.controller, clock)
        agent = build_agent(config, spool, CAMERA, ClockSource.FILE, T0, CameraHealthConfig(), driver)
        for k, frame in enumerate(frames):
            clock.t = T0 + k / FPS
            if k % 2 == 0:
                driver.poll()
            agent.on_frame(frame, clock.t, k, Detections.empty())
            for track_id in [i for i, (_, first) in CARS.items() if first + 40 == k]:  # the track ends here
                agent.on_track(_summary(agent, track_id))
        agent.close()
    events = [json.loads(e.payload) for e in spool.peek(1000)]
    spool.close()
    assert agent.signals is not None
    yield {"agent": agent, "events": events, "fusion": agent.signals.fusion, "driver": driver}


def test_red_light_fires_only_on_the_line_whose_own_head_is_red(one_pass: dict[str, Any]) -> None:
    agent, events = one_pass["agent"], one_pass["events"]
    violations = [(v.track_id, v.line_id, v.details["signal_head"]) for v, _ in agent.stats.violations]
    # car 1: through on green; car 2: left on the arrow's red; car 3: through on red; car 4: left while the arrow is
    # dark and the controller says red (unknown: suppressed on that line only)
    assert sorted(violations) == [(2, "entry_left", "left_arrow"), (3, "entry_through", "main")]
    spooled = sorted((e["track_id"], e["violation"]) for e in events if e["kind"] == "violation")
    assert spooled == [(2, "red_light"), (3, "red_light")]
    assert agent.violations is not None and agent.violations.withheld == 0
    assert one_pass["driver"].polls >= FRAMES // 2 and one_pass["driver"].failures == 0


def test_each_line_is_judged_on_its_own_fused_head(one_pass: dict[str, Any]) -> None:
    fusion: SignalFusion = one_pass["fusion"]
    stage = one_pass["agent"].violations
    through, left = stage.scene.lines
    assert [line.signal for line in stage.rules_scene.lines] == ["main", "left_arrow"]  # the primary; its own
    for line, t, state in [(through, 4, G), (left, 4, R), (through, 14, R), (left, 14, UNK), (left, 20, R)]:
        timeline = fusion.for_line(line)
        assert timeline is not None and timeline.state_at(T0 + t) is state, (line.id, t)
        assert stage.signals()[line.signal or "main"].state_at(T0 + t) is state
    reading = fusion.reading_at("left_arrow", T0 + 14)
    assert (reading.state, reading.controller, reading.camera) == (UNK, R, OFF)
    assert [(d.head_id, d.controller, d.camera) for d in fusion.events] == [("left_arrow", R, OFF)]
    assert fusion.disagreements == 1 and fusion.active == ()


def test_the_disagreement_is_spooled_as_a_health_change(one_pass: dict[str, Any]) -> None:
    health = [e for e in one_pass["events"] if e["kind"] == "camera_health"]
    assert [(e["state"], e["previous"]) for e in health] == [
        ("signal_mismatch", "healthy"),
        ("healthy", "signal_mismatch"),
    ]
    raised = health[0]
    assert raised["active"] == ["signal_mismatch"] and raised["measures"]["signal_heads"] == ["left_arrow"]
    since = datetime.fromisoformat(raised["since"]).timestamp() - T0
    assert ARROW_DARK / FPS <= since <= ARROW_DARK / FPS + 0.5  # when the lamp went dark, not when it was noticed
    assert "left_arrow: controller red, camera off" in raised["message"]
    assert raised["message"].startswith("Signal head seen otherwise than the controller reports: no red-light")
    cleared = datetime.fromisoformat(health[1]["captured_at"]).timestamp() - T0
    assert ARROW_LIT_AGAIN / FPS + 2.0 <= cleared <= ARROW_LIT_AGAIN / FPS + 3.0  # after the 2 s hysteresis


def test_the_backend_stores_it_and_shows_the_districts_operator(one_pass: dict[str, Any], tmp_path: Path) -> None:
    health = [CameraHealthEvent.model_validate(e) for e in one_pass["events"] if e["kind"] == "camera_health"]
    with open_api(tmp_path / "k.sqlite", tmp_path) as api:
        body = {"camera_id": CAMERA, "kind": "traffic", "site": "north"}
        key = api.client.post("/api/v1/devices", json=body, headers=api.admin).json()["api_key"]
        operator = {"username": "op_north", "password": "a-long-operator-password-1", "district": "north",
                    "email": "north@police.kz", "language": "en"}  # fmt: skip
        assert api.client.post("/api/v1/operators", json=operator, headers=api.admin).status_code == 201
        login = api.client.post("/api/v1/auth/login", json={k: operator[k] for k in ("username", "password")})
        who = {"Authorization": f"Bearer {login.json()['token']}"}
        api.client.cookies.clear()
        raised = EventBatch(events=tuple(health[:1])).model_dump(mode="json")
        assert api.client.post("/api/v1/events", json=raised, headers={"X-API-Key": key}).status_code == 200
        [camera] = api.client.get("/api/v1/cameras/health", headers=who).json()
        assert (camera["camera_id"], camera["state"], camera["active"]) == (
            CAMERA,
            "signal_mismatch",
            ["signal_mismatch"],
        )
        assert camera["measures"]["signal_heads"] == ["left_arrow"]
        assert "left_arrow: controller red, camera off" in camera["message"]
        rest = EventBatch(events=tuple(health[1:])).model_dump(mode="json")
        assert api.client.post("/api/v1/events", json=rest, headers={"X-API-Key": key}).status_code == 200
        history = api.client.get(f"/api/v1/cameras/{CAMERA}/health/history", headers=who).json()
        assert [h["state"] for h in history] == ["healthy", "signal_mismatch"]
        assert history[1]["measures"]["signal_heads"] == ["left_arrow"] and "signal_heads" not in history[0]["measures"]
        db = connect(api.settings.database)
        try:
            told = db.execute("SELECT recipient, kind, body FROM outbox ORDER BY id").fetchall()
        finally:
            db.conn.close()
    assert [(r[0], r[1]) for r in told] == [
        ("north@police.kz", "camera_health"),
        ("north@police.kz", "camera_recovered"),
    ]
    assert "left_arrow: controller red, camera off" in str(told[0][2])  # the operator's e-mail names the head


@pytest.mark.parametrize(
    ("line", "stop_lines", "head"),
    [
        ({"signal": "left_arrow"}, {}, "left_arrow"),  # its own head
        ({}, {"entry": "left_arrow"}, "left_arrow"),  # the section's map
        ({}, {}, "main"),  # neither: the primary head
        ({"signal": "left_arrow"}, {"entry": "main"}, "stop_lines maps it"),  # contradiction: refused
        ({"signal": "right_arrow"}, {}, "has no feed"),  # a head the section does not have: refused
    ],
)
def test_head_for_a_line(line: dict[str, str], stop_lines: dict[str, str], head: str) -> None:
    config = SignalsConfig.model_validate(
        {"controller": {"host": "127.0.0.1", "heads": {"main": 2, "left_arrow": 5}}, "stop_lines": stop_lines}
    )
    feeds = {h: ReplaySignalFeed([PhaseChange(T0, G)]) for h in ("main", "left_arrow")}
    fusion = SignalFusion(config, controller=feeds)
    entry = Line.model_validate({"id": "entry", "p1": (0, 10), "p2": (50, 10), "kind": "junction_entry", **line})
    if " " in head:
        with pytest.raises(ValueError, match=head):
            fusion.head_for(entry)
    else:
        assert fusion.head_for(entry) == head


def test_the_eval_and_the_agent_govern_lines_alike() -> None:
    scene = SceneConfig.model_validate(SCENE)
    heads = {"left_arrow": SignalTimeline([PhaseChange(T0, R)], SignalSource.CONTROLLER)}
    governed = govern_lines(scene, lambda line: line.signal)  # the scenario eval: a line naming none has none
    assert [line.signal for line in governed.lines] == [NO_HEAD, "left_arrow"]
    assert list(head_timelines(governed, heads.get)) == ["left_arrow"]


def test_the_monitor_raises_a_mismatch_at_once_and_clears_it_after_its_hysteresis() -> None:
    monitor = CameraHealthMonitor(CameraHealthConfig())  # raise_after_s 1.5 (not for this state), clear_after_s 2
    at = datetime.fromtimestamp(T0 + 10.7, UTC)
    began = datetime.fromtimestamp(T0 + 10.0, UTC)
    raised = monitor.observe_signals(("left_arrow",), at, began, "left_arrow: controller red, camera off")
    assert raised is not None and (raised.state, raised.active, raised.since) == (MISMATCH, (MISMATCH,), began)
    assert raised.measures.signal_heads == ("left_arrow",) and "camera off" in raised.message
    assert monitor.observe_signals(("left_arrow",), at + timedelta(seconds=1)) is None  # nothing new
    assert monitor.observe_signals((), at + timedelta(seconds=2)) is None  # gone, but within the hysteresis
    assert monitor.measures.signal_heads is None
    assert monitor.observe_thermal(True, at + timedelta(seconds=3)) is None
    cleared = monitor.observe_thermal(True, at + timedelta(seconds=4.1))  # any later settle clears it
    assert cleared is not None and (cleared.state, cleared.previous) == (CameraHealthState.HEALTHY, MISMATCH)
