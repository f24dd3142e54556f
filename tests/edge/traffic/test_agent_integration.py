"""One traffic-agent pass over the bundled clip: vehicle events with plate reads, violation events with signed
evidence packages holding the plate crop, and a watchlist alert, all in one real spool.

Plates: the clip's own plates are too small to read (640x352), so the plate stage sees a synthetic KZ plate pasted
onto the real vehicles (tests/edge/traffic/synthetic_plates.py); detection, tracking, speed, plate detection (the
real platedet model), OCR, voting, rules, evidence and spool are the production code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from edge.spool import Spool
from edge.traffic.agent import TrafficAgent, build_agent, run_agent
from edge.traffic.config import FramePlanConfig, TrafficConfig, TrafficDeviceConfig, resolve_paths
from edge.traffic.evidence import KeyFileError
from edge.traffic.evidence_verify import list_packages, verify_chain
from edge.traffic.stream import read_frames, run_stream
from edge.traffic.watchlist import WatchlistConfig
from kuzet.cli import main
from kuzet.commands.common import load_or_exit
from kuzet.contracts import ClockSource
from kuzet.demo.support import DEMO_T0
from kuzet.demo.traffic import DEMO_FRAMES, street_config
from tests.edge.traffic.synthetic_plates import PLATE_TEXT, PastingPlateStage

T0 = 1_795_402_800.0
FRAMES = 48  # the white sedan: frames 0-40, crosses the counting line (test_pipeline)
CAMERA = "demo-ozlu-street"


def _config(samples: Path, work: Path) -> TrafficConfig:
    device = load_or_exit(samples / "traffic" / "ozlu.yaml", TrafficDeviceConfig)
    traffic = street_config(resolve_paths(device.traffic, samples / "traffic"), work, CAMERA)
    assert traffic.scene is not None and traffic.plates is not None
    # a 20 km/h limit with no tolerance, so the sedan (~35 km/h) is a speeding violation in the first 2 s
    lanes = [
        lane.model_copy(update={"speed_limit_kmh": 20.0, "speed_tolerance_kmh": 0.0}) for lane in traffic.scene.lanes
    ]
    scene = traffic.scene.model_copy(update={"lanes": tuple(lanes)})
    (work / "watchlist.csv").write_text("plate,reason\n123ABC02,stolen\n777ZZZ01,wanted\n")
    plates = traffic.plates.model_copy(update={"watchlist": WatchlistConfig(path=work / "watchlist.csv")})
    return traffic.model_copy(update={"scene": scene, "plates": plates, "frame_plan": FramePlanConfig(mode="every")})


@pytest.fixture(scope="module")
def one_pass(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("agent")
    config = _config(samples, work)
    spool = Spool(work / "spool.sqlite")
    agent = build_agent(config, spool, CAMERA, ClockSource.FILE, T0)
    assert agent.plates is not None
    agent.plates = PastingPlateStage(agent.plates.detector, agent.plates.reader, agent.plates.config)
    frames = read_frames(config.source, FRAMES, start_time=T0)
    stats = run_stream(agent.pipeline, frames, agent.on_track, agent.on_frame)
    agent.close()  # the worker thread read the plates and wrote the packages off the frame loop
    events = [json.loads(e.payload) for e in spool.peek(1000)]
    spool.close()
    assert config.violations is not None
    return {"agent": agent, "stats": stats, "events": events, "evidence": config.violations.evidence}


def _sedan(agent: TrafficAgent, stats: Any) -> int:
    (sedan,) = [s.view.track_id for s in stats.summaries if s.crossings]
    return sedan


def test_one_pass_spools_vehicle_events_with_the_plate_read(one_pass: dict[str, Any]) -> None:
    agent, stats, events = one_pass["agent"], one_pass["stats"], one_pass["events"]
    sedan = _sedan(agent, stats)
    vehicles = {e["track_id"]: e for e in events if e["kind"] == "vehicle"}
    assert set(vehicles) == {s.view.track_id for s in stats.summaries}
    assert vehicles[sedan]["plate_text"] == PLATE_TEXT
    assert 0.5 <= vehicles[sedan]["plate_confidence"] <= 1.0
    result = agent.stats.plates[sedan]
    assert result.plate.valid is True and result.plate.region == "Almaty" and result.plate.crop.size > 0
    assert 0 <= result.frame_index < FRAMES and result.plates_found >= 1
    assert len(agent.plates or []) == 0  # every finished track's crops were released


def test_one_pass_spools_violations_whose_package_holds_the_plate_crop(one_pass: dict[str, Any]) -> None:
    agent, stats, events, evidence = one_pass["agent"], one_pass["stats"], one_pass["events"], one_pass["evidence"]
    sedan = _sedan(agent, stats)
    violations = [e for e in events if e["kind"] == "violation"]
    assert len(violations) == len(agent.stats.violations) >= 1
    mine = [e for e in violations if e["track_id"] == sedan]
    assert [e["violation"] for e in mine] == ["speeding"]
    assert mine[0]["plate_normalised"] == PLATE_TEXT and mine[0]["plate_raw"]
    assert "plate_crop" in {a["role"] for a in mine[0]["attachments"]}
    package = next(p for v, p in agent.stats.violations if v.track_id == sedan)
    manifest = json.loads((package / "manifest.json").read_text())
    assert "plate_crop.jpg" in {f["name"] for f in manifest["files"]}
    assert manifest["plate"]["normalised"] == PLATE_TEXT
    assert {"vehicle_detector", "plate_detector", "plate_recogniser"} <= set(manifest["models"])
    assert manifest["violation"]["lane_id"] == "southbound" and manifest["calibration_version"] == "ozlu-2026-11-25a"
    assert manifest["camera_health"]["state"] == "healthy"  # the tamper monitor ran and judged the view intact
    assert not [e for e in events if e["kind"] == "camera_health"]
    trusted = (evidence.key_dir / f"{CAMERA}.ed25519.pub").read_text().strip()
    assert verify_chain(evidence.chain_dir, trusted) == []
    assert len(list_packages(evidence.chain_dir)) == len(violations)


def test_one_pass_raises_a_watchlist_alert_with_the_crop(one_pass: dict[str, Any]) -> None:
    agent, stats, events = one_pass["agent"], one_pass["stats"], one_pass["events"]
    alerts = [e for e in events if e["kind"] == "plate_alert"]
    assert len(alerts) == agent.stats.alerts == 1
    assert alerts[0]["plate_listed"] == PLATE_TEXT and alerts[0]["reason"] == "stolen"
    assert alerts[0]["track_id"] == _sedan(agent, stats)
    assert [a["role"] for a in alerts[0]["attachments"]] == ["plate_crop"]


@pytest.mark.slow
def test_the_demo_pass_is_unchanged_by_the_tamper_monitor(samples: Path, tmp_path: Path) -> None:
    """``kuzet demo``'s traffic pass (300 frames, every 2nd detected) with the device's default ``camera_health``:
    the same 11 tracks, 5 counted, 6 violations as without a monitor (``kuzet demo`` prints the same six: four
    speedings whose lower bound clears the demo's 30 + 5 km/h, two red lights), and no health state raised on the
    untouched clip (its sway and auto-exposure dips are no tampering); every package records a healthy camera."""
    device = load_or_exit(samples / "traffic" / "ozlu.yaml", TrafficDeviceConfig)
    assert device.camera_health.enabled  # the default: every device runs the monitor
    traffic = street_config(resolve_paths(device.traffic, samples / "traffic"), tmp_path, device.camera_id)
    spool = Spool(tmp_path / "spool.sqlite")
    stats = run_agent(
        traffic,
        traffic.source,
        spool,
        device.camera_id,
        device.clock_source,
        DEMO_FRAMES,
        DEMO_T0,
        device.camera_health,
    )
    kinds = [json.loads(e.payload)["kind"] for e in spool.peek(1000)]
    spool.close()
    counted = [s for s in stats.summaries if s.crossings]
    assert (stats.frames, len(stats.summaries), len(counted), len(stats.violations)) == (300, 11, 5, 6)
    assert stats.health == [] and stats.withheld == 0 and "camera_health" not in kinds
    for _, package in stats.violations:
        assert json.loads((package / "manifest.json").read_text())["camera_health"]["state"] == "healthy"


def test_replayed_phases_are_stream_relative(samples: Path, tmp_path: Path) -> None:
    config = _config(samples, tmp_path)
    agent = build_agent(config, Spool(tmp_path / "s.sqlite"), CAMERA, ClockSource.FILE, T0)
    assert agent.violations is not None
    signal = agent.violations.signal()
    assert signal is not None and signal.source.value == "controller"
    assert [(c.t - T0, c.state.value) for c in signal.changes] == [(0.0, "green"), (3.5, "amber"), (6.0, "red")]


def test_edge_traffic_command_writes_a_verified_chain(samples: Path, tmp_path: Path) -> None:
    raw = yaml.safe_load((samples / "traffic" / "ozlu.yaml").read_text())
    raw["spool"] = {"path": str(tmp_path / "spool.sqlite")}
    raw["traffic"]["source"] = str(samples / "traffic" / "ozlu_vehicle_counting.mp4")
    raw["traffic"]["frame_plan"] = {"mode": "stride", "stride": 2}
    raw["traffic"]["plates"]["models"]["detector"]["backend"] = "cascade"  # the fast backend, by configuration
    raw["traffic"]["track_worker"] = False  # finish tracks inline (the fixture above used the worker thread)
    raw["traffic"]["violations"]["signal"]["controller_log"] = str(samples / "traffic" / "ozlu_phases.csv")
    raw["traffic"]["violations"]["evidence"] = {"chain_dir": "evidence/cam", "key_dir": "keys"}
    for lane in raw["traffic"]["scene"]["lanes"]:
        lane["speed_limit_kmh"], lane["speed_tolerance_kmh"] = 20, 0
    (tmp_path / "cam.yaml").write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(
        main, ["edge", "traffic", "--config", str(tmp_path / "cam.yaml"), "--max-frames", "48", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert [v["kind"] for v in summary["violations"]] == ["speeding"]
    chain = tmp_path / "evidence" / "cam"  # relative evidence folders resolve against the config file
    assert Path(summary["violations"][0]["package"]).parent == chain
    verified = CliRunner().invoke(
        main,
        ["evidence", "verify", str(chain), "--trusted-key", str(tmp_path / "keys" / f"{raw['camera_id']}.ed25519.pub")],
    )
    assert verified.exit_code == 0, verified.output


def test_a_worker_error_reaches_the_caller(samples: Path, tmp_path: Path) -> None:
    """A failure on the worker thread (here: a signing key readable by others) is raised, never swallowed."""
    config = _config(samples, tmp_path)
    assert config.violations is not None
    key_dir = config.violations.evidence.key_dir
    key_dir.mkdir(parents=True)
    (key_dir / f"{CAMERA}.ed25519").write_text("not a key")
    (key_dir / f"{CAMERA}.ed25519").chmod(0o644)
    spool = Spool(tmp_path / "spool.sqlite")
    plan = FramePlanConfig(mode="stride", stride=2)
    with pytest.raises(KeyFileError, match="readable by its owner only"):
        run_agent(config.model_copy(update={"frame_plan": plan}), config.source, spool, CAMERA, max_frames=48)
    spool.close()
