"""ViolationStage: controller log or camera signal, frame buffer, package + spooled event per violation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.spool import Spool
from edge.traffic.evidence import EvidenceConfig, EvidenceContext
from edge.traffic.evidence_verify import verify_chain
from edge.traffic.rules.stage import FrameBuffer, SignalConfig, ViolationsConfig, ViolationStage
from hardware.signal import SignalSource
from kuzet.contracts import ClockSource
from models.lights import build_light_classifier
from tests.edge.traffic.rules.conftest import HZ, SCENE, T0, make_track

RED_RUNNER = [(13.0, 150.0, 100.0), (17.0, 150.0, 380.0)]


def frames_for(n: int) -> list[np.ndarray]:
    return [np.full((400, 400, 3), 40 + (k % 50), dtype=np.uint8) for k in range(n)]


def stage_with(tmp_path: Path, spool: Spool | None, buffer_s: float = 15.0, log: bool = True) -> ViolationStage:
    csv = tmp_path / "phases.csv"
    csv.write_text(f"t,state\n{T0},green\n{T0 + 10},amber\n{T0 + 13},red\n")
    config = ViolationsConfig(
        evidence=EvidenceConfig(chain_dir=tmp_path / "chain", key_dir=tmp_path / "keys"),
        signal=SignalConfig(controller_log=csv if log else None),
        buffer_s=buffer_s,
    )
    context = EvidenceContext(camera_id="cam-stage", clock_source=ClockSource.FILE, calibration_version="v1")
    return ViolationStage(SCENE, config, context, spool, build_light_classifier())


def feed(stage: ViolationStage, track_t: np.ndarray) -> None:
    for k, frame in enumerate(frames_for(len(track_t))):
        stage.on_frame(frame, float(track_t[k]), k)


def test_stage_writes_and_spools_a_verified_package(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite")
    try:
        stage = stage_with(tmp_path, spool)
        track = make_track(RED_RUNNER)
        feed(stage, track.t)
        assert stage.signal() is not None and stage.signal().source is SignalSource.CONTROLLER  # type: ignore[union-attr]
        packages = stage.on_track(track)
        assert [p.name for p in packages] == ["00000001_red_light"]
        assert spool.depth() == 1
        assert verify_chain(tmp_path / "chain") == []
        assert stage.on_track(make_track([(2.0, 150.0, 100.0), (6.0, 150.0, 380.0)], track_id=2)) == []
    finally:
        spool.close()


def test_frames_gone_from_the_buffer_are_counted_not_crashed(tmp_path: Path) -> None:
    stage = stage_with(tmp_path, None, buffer_s=0.5)
    track = make_track(RED_RUNNER)
    feed(stage, track.t)
    assert len(stage.frames) <= int(0.5 * HZ) + 1
    assert stage.on_track(track) == []
    assert stage.missing_evidence == 1


def test_without_a_controller_log_the_camera_reads_the_signal(tmp_path: Path) -> None:
    stage = stage_with(tmp_path, None, log=False)
    assert stage.camera is None  # the test scene has no signal ROI
    roi_scene = SCENE.model_copy(update={"signal_roi": (10, 10, 40, 76)})
    camera_stage = ViolationStage(roi_scene, stage.config, stage.context, None, build_light_classifier())
    assert camera_stage.camera is not None
    assert camera_stage.signal() is not None and camera_stage.signal().source is SignalSource.CLASSIFIER  # type: ignore[union-attr]


@pytest.mark.parametrize("quality", [60, 95])
def test_frame_buffer_round_trip(quality: int) -> None:
    buffer = FrameBuffer(seconds=1.0, quality=quality)
    frame = np.full((32, 32, 3), 128, dtype=np.uint8)
    for k in range(30):
        buffer.put(k, k * 0.1, frame)
    assert not buffer.has(0) and buffer.has(29)
    out = buffer.get(29)
    assert out is not None and out.shape == (32, 32, 3)
    assert np.abs(out.astype(int) - 128).max() <= 3
    assert buffer.get(0) is None
