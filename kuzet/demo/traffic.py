"""The traffic stage of ``kuzet demo``: one traffic agent pass over the bundled street clip -> vehicle events and,
from the device file's stop line, replayed phases and school-zone limit, signed violation evidence."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kuzet.commands.common import load_or_exit
from kuzet.commands.traffic import summary_lines
from kuzet.demo.support import DEMO_T0, DISTRICT, DemoBackend, drain

if TYPE_CHECKING:
    from edge.spool import Spool
    from edge.traffic.config import TrafficConfig

DEMO_CONFIG = "traffic/ozlu.yaml"
DEMO_FRAMES = 300  # 12.5 s of the clip: five vehicles cross the counting line (tests/data/traffic/)


def run_street(samples_dir: Path, spool: Spool, work_dir: Path) -> list[str]:
    """One agent pass over the bundled clip (first 12.5 s) into ``spool``: vehicle events with plate reads and,
    from the configured stop line / replayed phases / school-zone limit, violation events whose signed packages
    are written to ``work_dir/evidence/<camera_id>`` (keys in ``work_dir/keys``) and verified. Summary lines."""
    from edge.traffic.agent import run_agent
    from edge.traffic.config import TrafficDeviceConfig, resolve_paths
    from edge.traffic.evidence_verify import verify_chain

    config_path = samples_dir / DEMO_CONFIG
    config = load_or_exit(config_path, TrafficDeviceConfig)
    traffic = street_config(resolve_paths(config.traffic, config_path.parent), work_dir, config.camera_id)
    work_dir.mkdir(parents=True, exist_ok=True)
    stats = run_agent(traffic, traffic.source, spool, config.camera_id, config.clock_source, DEMO_FRAMES, DEMO_T0)
    lines = summary_lines(stats)
    if traffic.violations is not None and stats.violations:
        evidence = traffic.violations.evidence
        trusted = (evidence.key_dir / f"{config.camera_id}.ed25519.pub").read_text().strip()
        problems = verify_chain(evidence.chain_dir, trusted)
        lines.append(f"evidence verify {evidence.chain_dir}: " + ("OK" if not problems else "; ".join(problems)))
    return lines


def street_config(traffic: TrafficConfig, work_dir: Path, camera_id: str) -> TrafficConfig:
    """The demo's frame plan (every 2nd frame: same result on any machine) and evidence under ``work_dir``."""
    plan = traffic.frame_plan.model_copy(update={"mode": "stride", "stride": 2})
    update: dict[str, Any] = {"frame_plan": plan}
    if traffic.violations is not None:
        evidence = traffic.violations.evidence.model_copy(
            update={"chain_dir": work_dir / "evidence" / camera_id, "key_dir": work_dir / "keys"}
        )
        update["violations"] = traffic.violations.model_copy(update={"evidence": evidence})
    return traffic.model_copy(update=update)


def stage(api: DemoBackend, samples: Path) -> list[str]:
    """Traffic agent on the bundled street clip -> vehicle and violation events, uploaded."""
    from edge.traffic.config import TrafficDeviceConfig
    from edge.traffic.evidence_keys import load_or_create_key, public_hex

    camera_id = load_or_exit(samples / DEMO_CONFIG, TrafficDeviceConfig).camera_id
    key = public_hex(load_or_create_key(api.work_dir / "traffic" / "keys", camera_id))  # enrolled with the camera
    spool, uplink = api.device(camera_id, "traffic", DISTRICT, key)
    lines = run_street(samples, spool, api.work_dir / "traffic")
    lines.append(f"uplink {camera_id}: {drain(spool, uplink)} events sent")
    return lines
