"""Commands of this product area; they attach to the groups in ``kuzet.commands`` and are listed in COMMANDS.

``kuzet edge traffic --config FILE [--video PATH]`` runs the traffic agent over a camera or file in one pass and
spools one ``VehicleEvent`` per finished track (with its plate read when the file has a ``plates`` section) and,
with a ``violations`` section, one signed evidence package and ``ViolationEvent`` per violation.
``kuzet calibrate --config FILE`` fits the camera's homography and prints its
reprojection error. ``summary_lines`` is also what ``kuzet demo`` prints for its traffic stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kuzet.commands import edge_group
from kuzet.commands.common import emit_json, fail, load_or_exit, progress

if TYPE_CHECKING:
    from edge.traffic.stream import RunStats


def summary_lines(stats: RunStats) -> list[str]:
    """Human summary of a run: vehicles per counting line, their speeds, throughput."""
    crossings: dict[str, int] = {}
    speeds: list[str] = []
    for summary in stats.summaries:
        for line_id in {c[0] for c in summary.crossings}:
            crossings[line_id] = crossings.get(line_id, 0) + 1
        if summary.crossings and summary.speed.speed_kmh is not None:
            speeds.append(
                f"#{summary.view.track_id} {summary.view.vehicle_class} {summary.speed.speed_kmh:.0f}"
                f"±{summary.speed.sigma_kmh or 0.0:.1f} km/h"
            )
    counted = ", ".join(f"{n} across {line}" for line, n in sorted(crossings.items())) or "none counted"
    plates = [f"#{i} {p.plate.text} ({p.plate.confidence:.2f})" for i, p in sorted(stats.plates.items())]
    violations = [f"{v.kind} #{v.track_id} -> {package.name}" for v, package in stats.violations]
    return [
        f"traffic: {stats.frames} frames ({stats.detector_frames} with the detector) at {stats.fps:.1f} fps,"
        f" {len(stats.summaries)} confirmed tracks; vehicles: {counted}",
        "traffic speeds: " + ("; ".join(speeds) or "none"),
        f"traffic plates read: {len(plates)} ({stats.plate_seconds:.1f} s of plate reading)"
        + (": " + "; ".join(plates) if plates else ""),
        f"traffic violations: {len(violations)}" + (": " + "; ".join(violations) if violations else ""),
    ]


def _stats_json(stats: RunStats) -> dict[str, Any]:
    return {
        "frames": stats.frames,
        "detector_frames": stats.detector_frames,
        "fps": round(stats.fps, 2),
        "seconds": round(stats.seconds, 2),
        "plate_seconds": round(stats.plate_seconds, 2),
        "alerts": stats.alerts,
        "violations": [
            {"kind": v.kind, "track_id": v.track_id, "t": v.t, "package": str(package)}
            for v, package in stats.violations
        ],
        "tracks": [
            {
                "track_id": s.view.track_id,
                "class": s.view.vehicle_class,
                "lane": s.lane_id,
                "speed_kmh": s.speed.speed_kmh,
                "speed_sigma_kmh": s.speed.sigma_kmh,
                "speed_status": s.speed.status,
                "crossings": [list(c) for c in s.crossings],
                "plate": stats.plates[s.view.track_id].plate.text if s.view.track_id in stats.plates else None,
            }
            for s in stats.summaries
        ],
    }


@edge_group.command("traffic")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True, help="Device YAML")
@click.option("--video", type=click.Path(path_type=Path), default=None, help="Video file instead of the source")
@click.option("--max-frames", type=click.IntRange(min=1), default=None, help="Stop after this many frames")
@click.option("--json", "as_json", is_flag=True, help="One JSON object as the last line of stdout")
def traffic_command(config_path: Path, video: Path | None, max_frames: int | None, as_json: bool) -> None:
    """Run the traffic agent: detect, track, speed, plates, violations; spool vehicle and violation events."""
    from edge.spool import Spool
    from edge.traffic.agent import run_agent
    from edge.traffic.calibration import CalibrationError
    from edge.traffic.config import TrafficDeviceConfig, resolve_paths
    from edge.traffic.evidence_keys import KeyFileError
    from hardware.camera import FrameSourceError

    config = load_or_exit(config_path, TrafficDeviceConfig)
    traffic = resolve_paths(config.traffic, config_path.parent)
    source = str(video) if video is not None else traffic.source
    if not source:
        fail(f"{config_path}: field 'traffic.source' is empty and no --video was given")
    spool = Spool(config.spool.path, config.spool.max_events)
    try:
        stats = run_agent(
            traffic, source, spool, config.camera_id, config.clock_source, max_frames, None, config.camera_health
        )
    except (FrameSourceError, CalibrationError, KeyFileError, OSError, ValueError) as exc:
        fail(str(exc))
    finally:
        spool.close()
    for line in summary_lines(stats):
        (progress if as_json else click.echo)(line)
    if as_json:
        emit_json(_stats_json(stats))


@click.command("calibrate")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True, help="Device YAML")
def calibrate_command(config_path: Path) -> None:
    """Fit the camera's image -> road homography and print its reprojection error."""
    from edge.traffic.calibration import Calibration, CalibrationError
    from edge.traffic.config import TrafficDeviceConfig

    config = load_or_exit(config_path, TrafficDeviceConfig)
    if config.traffic.calibration is None:
        fail(f"{config_path}: field 'traffic.calibration' is missing")
    try:
        calibration = Calibration(config.traffic.calibration)
    except CalibrationError as exc:
        fail(str(exc))
    error = calibration.error
    click.echo(
        f"calibration {calibration.version}: {len(config.traffic.calibration.image_points)} points,"
        f" reprojection error RMS {error.rms_m:.3f} m (max {error.max_m:.3f} m) on the road,"
        f" {error.rms_px:.2f} px on the image"
    )
    click.echo("homography (image px -> road m): " + " ".join(f"{v:.6g}" for v in calibration.H.ravel()))


COMMANDS: list[click.Command] = [calibrate_command]
