"""``kuzet eval speed``: track speeds on scenario files against the true constant speeds (EVAL.md).

Every object with ``constant_speed`` and detections in at least 10 frames is a vehicle. Its speed is the one the
pipeline attaches to the track holding most of its detections when that track closes (``run_scenario``: the
figures a speeding decision would use); a vehicle whose track gets no speed counts in ``vehicles`` but not in
``measured``. ``coverage_2sigma`` is the share of measured vehicles whose true speed lies within two sigma of the
estimate. ``by_tag`` splits the measured vehicles by their scenario's tags.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from kuzet.eval.common import Progress
from kuzet.eval.scenarios import ScenarioRun, load_scenario, run_scenario, scenario_files

MIN_FRAMES = 10


def _measure(run: ScenarioRun, scenario: dict[str, Any]) -> tuple[int, list[tuple[float, float, float]]]:
    """Vehicles counted and (true, estimate, sigma) of the measured ones."""
    truth = (scenario.get("truth") or {}).get("objects") or {}
    frames: Counter[int] = Counter()
    for frame in scenario["frames"]:
        frames.update({int(d[6]) for d in frame.get("detections", []) if len(d) > 6})
    vehicles, measured = 0, []
    for key, obj in truth.items():
        oid = int(key)
        if not obj.get("constant_speed") or frames[oid] < MIN_FRAMES:
            continue
        vehicles += 1
        holders = [t for t in run.tracks if t.objects[oid] > 0]
        if not holders:
            continue
        best = max(holders, key=lambda t: t.objects[oid])
        if best.speed.speed_kmh is not None and best.speed.sigma_kmh is not None:
            measured.append((float(obj["speed_kmh"]), best.speed.speed_kmh, best.speed.sigma_kmh))
    return vehicles, measured


def _figures(rows: list[tuple[float, float, float]]) -> dict[str, Any]:
    errors = [abs(est - true) for true, est, _ in rows]
    covered = [abs(est - true) <= 2.0 * sigma for true, est, sigma in rows]
    return {
        "measured": len(rows),
        "mae_kmh": round(sum(errors) / len(rows), 3) if rows else None,
        "coverage_2sigma": round(sum(covered) / len(rows), 4) if rows else None,
    }


def run(data: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Evaluate track speeds on every scenario of ``data``; the contract's JSON dict.

    Raises:
        LayoutError: the folder has no scenario files, or one is not a scenario.
    """
    say = progress or (lambda _message: None)
    files = scenario_files(data)
    vehicles = 0
    rows: list[tuple[float, float, float]] = []
    by_tag: defaultdict[str, list[tuple[float, float, float]]] = defaultdict(list)
    seconds = 0.0
    for n, path in enumerate(files, start=1):
        scenario = load_scenario(path)
        begin = time.perf_counter()
        result = run_scenario(scenario)
        seconds += time.perf_counter() - begin
        count, measured = _measure(result, scenario)
        vehicles += count
        rows.extend(measured)
        for tag in result.tags:
            by_tag[tag].extend(measured)
        if n % 50 == 0 or n == len(files):
            say(f"[{n}/{len(files)}] {path.name}: {len(measured)}/{count} measured")
    errors = [abs(est - true) for true, est, _ in rows]
    return {
        "vehicles": vehicles,
        **_figures(rows),
        "max_abs_err_kmh": round(max(errors), 3) if errors else None,
        "mean_sigma_kmh": round(sum(s for _, _, s in rows) / len(rows), 3) if rows else None,
        "by_tag": {tag: _figures(tag_rows) for tag, tag_rows in sorted(by_tag.items())},
        "ms_per_scenario": round(1000.0 * seconds / len(files), 2),
    }
