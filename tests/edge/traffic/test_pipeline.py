"""Traffic pipeline and agent on the bundled clip: TrackViews out, VehicleEvents into a real spool, frame plan,
and the commands."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from edge.spool import Spool
from edge.traffic.agent import run_agent
from edge.traffic.config import FramePlanConfig, TrafficDeviceConfig
from edge.traffic.pipeline import vehicle_event
from edge.traffic.stream import FramePlanner, build_pipeline, read_frames
from kuzet.cli import main
from kuzet.commands.common import load_or_exit
from kuzet.contracts import ClockSource, VehicleEvent
from kuzet.demo.traffic import run_street


@pytest.fixture(scope="module")
def device(samples: Path) -> TrafficDeviceConfig:
    return load_or_exit(samples / "traffic" / "ozlu.yaml", TrafficDeviceConfig)


@pytest.fixture(scope="module")
def clip(samples: Path) -> str:
    return str(samples / "traffic" / "ozlu_vehicle_counting.mp4")


def test_first_car_gives_a_track_view_with_road_path_speed_lane_and_crossing(
    device: TrafficDeviceConfig, clip: str
) -> None:
    plan = FramePlanConfig(mode="every")
    pipeline = build_pipeline(device.traffic.model_copy(update={"frame_plan": plan}))
    summaries = []
    for frame in read_frames(clip, max_frames=48, start_time=1_700_000_000.0):
        index = frame.index
        pipeline.step(frame.image, frame.captured_at.timestamp(), index, detect=True)
        summaries += pipeline.finished()
        if index == 30:
            live = pipeline.live_views()  # open tracks, mid-clip, as the rules can take them
            assert live and all(v.confirmed and v.road_xy is not None for v in live)
    summaries += pipeline.close()
    crossing = [s for s in summaries if s.crossings]
    assert len(crossing) == 1  # the white sedan, frames 0-40
    view = crossing[0].view
    assert view.confirmed and view.vehicle_class == "car" and len(view) >= 20
    assert np.all(np.diff(view.t) > 0) and view.road_xy is not None and view.frame_index is not None
    assert view.road_xy.shape == view.image_xy.shape
    assert view.road_xy[-1, 1] < view.road_xy[0, 1]  # coming towards the camera: road y decreases
    assert crossing[0].lane_id == "southbound" and view.lane_ids is not None
    assert view.speed_kmh is not None and 20.0 < view.speed_kmh < 70.0
    assert view.speed_sigma_kmh is not None and view.speed_sigma_kmh < 5.0
    event = vehicle_event(crossing[0], "cam-1", ClockSource.FILE)
    assert isinstance(event, VehicleEvent)
    assert event.speed_kmh == view.speed_kmh and event.lane_id == "southbound" and len(event.path_m) == len(view)
    assert event.first_seen < event.last_seen


def test_agent_spools_one_event_per_confirmed_vehicle_track(
    device: TrafficDeviceConfig, clip: str, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool.sqlite")
    plan = FramePlanConfig(mode="stride", stride=2)
    stats = run_agent(device.traffic.model_copy(update={"frame_plan": plan}), clip, spool, "cam-1", max_frames=60)
    events = [json.loads(e.payload) for e in spool.peek(100)]
    vehicles = [e for e in events if e["kind"] == "vehicle"]
    assert stats.detector_frames == 30 and len(vehicles) == len(stats.summaries) > 0
    # the sample's configured 30 + 5 km/h demo limit: the first car (~41 km/h, measured on its unclipped boxes)
    # is also booked for speeding, so its violation event travels in the same spool
    assert {e["kind"] for e in events} <= {"vehicle", "violation"} and all(e["camera_id"] == "cam-1" for e in events)
    spool.close()


@pytest.mark.parametrize(
    ("mode", "stride", "expected"),
    [("every", 1, [True] * 6), ("stride", 2, [True, False] * 3), ("stride", 3, [True, False, False] * 2)],
)
def test_frame_plan_fixed_modes(mode: str, stride: int, expected: list[bool]) -> None:
    planner = FramePlanner(FramePlanConfig.model_validate({"mode": mode, "stride": stride}), 25.0)
    assert [planner.detect(i) for i in range(6)] == expected


def test_realtime_plan_skips_the_detector_when_behind_the_camera() -> None:
    planner = FramePlanner(FramePlanConfig(mode="realtime", camera_fps=100.0, slack_frames=1.0), 25.0)
    assert planner.detect(0)
    time.sleep(0.05)  # 5 camera frames of work on frame 0
    assert not planner.detect(1)  # 4 frames behind: the tracker carries this one
    assert planner.detect(1000)  # caught up (the frames in between were cheap predictions)


def test_calibrate_command_prints_the_reprojection_error(samples: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["calibrate", "--config", str(samples / "traffic" / "ozlu.yaml")])
    assert result.exit_code == 0, result.output
    assert "reprojection error RMS 0.000 m" in result.output and "ozlu-2026-11-25a" in result.output
    bad = yaml.safe_load((samples / "traffic" / "ozlu.yaml").read_text())
    bad["traffic"]["calibration"]["road_points"] = bad["traffic"]["calibration"]["road_points"][:4]
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    result = CliRunner().invoke(main, ["calibrate", "--config", str(tmp_path / "bad.yaml")])
    assert result.exit_code == 2 and "calibration" in result.output


def test_edge_traffic_command_json(samples: Path, tmp_path: Path) -> None:
    raw = yaml.safe_load((samples / "traffic" / "ozlu.yaml").read_text())
    raw["spool"] = {"path": str(tmp_path / "spool.sqlite")}
    raw["traffic"]["source"] = str(samples / "traffic" / "ozlu_vehicle_counting.mp4")
    raw["traffic"]["frame_plan"] = {"mode": "stride", "stride": 2}
    raw["traffic"]["violations"]["signal"]["controller_log"] = str(samples / "traffic" / "ozlu_phases.csv")
    (tmp_path / "cam.yaml").write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(
        main, ["edge", "traffic", "--config", str(tmp_path / "cam.yaml"), "--max-frames", "40", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["frames"] == 40 and summary["detector_frames"] == 20
    missing = CliRunner().invoke(
        main, ["edge", "traffic", "--config", str(tmp_path / "cam.yaml"), "--video", str(tmp_path / "no.mp4")]
    )
    assert missing.exit_code == 2 and "cannot open video source" in missing.output


def test_demo_hook_on_the_first_two_seconds(samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the demo runs 300 frames (5 vehicles, all counted in test_counting's full-clip run); 48 frames keep this fast
    monkeypatch.setattr("kuzet.demo.traffic.DEMO_FRAMES", 48)
    spool = Spool(tmp_path / "demo.sqlite")
    lines = run_street(samples, spool, tmp_path / "work")
    assert "48 frames (24 with the detector)" in lines[0] and "vehicles: 1 across count-main" in lines[0]
    assert lines[1].count("km/h") == 1 and spool.depth() > 0
    spool.close()


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"tracker": {"min_hits": 0}}, "traffic.tracker.min_hits"),
        ({"speed": {"cap_kmh": 1000}}, "traffic.speed.cap_kmh"),
        ({"detector": {"input_size": 650}}, "traffic.detector.input_size"),
        ({"frame_plan": {"mode": "sometimes"}}, "traffic.frame_plan.mode"),
        ({"colour": "red"}, "traffic.colour"),
        ({"plates": {"crops_per_track": 0}}, "traffic.plates.crops_per_track"),
        ({"plates": {"models": {"detector": {"backend": "yolo"}}}}, "traffic.plates.models.detector.backend"),
        (
            {"violations": {"evidence": {"chain_dir": "e", "key_dir": "k"}, "signal": {"log_times": "local"}}},
            "traffic.violations.signal.log_times",
        ),
        ({"violations": {"signal": {}}}, "traffic.violations.evidence"),
    ],
)
def test_invalid_traffic_config_exits_2_naming_the_field(
    samples: Path, tmp_path: Path, patch: dict[str, object], field: str
) -> None:
    raw = yaml.safe_load((samples / "traffic" / "ozlu.yaml").read_text())
    raw["traffic"].update(patch)
    (tmp_path / "cam.yaml").write_text(yaml.safe_dump(raw))
    for args in (["edge", "traffic"], ["calibrate"]):
        result = CliRunner().invoke(main, [*args, "--config", str(tmp_path / "cam.yaml")])
        assert result.exit_code == 2 and field in result.output, result.output
