"""``kuzet eval violations`` on a small generated scenario set: the contract's keys, scoring, layout errors, and a
pipeline that decides without the truth."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kuzet.cli import main
from kuzet.devsets.traffic import generate
from kuzet.eval.scenarios import ScenarioRun, ScenarioTrack, load_scenario, run_scenario
from kuzet.eval.violations import _Tally, score

KEYS = {"scenarios", "required", "found", "missed", "false", "duplicates", "precision", "recall", "by_kind",
        "false_list", "ms_per_scenario"}  # fmt: skip


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scenarios")
    generate(out, seed=5, count=12)  # one of every kind, and one more
    return out


def test_eval_violations_json(scenarios: Path) -> None:
    code, out, err = invoke("eval", "violations", "--data", str(scenarios), "--json")
    assert code == 0, err
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    assert set(result) >= KEYS and result["scenarios"] == 12
    assert result["required"] >= 5 and result["false"] == 0 and result["precision"] == 1.0
    assert result["recall"] >= 0.8 and result["found"] + result["missed"] == result["required"]
    assert all(set(row) == {"required", "found", "missed", "false"} for row in result["by_kind"].values())
    assert "[12/12]" in err  # progress on stderr


def test_decisions_do_not_read_the_truth(scenarios: Path) -> None:
    path = sorted(scenarios.glob("red_runner-*.json"))[0]
    scenario = load_scenario(path)
    blind = {k: v for k, v in scenario.items() if k != "truth"}
    for frame in blind["frames"]:  # nor the true identity of the boxes
        frame["detections"] = [[*d[:6], -1] for d in frame["detections"]]

    def decided(run: ScenarioRun) -> list[tuple[int, str, float]]:
        return [(t.track_id, str(v.kind), v.t) for t in run.tracks for v in t.violations]

    assert decided(run_scenario(blind)) == decided(run_scenario(scenario))


def test_scoring_counts_duplicates_false_and_allowed() -> None:
    from edge.traffic.rules.base import Violation, ViolationKind
    from edge.traffic.speed import SpeedEstimate

    def track(owner: int, *kinds: ViolationKind) -> ScenarioTrack:
        found = tuple(Violation(kind=k, track_id=owner, vehicle_class="car", t=1.0, index=0) for k in kinds)
        return ScenarioTrack(owner, SpeedEstimate(None, None, 0, 0, "too_short"), Counter({owner: 9}), found)

    run = ScenarioRun("s", (), [track(1, ViolationKind.RED_LIGHT), track(1, ViolationKind.RED_LIGHT),
                                track(2, ViolationKind.STOP_LINE), track(-1, ViolationKind.SPEEDING)])  # fmt: skip
    truth = {"violations": [{"object": 1, "kind": "red_light", "required": True},
                            {"object": 2, "kind": "stop_line", "required": False},
                            {"object": 3, "kind": "wrong_way", "required": True}]}  # fmt: skip
    tally = _Tally()
    score(run, truth, tally)
    assert tally.duplicates == 1
    assert {k: (v.required, v.found, v.missed, v.false) for k, v in tally.kinds.items()} == {
        "red_light": (1, 1, 0, 1),  # found once, then a second fine for one act
        "speeding": (0, 0, 0, 1),  # a ghost's track
        "wrong_way": (1, 0, 1, 0),
    }  # the allowed stop line counts nowhere


@pytest.mark.parametrize("layout", ["missing", "empty", "not-a-scenario"])
def test_bad_folder_exits_2_with_one_line(tmp_path: Path, layout: str) -> None:
    data = tmp_path / "data"
    if layout != "missing":
        data.mkdir()
    if layout == "not-a-scenario":
        (data / "x.json").write_text('{"format": "something-else"}')
    code, _, err = invoke("eval", "violations", "--data", str(data), "--json")
    assert code == 2 and len(err.strip().splitlines()) == 1
