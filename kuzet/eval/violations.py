"""``kuzet eval violations``: the traffic rules on scenario files, scored against their truth (EVAL.md).

Each ``*.json`` scenario runs through ``kuzet.eval.scenarios.run_scenario`` (the pipeline's tracker, calibration,
speed estimator and rules with the default configuration; ``truth`` unread). Then, per scenario, each issued
violation is attributed to the object that supplied most of its track's detections: a required (object, kind)
issued is ``found``, not issued ``missed``; an issued (object, kind) that the truth does not list, or attributed
to -1 (false detections), is ``false``; a second issue of the same (object, kind), required or allowed, is a
``duplicate`` and counts in ``false`` too. Allowed ones (``required: false``) otherwise count nowhere.
``precision`` = found / (found + false) and ``recall`` = found / required (1.0 when there is nothing to count).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kuzet.eval.common import Progress
from kuzet.eval.scenarios import ScenarioRun, load_scenario, run_scenario, scenario_files

MAX_LISTED = 20


@dataclass(slots=True)
class _Kind:
    required: int = 0
    found: int = 0
    missed: int = 0
    false: int = 0


@dataclass(slots=True)
class _Tally:
    kinds: dict[str, _Kind] = field(default_factory=dict)
    duplicates: int = 0
    false_list: list[dict[str, Any]] = field(default_factory=list)

    def kind(self, name: str) -> _Kind:
        return self.kinds.setdefault(name, _Kind())


def score(run: ScenarioRun, truth: dict[str, Any], tally: _Tally) -> None:
    """Add one scenario's decisions to the tally."""
    listed = {(int(v["object"]), str(v["kind"])): bool(v.get("required", True)) for v in truth.get("violations", [])}
    issued: Counter[tuple[int, str]] = Counter()
    for track in run.tracks:
        for v in track.violations:
            key = (track.owner, str(v.kind))
            issued[key] += 1
            wrong = track.owner < 0 or key not in listed
            if issued[key] > 1:
                tally.duplicates += 1
                wrong = True
            if wrong:
                tally.kind(key[1]).false += 1
                if len(tally.false_list) < MAX_LISTED:
                    tally.false_list.append({"scenario": run.scenario_id, "object": key[0], "kind": key[1], "t": v.t})
    for (obj, kind), required in listed.items():
        if not required:
            continue
        counts = tally.kind(kind)
        counts.required += 1
        if issued[(obj, kind)]:
            counts.found += 1
        else:
            counts.missed += 1


def run(data: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Evaluate the rules on every scenario of ``data``; the contract's JSON dict.

    Raises:
        LayoutError: the folder has no scenario files, or one is not a scenario.
    """
    say = progress or (lambda _message: None)
    files = scenario_files(data)
    tally, seconds = _Tally(), 0.0
    for n, path in enumerate(files, start=1):
        scenario = load_scenario(path)
        begin = time.perf_counter()
        result = run_scenario(scenario)
        seconds += time.perf_counter() - begin
        score(result, scenario.get("truth") or {}, tally)
        if n % 50 == 0 or n == len(files):
            say(f"[{n}/{len(files)}] {path.name}: {sum(len(t.violations) for t in result.tracks)} issued")
    kinds = tally.kinds.values()
    required, found = sum(k.required for k in kinds), sum(k.found for k in kinds)
    false = sum(k.false for k in kinds)
    return {
        "scenarios": len(files),
        "required": required,
        "found": found,
        "missed": sum(k.missed for k in kinds),
        "false": false,
        "duplicates": tally.duplicates,
        "precision": round(found / (found + false), 4) if found + false else 1.0,
        "recall": round(found / required, 4) if required else 1.0,
        "by_kind": {
            name: {"required": k.required, "found": k.found, "missed": k.missed, "false": k.false}
            for name, k in sorted(tally.kinds.items())
        },
        "false_list": tally.false_list,
        "ms_per_scenario": round(1000.0 * seconds / len(files), 2),
    }
