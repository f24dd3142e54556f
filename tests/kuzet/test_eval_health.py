"""``kuzet eval health``: the EVAL.md contract on a small generated set of real tampered clips, the scoring rules on
built timelines, and one-line errors on folders without the layout."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kuzet.cli import main
from kuzet.eval.health import Interval, Timeline, _score_video, _Tally

CONTRACT_KEYS = {
    "videos",
    "intervals",
    "detected",
    "cleared",
    "clearable",
    "mean_delay_s",
    "max_delay_s",
    "false_alarms",
    "confused",
    "by_state",
    "ms_per_frame",
}


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small development set (street clip: untouched, cap, blur, 5 % shift, 5 s freeze), made once."""
    out = tmp_path_factory.mktemp("health-small")
    code, stdout, stderr = invoke("devset", "health", "--out", str(out), "--seed", "7", "--small")
    assert code == 0, stderr
    assert "5 videos, 4 tampering intervals" in stdout
    return out


@pytest.fixture(scope="module")
def evaluated(small_set: Path) -> tuple[dict[str, Any], str]:
    code, stdout, stderr = invoke("eval", "health", "--data", str(small_set), "--json")
    assert code == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1]), stderr


def test_every_tamper_is_raised_and_cleared_in_time_and_nothing_else(evaluated: tuple[dict[str, Any], str]) -> None:
    result, _ = evaluated
    assert set(result) >= CONTRACT_KEYS
    assert (result["videos"], result["intervals"], result["unreadable"]) == (5, 4, 0)
    assert result["detected"] == result["intervals"], result["missed_list"]
    assert result["cleared"] == result["clearable"] == 4
    assert result["false_alarms"] == 0, result["false_list"]
    assert result["confused"] == 0
    assert 0.0 < result["mean_delay_s"] <= result["max_delay_s"] <= 5.0
    assert set(result["by_state"]) == {"covered", "defocused", "moved", "frozen"}
    for state, figures in result["by_state"].items():
        assert (figures["intervals"], figures["detected"], figures["cleared"]) == (1, 1, 1), state
    assert 0.0 < result["ms_per_frame"] < 100.0
    assert result["frames"] > 600


def test_progress_goes_to_stderr_one_line_per_video(evaluated: tuple[dict[str, Any], str]) -> None:
    _, stderr = evaluated
    lines = [line for line in stderr.splitlines() if line.startswith("[")]
    assert len(lines) == 5 and lines[-1].startswith("[5/5]")
    assert any("untouched-street.mp4: 0 interval(s), raised nothing" in line for line in lines)


def test_a_video_without_rows_is_untouched_and_a_tamper_there_is_a_false_alarm(small_set: Path, tmp_path: Path) -> None:
    """The capped clip with its label row removed: its cover is now raised outside every interval."""
    shutil.copy(small_set / "00-covered.mp4", tmp_path / "capped.mp4")
    (tmp_path / "labels.csv").write_text("video,state,start_s,end_s\n")
    code, stdout, stderr = invoke("eval", "health", "--data", str(tmp_path), "--json")
    assert code == 0, stderr
    result = json.loads(stdout.strip().splitlines()[-1])
    assert (result["videos"], result["intervals"], result["detected"]) == (1, 0, 0)
    assert result["false_alarms"] == 1 and result["false_list"][0]["state"] == "covered"
    assert result["mean_delay_s"] is None and result["by_state"] == {}


def timeline(*changes: tuple[float, tuple[str, ...]], duration: float = 30.0) -> Timeline:
    return Timeline([(t, frozenset(active)) for t, active in changes], duration_s=duration)


@pytest.mark.parametrize(
    ("changes", "duration", "expected"),
    [
        # raised 2 s in, cleared 2 s after: detected, cleared, nothing else
        ([(7.0, ("covered",)), (14.0, ())], 30.0, (1, 1, 1, 0, 0, 2.0)),
        # raised 5.5 s in: too late; cleared in time all the same
        ([(10.5, ("covered",)), (13.0, ())], 30.0, (0, 1, 1, 0, 0, None)),
        # defocused raised beside the cover inside the interval: confused
        ([(7.0, ("covered",)), (7.5, ("covered", "defocused")), (14.0, ())], 30.0, (1, 1, 1, 0, 1, 2.0)),
        # never cleared
        ([(6.0, ("covered",))], 30.0, (1, 0, 1, 0, 0, 1.0)),
        # a moved raised long after the interval: a false alarm
        ([(7.0, ("covered",)), (13.0, ()), (20.0, ("moved",))], 30.0, (1, 1, 1, 1, 0, 2.0)),
        # the clip ends with the interval: not clearable
        ([(7.0, ("covered",))], 12.0, (1, 0, 0, 0, 0, 2.0)),
    ],
)
def test_scoring_rules(
    changes: list[tuple[float, tuple[str, ...]]], duration: float, expected: tuple[Any, ...]
) -> None:
    tally = _Tally()
    _score_video("v.mp4", timeline(*changes, duration=duration), [Interval("v.mp4", "covered", 5.0, 12.0)], tally)
    total = tally.total.as_dict()
    got = (total["detected"], total["cleared"], total["clearable"], tally.false_alarms, total["confused"])
    assert (*got, total["mean_delay_s"]) == expected


@pytest.mark.parametrize(
    ("labels", "video", "message"),
    [
        (None, True, "has no labels.csv"),
        ("video,state,start\n", True, "lacks column(s) start_s, end_s"),
        ("video,state,start_s,end_s\nclip.mp4,smudged,1,2\n", True, "state must be one of"),
        ("video,state,start_s,end_s\nclip.mp4,covered,5,2\n", True, "needs 0 <= start_s < end_s"),
        ("video,state,start_s,end_s\nclip.mp4,covered,x,2\n", True, "start_s and end_s must be seconds"),
        ("video,state,start_s,end_s\nother.mp4,covered,1,2\n", True, "video 'other.mp4' is not in"),
        ("video,state,start_s,end_s\n", False, "has no video files"),
    ],
)
def test_a_folder_without_the_layout_exits_2_with_one_line(
    tmp_path: Path, labels: str | None, video: bool, message: str
) -> None:
    if labels is not None:
        (tmp_path / "labels.csv").write_text(labels)
    if video:
        (tmp_path / "clip.mp4").write_bytes(b"not a video")
    code, _, stderr = invoke("eval", "health", "--data", str(tmp_path), "--json")
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1 and message in stderr


def test_an_undecodable_video_is_counted_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"not a video")
    (tmp_path / "labels.csv").write_text("video,state,start_s,end_s\nclip.mp4,covered,4,8\n")
    code, stdout, stderr = invoke("eval", "health", "--data", str(tmp_path), "--json")
    assert code == 0, stderr
    result = json.loads(stdout.strip().splitlines()[-1])
    assert (result["unreadable"], result["intervals"], result["detected"], result["clearable"]) == (1, 1, 0, 0)


def test_a_missing_folder_exits_2(tmp_path: Path) -> None:
    code, _, stderr = invoke("eval", "health", "--data", str(tmp_path / "nope"))
    assert code == 2 and "is not a folder" in stderr
