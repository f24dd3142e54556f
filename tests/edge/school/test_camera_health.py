"""The school door agent runs the tamper monitor: a covered lens and a failing thermal sensor become spooled
``CameraHealthEvent``s, on the real Hamilton clip through the real pipeline (and the real thermal replay driver)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from edge.school.agent import run_agent
from edge.school.config import SchoolConfig
from edge.school.gallery import Gallery
from edge.school.pipeline import FaceModels, SchoolPipeline
from edge.spool import Spool
from hardware.camera import ReadAhead, VideoFileSource
from hardware.thermal import Registration, ReplayThermalSensor, ThermalFrame, thermal_health, write_replay
from kuzet.demo.school import DEMO_START
from tests.support.sources import TamperedSource

COVER = (3.0, 7.0)  # seconds of clip time with a hand over the lens (shot 3, the close-up; the clip is 9.2 s)


def covered(image: NDArray[np.uint8], clip_s: float) -> NDArray[np.uint8]:
    """The clip's real frames, black between ``COVER[0]`` and ``COVER[1]`` seconds (the lens covered)."""
    return np.zeros_like(image) if COVER[0] <= clip_s < COVER[1] else image


def _pipeline(face_models: FaceModels) -> SchoolPipeline:
    thermal = {"registration": Registration.scaled((640, 360), (32, 24))}
    config = SchoolConfig.model_validate({"school_id": "demo", "tracker": {"frame_stride": 2}, "thermal": thermal})
    return SchoolPipeline(config, face_models, Gallery.empty())


def _clip(samples: Path) -> VideoFileSource:
    return VideoFileSource(samples / "school" / "short_hamilton_clip.mp4", start=DEMO_START)


@pytest.mark.slow
def test_a_covered_door_camera_spools_a_camera_health_event(
    tmp_path: Path, samples: Path, face_models: FaceModels
) -> None:
    spool = Spool(tmp_path / "spool.sqlite")
    sensor = ReplayThermalSensor(samples / "school" / "thermal_replay.npz")
    stats = run_agent(_pipeline(face_models), TamperedSource(_clip(samples), covered), spool, "door-1", sensor)
    states = [(e.previous.value, e.state.value) for e in stats.health]
    assert states[0] == ("healthy", "covered") and states[-1][1] == "healthy", states
    assert all(e.state == "covered" for e in stats.health[:-1])  # frozen may join (black frames are identical)
    raised = (stats.health[0].captured_at - DEMO_START).total_seconds()
    cleared = (stats.health[-1].captured_at - DEMO_START).total_seconds()
    assert COVER[0] < raised <= COVER[0] + 5.0 and COVER[1] < cleared <= COVER[1] + 5.0
    assert stats.health[0].since - DEMO_START >= timedelta(seconds=COVER[0] - 0.5)
    spooled = [json.loads(e.payload) for e in spool.peek(1000)]
    health = [p for p in spooled if p["kind"] == "camera_health"]
    assert [p["event_id"] for p in health] == [str(e.event_id) for e in stats.health]
    assert health[0]["camera_id"] == "door-1" and "covered" in health[0]["message"]
    assert len([p for p in spooled if p["kind"] == "entry"]) == len(stats.events) >= 5  # people are still counted
    assert "thermal_fault" not in {s for e in stats.health for s in e.active}  # the real replay is healthy
    spool.close()


def test_a_silent_thermal_sensor_is_a_thermal_fault(tmp_path: Path, samples: Path, face_models: FaceModels) -> None:
    """The replay driver set 10 minutes off the video: no thermal frame for any visible frame (a dead sensor)."""
    spool = Spool(tmp_path / "spool.sqlite")
    sensor = ReplayThermalSensor(samples / "school" / "thermal_replay.npz", time_offset_s=600.0)
    source = ReadAhead(_clip(samples), 8, 75)  # 2.5 s
    stats = run_agent(_pipeline(face_models), source, spool, "door-1", sensor)
    assert stats.thermal_frames == 0
    assert [(e.state.value, e.active) for e in stats.health] == [("thermal_fault", ("thermal_fault",))]
    assert 1.4 <= (stats.health[0].captured_at - DEMO_START).total_seconds() <= 2.5
    spooled = [json.loads(e.payload) for e in spool.peek(100)]
    assert [p["state"] for p in spooled if p["kind"] == "camera_health"] == ["thermal_fault"]
    spool.close()


def _frame(celsius: list[list[float]], at: datetime) -> ThermalFrame:
    return ThermalFrame(np.asarray(celsius, np.float32), at, 0)


def test_thermal_health_of_real_and_broken_readings(tmp_path: Path, samples: Path) -> None:
    at = DEMO_START + timedelta(seconds=2)
    real = ReplayThermalSensor(samples / "school" / "thermal_replay.npz").frame_at(at)
    assert thermal_health(real, at) == (True, "")
    assert thermal_health(None, at) == (False, "no thermal frame")
    stale = thermal_health(real, at + timedelta(seconds=5))
    assert stale[0] is False and "from the visible frame" in stale[1]
    nan = float("nan")
    assert thermal_health(
        _frame(
            [[nan, nan], [nan, 30.0]],
            at,
        ),
        at,
    ) == (False, "only 25% of thermal pixels hold data")
    garbage = thermal_health(_frame([[-273.0, -273.0], [-273.0, 30.0]], at), at)
    assert garbage == (False, "thermal values out of range (-273..30 C)")
    assert thermal_health(_frame([[22.0, 36.5], [nan, 24.0]], at), at) == (True, "")
    # a recording of an error value, through the real replay driver
    times = np.array([0.0, 0.1, 0.2]) + at.timestamp()
    write_replay(tmp_path / "stuck.npz", np.full((3, 24, 32), 1000.0), times, source="synthetic")
    stuck = ReplayThermalSensor(tmp_path / "stuck.npz").frame_at(at)
    assert thermal_health(stuck, at)[0] is False
