"""``kuzet camera baseline`` on the bundled street camera's config and clip, then used by the monitor; bad usage."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from edge.camera.baseline import Baseline
from edge.camera.config import CameraHealthConfig
from edge.camera.monitor import CameraHealthMonitor
from kuzet.cli import main
from kuzet.contracts import CameraHealthState
from tests.edge.camera.clips import at, sampled, shift

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def baseline(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["camera", "baseline", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("extra", "frames", "seconds"),
    [
        ([], 15, 3),
        (["--seconds", "1"], 5, 1),
        (["--video", str(SAMPLES / "traffic" / "ozlu_vehicle_counting.mp4")], 15, 3),
    ],
    ids=["config-source", "one-second", "video"],
)
def test_records_the_street_camera(tmp_path: Path, extra: list[str], frames: int, seconds: int) -> None:
    out = tmp_path / "ozlu.npz"
    code, stdout, _ = baseline("--config", str(SAMPLES / "traffic" / "ozlu.yaml"), *extra, "--out", str(out))
    assert code == 0, stdout
    (line,) = stdout.strip().splitlines()
    assert line.startswith(f"baseline {out}: {frames} frames over {seconds} s") and "640x352" in line
    recorded = Baseline.load(out)
    assert recorded.frame_size == (640, 352) and recorded.reference.shape == (176, 320)


def test_the_recorded_baseline_judges_a_moved_camera_from_its_first_frame(tmp_path: Path) -> None:
    out = tmp_path / "ozlu.npz"
    assert baseline("--config", str(SAMPLES / "traffic" / "ozlu.yaml"), "--out", str(out))[0] == 0
    monitor = CameraHealthMonitor(CameraHealthConfig(), Baseline.load(out))
    states = [c.state for t, frame in sampled("ozlu")[:25] if (c := monitor.observe(shift(0.03)(frame), at(t)))]
    assert states == [CameraHealthState.MOVED]


def test_a_school_door_without_a_source_takes_a_video(tmp_path: Path) -> None:
    out = tmp_path / "door.npz"
    config = str(SAMPLES / "school" / "device.yaml")
    code, _, stderr = baseline("--config", config, "--out", str(out))
    assert code == 2 and stderr.strip() == f"kuzet: {config}: no camera source configured; pass --video FILE"
    video = str(SAMPLES / "school" / "short_hamilton_clip.mp4")
    code, stdout, _ = baseline("--config", config, "--video", video, "--seconds", "0.5", "--out", str(out))
    assert code == 0 and "640x360" in stdout and Baseline.load(out).frame_size == (640, 360)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--config", "missing.yaml"], "kuzet: missing.yaml: no such config file"),
        (
            ["--config", str(SAMPLES / "traffic" / "ozlu.yaml"), "--video", "gone.mp4"],
            "kuzet: gone.mp4: no such video file",
        ),
    ],
    ids=["config", "video"],
)
def test_a_missing_file_exits_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    code, stdout, stderr = baseline(*args, "--out", str(tmp_path / "x.npz"))
    assert code == 2 and stdout == "" and stderr.strip() == message
    assert not (tmp_path / "x.npz").exists()
