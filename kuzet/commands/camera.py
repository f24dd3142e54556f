"""Camera commands: ``kuzet camera baseline`` records the tamper monitor's reference at installation,
``kuzet eval health`` measures the monitor on labelled clips and ``kuzet devset health`` generates such clips.

``baseline`` is thin over ``edge.camera.baseline``: frames of the device's camera (or of ``--video``) are sampled every
``camera_health.analyse_every_s`` for ``--seconds`` (default ``camera_health.baseline_s``) and their reference picture
and sharpness are written as ``.npz``; point ``camera_health.baseline_path`` at it. ``eval health`` is thin over
``kuzet.eval.health``, ``devset health`` over ``kuzet.devsets.health``.
"""

from __future__ import annotations

from pathlib import Path

import click

from kuzet.commands import eval_group
from kuzet.commands.common import emit_json, evaluate_or_exit, fail, load_or_exit, progress

COMMANDS: list[click.Command] = []


@click.group("camera")
def camera_group() -> None:
    """Camera installation tools."""


@camera_group.command("baseline")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True, help="Device YAML")
@click.option("--video", type=click.Path(path_type=Path), default=None, help="Record from a video file instead")
@click.option("--seconds", type=click.FloatRange(0.1, 600.0), default=None, help="Seconds to record (default: config)")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Where to write the baseline .npz")
def baseline(config_path: Path, video: Path | None, seconds: float | None, out: Path) -> None:
    """Record the camera's reference view and sharpness for the tamper monitor."""
    import yaml

    from edge.camera.baseline import BaselineError, record_baseline
    from edge.config import DeviceConfig
    from edge.school.config import SchoolDeviceConfig
    from edge.traffic.config import TrafficDeviceConfig, resolve_source
    from hardware.camera import FrameSourceError, open_source

    if not config_path.is_file():
        fail(f"{config_path}: no such config file")
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    model: type[DeviceConfig] = TrafficDeviceConfig if "traffic" in raw else SchoolDeviceConfig
    device = load_or_exit(config_path, model)
    health = device.camera_health
    if video is not None:
        if not video.is_file():
            fail(f"{video}: no such video file")
        uri = str(video)
    else:
        configured = _configured_source(device)
        if not configured:
            fail(f"{config_path}: no camera source configured; pass --video FILE")
        uri = resolve_source(configured, config_path.parent.resolve())
    duration = seconds if seconds is not None else health.baseline_s
    try:
        source = open_source(uri, device.clock_source)
        frames = []
        start = last = None
        for frame in source:
            start = start or frame.captured_at
            if (frame.captured_at - start).total_seconds() > duration:
                break
            if last is None or (frame.captured_at - last).total_seconds() >= health.analyse_every_s:
                frames.append(frame.image)
                last = frame.captured_at
        source.close()
        result = record_baseline(frames, health.analyse_width, health.flat_block_px, health.flat_block_std)
    except (FrameSourceError, BaselineError) as exc:
        fail(f"{uri}: {exc}")
    result.save(out)
    click.echo(
        f"baseline {out}: {len(frames)} frames over {duration:g} s of {uri}, {result.frame_size[0]}x"
        f"{result.frame_size[1]}, brightness {result.brightness:.0f}, contrast {result.contrast:.1f},"
        f" sharpness {result.sharpness:.0f}"
    )


def _configured_source(device: object) -> str | None:
    for section in ("traffic", "school"):
        settings = getattr(device, section, None)
        if settings is not None:
            source = getattr(settings, "source", None)
            return source if isinstance(source, str) else None
    return None


@eval_group.command("health")
@click.option("--data", "data", type=click.Path(path_type=Path), required=True, help="Folder with videos, labels.csv")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout")
def eval_health(data: Path, as_json: bool) -> None:
    """Tamper monitor on labelled clips (labels.csv: video,state,start_s,end_s[,tag]; unlabelled videos untouched)."""
    from kuzet.eval import health

    result = evaluate_or_exit(lambda: health.run(data, progress))
    if as_json:
        emit_json(result)
        return
    click.echo(
        f"videos={result['videos']} intervals={result['intervals']} detected={result['detected']}"
        f" cleared={result['cleared']}/{result['clearable']} mean_delay={result['mean_delay_s']}s"
        f" max_delay={result['max_delay_s']}s false_alarms={result['false_alarms']} confused={result['confused']}"
        f" ms/frame={result['ms_per_frame']}"
    )


@click.group("devset")
def devset_group() -> None:
    """Generate development sets (git-ignored output) from the bundled clips."""


@devset_group.command("health")
@click.option("--out", type=click.Path(path_type=Path), default=Path("var/devsets/health"), help="Output folder")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=20, help="Random seed (same seed, same set)")
@click.option("--small", is_flag=True, help="A few short clips (seconds to make and to evaluate; used by the tests)")
@click.option("--limits", is_flag=True, help="Instead, a ladder of faint tampers around the monitor's thresholds")
def devset_health(out: Path, seed: int, small: bool, limits: bool) -> None:
    """Tampered and untouched clips plus labels.csv for `kuzet eval health`."""
    from kuzet.devsets import health

    try:
        rows = health.generate(out, seed=seed, small=small, progress=progress, limits=limits)
    except health.SourceClipError as exc:
        fail(str(exc))
    click.echo(f"devset {out}: {rows.videos} videos, {rows.intervals} tampering intervals (labels.csv)")


COMMANDS.extend([camera_group, devset_group])
