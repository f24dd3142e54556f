"""A traffic camera whose view moved issues no speed and no violation until it is healthy again.

The policy table is pure; the timeline is fed real ``HealthChange``s; the agent test runs the demo pass (the bundled
street clip, the device file's stop line, replayed phases and school-zone limit, every 2nd frame) on the real
frames, turned 3 % / 2 degrees part-way through with ``cv2.warpAffine`` (a camera knocked on its mount).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from edge.camera.monitor import HealthChange
from edge.spool import Spool
from edge.traffic.agent import build_agent
from edge.traffic.config import TrafficDeviceConfig, resolve_paths
from edge.traffic.evidence_verify import verify_chain, verify_package
from edge.traffic.rules.stage import HealthGate, HealthPolicy, health_policy
from edge.traffic.stream import run_stream
from hardware.camera import ReadAhead, VideoFileSource
from kuzet.commands.common import load_or_exit
from kuzet.contracts import CameraHealthMeasures, ClockSource, ViolationKind
from kuzet.contracts import CameraHealthState as S
from kuzet.demo.support import DEMO_T0
from kuzet.demo.traffic import DEMO_FRAMES, street_config
from tests.support.sources import Tamper, TamperedSource

ALL = frozenset(ViolationKind)
MOVE_AT_S = 4.5  # after the first speeding car (track ends ~4.0 s), before the others (test_agent_integration)


@pytest.mark.parametrize(
    ("active", "violations", "speeds"),
    [
        ((), ALL, True),
        ((S.MOVED,), frozenset(), False),
        ((S.COVERED,), frozenset(), False),
        ((S.DEFOCUSED,), frozenset(), False),
        ((S.FROZEN,), frozenset(), False),
        ((S.OFFLINE,), frozenset(), False),
        ((S.CLOCK_DRIFT,), ALL, True),  # geometry intact; the package records the drift
        ((S.THERMAL_FAULT,), ALL, True),
        ((S.CLOCK_DRIFT, S.MOVED), frozenset(), False),
        ((S.HEALTHY,), ALL, True),
    ],
)
def test_health_policy_table(active: tuple[S, ...], violations: frozenset[ViolationKind], speeds: bool) -> None:
    policy = health_policy(active)
    assert (policy.violations, policy.speeds) == (violations, speeds)
    assert bool(policy.reason) is not speeds
    if not speeds:
        assert all(s.value in policy.reason for s in active if s in (S.MOVED, S.COVERED))


def _change(state: S, previous: S, since: float, at: float) -> HealthChange:
    active = () if state == S.HEALTHY else (state,)
    when = datetime.fromtimestamp(since, UTC)
    return HealthChange(state, active, previous, when, when + timedelta(seconds=at - since), CameraHealthMeasures(), "")


def test_gate_judges_a_track_by_every_state_while_it_was_measured_and_now() -> None:
    gate = HealthGate()
    assert gate.policy(0.0, 10.0) == HealthPolicy(ALL, True)
    gate.record(_change(S.MOVED, S.HEALTHY, since=100.0, at=101.6))
    assert gate.policy(90.0, 99.0).speeds is False  # measured before the move, but judged while it is moved
    gate.record(_change(S.HEALTHY, S.MOVED, since=200.0, at=202.0))  # re-aimed / re-calibrated
    assert gate.policy(90.0, 99.0) == HealthPolicy(ALL, True)
    assert gate.policy(95.0, 105.0).violations == frozenset()  # measured across the move
    assert gate.policy(199.0, 203.0).speeds is False  # its first samples are from the moved view
    assert gate.policy(200.5, 210.0) == HealthPolicy(ALL, True)
    assert gate.at(150.0).state == S.MOVED and gate.at(99.0).state == S.HEALTHY and gate.at(250.0).active == ()


def knocked(shift: float, angle_deg: float) -> Tamper:
    """From ``MOVE_AT_S`` on, the frames turned by ``angle_deg`` about the centre and shifted by ``shift`` of the width
    (``cv2.warpAffine``): the camera knocked on its mount."""

    def tamper(image: NDArray[np.uint8], clip_s: float) -> NDArray[np.uint8]:
        if clip_s < MOVE_AT_S:
            return image
        h, w = image.shape[:2]
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
        matrix[0, 2] += shift * w
        return np.asarray(cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE), np.uint8)

    return tamper


def _moved_pass(samples: Path, work: Path, shift: float, angle_deg: float) -> dict[str, Any]:
    device = load_or_exit(samples / "traffic" / "ozlu.yaml", TrafficDeviceConfig)
    traffic = street_config(resolve_paths(device.traffic, samples / "traffic"), work, device.camera_id)
    spool = Spool(work / "spool.sqlite")
    agent = build_agent(traffic, spool, device.camera_id, ClockSource.FILE, DEMO_T0, device.camera_health)
    start = datetime.fromtimestamp(DEMO_T0, UTC)
    camera = TamperedSource(VideoFileSource(Path(traffic.source), start=start), knocked(shift, angle_deg))
    stats = run_stream(
        agent.pipeline, ReadAhead(camera, 8, DEMO_FRAMES), agent.on_track, agent.on_frame, agent.on_status
    )
    agent.close()
    events = [json.loads(e.payload) for e in spool.peek(10_000)]
    spool.close()
    assert agent.health is not None and agent.violations is not None and traffic.violations is not None
    return {
        "agent": agent,
        "stats": stats,
        "events": events,
        "health": agent.health.events,
        "evidence": traffic.violations.evidence,
        "camera_id": device.camera_id,
    }


@pytest.fixture(scope="module")
def shifted(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _moved_pass(samples, tmp_path_factory.mktemp("shifted"), 0.03, 0.0)


@pytest.fixture(scope="module")
def rotated(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _moved_pass(samples, tmp_path_factory.mktemp("rotated"), 0.0, 2.0)


@pytest.mark.parametrize("run", ["shifted", "rotated"])
def test_a_moved_camera_issues_no_violation_and_no_speed_but_keeps_counting(
    run: str, request: pytest.FixtureRequest
) -> None:
    result = request.getfixturevalue(run)
    agent, stats, events, health = result["agent"], result["stats"], result["events"], result["health"]
    moved = [e for e in health if e.state == S.MOVED]
    assert moved and health[0].state == S.MOVED, [(e.state, e.active) for e in health]  # nothing before the move
    raised = moved[0].captured_at.timestamp()
    assert MOVE_AT_S <= raised - DEMO_T0 <= MOVE_AT_S + 5.0  # raised within 5 s of clip time
    assert all(S.MOVED in e.active for e in health)  # and it never cleared: the view stays moved
    # the untouched pass issues 4 violations (2 speeding, 2 red light); the moved camera withholds the later ones
    issued = [v for v, _ in agent.stats.violations]
    assert agent.violations.withheld >= 2
    assert all(v.t - DEMO_T0 < MOVE_AT_S for v in issued)
    violations = [e for e in events if e["kind"] == "violation"]
    assert len(violations) == len(issued) <= 2
    # counting continues: vehicles that finished after the move are still reported (and cross the count line)
    vehicles = [e for e in events if e["kind"] == "vehicle"]
    after = [e for e in vehicles if datetime.fromisoformat(e["last_seen"]).timestamp() > raised + 1.0]
    assert len(after) >= 3 and all(e["speed_kmh"] is None and e["path_m"] == [] for e in after)
    counted_after = [s for s in stats.summaries if s.crossings and float(s.view.t[-1]) > raised + 1.0]
    assert counted_after
    camera_events = [e for e in events if e["kind"] == "camera_health"]
    assert [e["state"] for e in camera_events] == [e.state.value for e in health]


def test_a_violation_issued_just_before_the_move_records_a_healthy_camera(shifted: dict[str, Any]) -> None:
    agent, evidence = shifted["agent"], shifted["evidence"]
    assert agent.stats.violations, "the first speeding car (before the move) must still be issued"
    for violation, package in agent.stats.violations:
        manifest = json.loads((package / "manifest.json").read_text())
        assert manifest["camera_health"]["state"] == "healthy" and manifest["camera_health"]["active"] == []
        assert manifest["camera_health"]["measures"]["brightness"] is not None  # the monitor's own figures
        assert manifest["violation"]["kind"] == violation.kind
    trusted = (evidence.key_dir / f"{shifted['camera_id']}.ed25519.pub").read_text().strip()
    assert verify_chain(evidence.chain_dir, trusted) == []
    assert all(verify_package(p, trusted) == [] for _, p in agent.stats.violations)
