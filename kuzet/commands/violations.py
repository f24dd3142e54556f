"""Violations area: ``kuzet eval lights``, ``kuzet evidence verify``, and the demo hook ``demo_violations``."""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path
from typing import Any

import click

from kuzet.commands import eval_group
from kuzet.commands.common import emit_json, fail, progress

COLOURS = ("red", "yellow", "green")


def read_light_labels(data: Path) -> list[tuple[str, str]]:
    """``(image, colour)`` rows to evaluate: the test split when a ``split`` column exists, else every row.

    Exits 2 with one line when the folder lacks the layout.
    """
    labels = data / "labels.csv"
    if not data.is_dir():
        fail(f"{data} is not a folder")
    if not labels.is_file():
        fail(f"{data} has no labels.csv (expected columns image,colour[,split])")
    with labels.open(newline="") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        if not {"image", "colour"} <= columns:
            fail(f"{labels} needs columns image and colour, has {sorted(columns)}")
        rows = [r for r in reader if "split" not in columns or r["split"] == "test"]
    bad = [r["colour"] for r in rows if r["colour"] not in COLOURS]
    if bad:
        fail(f"{labels}: colour must be one of {list(COLOURS)}, found {bad[0]!r}")
    if not rows:
        fail(f"{labels} has no rows to evaluate (split == test when the split column exists)")
    return [(r["image"], r["colour"]) for r in rows]


def evaluate_lights(data: Path, rows: list[tuple[str, str]]) -> dict[str, Any]:
    """Run the committed classifier over the rows; unreadable images count as errors."""
    import cv2
    import numpy as np

    from models.lights import load_light_classifier

    classifier = load_light_classifier()
    truth: list[str] = []
    predicted: list[str] = []
    unreadable = 0
    elapsed = 0.0
    for number, (image, colour) in enumerate(rows, start=1):
        crop = cv2.imread(str(data / image), cv2.IMREAD_COLOR)
        truth.append(colour)
        if crop is None:
            unreadable += 1
            predicted.append("unreadable")
            continue
        started = time.perf_counter()
        labels, _ = classifier.predict([np.asarray(crop, dtype=np.uint8)])
        elapsed += time.perf_counter() - started
        predicted.append(str(labels[0]))
        if number % 100 == 0:
            progress(f"lights: {number}/{len(rows)}")
    y, p = np.array(truth), np.array(predicted)
    result: dict[str, Any] = {"n": len(rows), "accuracy": float(np.mean(y == p)), "unreadable": unreadable}
    for colour in COLOURS:
        mask = y == colour
        result[f"recall_{colour}"] = float(np.mean(p[mask] == colour)) if mask.any() else None
        result[f"n_{colour}"] = int(mask.sum())
    result["red_as_green"] = int(np.sum((y == "red") & (p == "green")))
    result["confusion"] = {t: {q: int(np.sum((y == t) & (p == q))) for q in sorted(set(p))} for t in COLOURS}
    result["ms_per_crop"] = 1000.0 * elapsed / max(len(rows) - unreadable, 1)
    return result


@eval_group.command("lights")
@click.option("--data", "data", type=click.Path(path_type=Path), required=True, help="Folder with labels.csv")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout")
def eval_lights(data: Path, as_json: bool) -> None:
    """Traffic-light state accuracy (labels.csv: image,colour[,split]; the test split when present)."""
    rows = read_light_labels(data)
    progress(f"lights: evaluating {len(rows)} crops from {data}")
    result = evaluate_lights(data, rows)
    if as_json:
        emit_json(result)
        return
    click.echo(
        f"n={result['n']} accuracy={result['accuracy']:.4f} recall red={result['recall_red']}"
        f" yellow={result['recall_yellow']} green={result['recall_green']}"
        f" red_as_green={result['red_as_green']} ms/crop={result['ms_per_crop']:.3f}"
    )


@click.group("evidence")
def evidence_group() -> None:
    """Violation evidence packages (signed, hash-chained per camera)."""


def read_trusted_key(value: str | None) -> str | None:
    """A trusted public key given as 64 hex characters or as a file holding them; exits 2 when malformed."""
    if value is None:
        return None
    text = Path(value).read_text().strip() if Path(value).is_file() else value.strip()
    if len(text) != 64 or any(c not in "0123456789abcdefABCDEF" for c in text):
        fail(f"--trusted-key must be 64 hex characters or a file holding them, got {value!r}")
    return text.lower()


@evidence_group.command("verify")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--trusted-key", default=None, help="Camera public key (hex or .pub file) the packages must be signed with"
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout")
def evidence_verify(path: Path, trusted_key: str | None, as_json: bool) -> None:
    """Check one package or a whole chain folder; exit 0 when intact, 1 listing every problem."""
    from edge.traffic.evidence_verify import is_package, list_packages, verify_chain, verify_package

    if not path.is_dir():
        fail(f"{path} is not a folder (give an evidence package or a camera's chain folder)")
    key = read_trusted_key(trusted_key)
    single = is_package(path)
    if not single and not list_packages(path):
        fail(f"{path} holds no evidence packages (no manifest.json, no package folders)")
    problems = verify_package(path, key) if single else verify_chain(path, key)
    count = 1 if single else len(list_packages(path))
    for problem in problems:
        click.echo(f"FAIL {problem}")
    if not problems:
        click.echo(f"OK {count} package(s) in {path} verified" + (" against the trusted key" if key else ""))
    if as_json:
        emit_json({"path": str(path), "packages": count, "ok": not problems, "problems": problems})
    if problems:
        sys.exit(1)


COMMANDS: list[click.Command] = [evidence_group]


# --- demo: a rendered junction approach, measured from its pixels ---------------------------------------------

DEMO_T0 = 1_795_402_800.0  # 2026-11-23T03:00:00Z, Monday 08:00 at UTC+5
DEMO_FPS = 10.0
DEMO_FRAMES = 100
DEMO_METRES_PER_PX = 0.25
DEMO_PLATE = "123ABC02"
DEMO_SCENE: dict[str, Any] = {
    "image_size": (640, 360),
    "location": "Synthetic junction approach (rendered demo scene)",
    "signal_roi": (560, 30, 590, 96),
    "lanes": [
        {"id": "n1", "polygon": [(160, 0), (340, 0), (340, 360), (160, 360)], "direction_deg": 90},
        {"id": "n2", "polygon": [(340, 0), (520, 0), (520, 360), (340, 360)], "direction_deg": 90},
    ],
    "lines": [
        {"id": "stop-1", "p1": (160, 250), "p2": (520, 250), "kind": "stop", "lanes": ["n1", "n2"]},
        {"id": "centre", "p1": (160, 0), "p2": (160, 360), "kind": "solid"},
        {"id": "n1-n2", "p1": (340, 0), "p2": (340, 360), "kind": "dashed"},
    ],
}


def demo_signal_colour(t: float) -> str:
    """Signal plan of the demo: green 0-3 s, yellow 3-5 s, red after (seconds from the start)."""
    return "green" if t < 3.0 else "yellow" if t < 5.0 else "red"


def demo_car_box(t: float) -> tuple[int, int, int, int]:
    """Box of the demo car at ``t`` seconds: 140x100 px driving down lane n1 at 28 px/s."""
    bottom = round(50 + 28.0 * t)
    return 180, bottom - 100, 320, bottom


def render_demo_frame(index: int) -> Any:
    """One (360, 640, 3) BGR frame of the demo scene: road, markings, signal head, car with its plate."""
    import cv2
    import numpy as np

    t = index / DEMO_FPS
    img = np.full((360, 640, 3), (70, 70, 70), dtype=np.uint8)
    cv2.rectangle(img, (150, 0), (530, 360), (95, 95, 95), -1)
    cv2.line(img, (160, 0), (160, 360), (240, 240, 240), 3)
    for y in range(0, 360, 40):
        cv2.line(img, (340, y), (340, y + 20), (220, 220, 220), 2)
    cv2.line(img, (160, 250), (520, 250), (250, 250, 250), 5)
    x1, y1, x2, y2 = DEMO_SCENE["signal_roi"]
    cv2.rectangle(img, (x1, y1), (x2, y2), (25, 25, 25), -1)
    lit = demo_signal_colour(t)
    lamps = {"red": (40, 40, 235), "yellow": (30, 200, 250), "green": (140, 230, 60)}
    for k, name in enumerate(("red", "yellow", "green")):
        centre = ((x1 + x2) // 2, int(y1 + (y2 - y1) * (0.18, 0.5, 0.82)[k]))
        cv2.circle(img, centre, 10, lamps[name] if name == lit else (50, 55, 50), -1)
    cx1, cy1, cx2, cy2 = demo_car_box(t)
    cv2.rectangle(img, (cx1, cy1), (cx2, cy2), (150, 60, 30), -1)
    cv2.rectangle(img, (cx1 + 15, cy1 + 10), (cx2 - 15, cy1 + 40), (60, 40, 30), -1)
    px = (cx1 + cx2) // 2
    cv2.rectangle(img, (px - 62, cy2 - 36), (px + 62, cy2 - 6), (245, 245, 245), -1)
    cv2.putText(img, DEMO_PLATE, (px - 57, cy2 - 13), cv2.FONT_HERSHEY_SIMPLEX, 0.68, (10, 10, 10), 2)
    return img


def demo_track(frames: list[Any]) -> Any:
    """Measure the car from the pixels: median background, difference mask, box bottom-centre per frame."""
    import cv2
    import numpy as np

    from edge.traffic.rules.base import TrackView

    background = np.median(np.stack(frames[::4]), axis=0).astype(np.uint8)
    x1, y1, x2, y2 = DEMO_SCENE["signal_roi"]
    t, xy, index = [], [], []
    for k, frame in enumerate(frames):
        mask = cv2.absdiff(frame, background).max(axis=2) > 30
        mask[y1:y2, x1:x2] = False
        ys, xs = np.nonzero(mask)
        if len(xs) < 500:
            continue
        t.append(DEMO_T0 + k / DEMO_FPS)
        xy.append(((xs.min() + xs.max()) / 2.0, float(ys.max())))
        index.append(k)
    road = np.asarray(xy) * DEMO_METRES_PER_PX
    times = np.asarray(t) - t[0]
    (vx, _), cov_x = np.polyfit(times, road[:, 0], 1, cov=True)
    (vy, _), cov_y = np.polyfit(times, road[:, 1], 1, cov=True)
    speed = float(np.hypot(vx, vy)) * 3.6
    sigma = float(np.sqrt(cov_x[0, 0] + cov_y[0, 0])) * 3.6 + 0.5  # fit error + 0.5 km/h calibration floor
    return TrackView(1, "car", True, np.asarray(t), np.asarray(xy), road, speed, sigma, None, np.asarray(index))


def _demo_plate(frames: list[Any]) -> Any:
    """Plate crop of the car (lower part of its box, from the frame) read by the real plate recogniser."""
    import numpy as np

    from edge.traffic.evidence import PlateEvidence
    from edge.traffic.rules.base import TrackView, Violation
    from models.plates.config import PlateReaderConfig
    from models.plates.ocr import build_reader

    reader = build_reader(PlateReaderConfig(region="kz"))

    def plate_for(violation: Violation, track: TrackView) -> PlateEvidence | None:
        if track.frame_index is None:
            return None
        x, y = track.image_xy[violation.index]
        frame = frames[int(track.frame_index[violation.index])]
        crop = np.ascontiguousarray(frame[int(y) - 40 : int(y) - 2, int(x) - 66 : int(x) + 66])
        read = reader.read(crop)
        return PlateEvidence(crop=crop, raw=read.raw, normalised=read.text or None, confidence=read.confidence)

    return plate_for


def demo_violations(samples_dir: Path, work_dir: Path) -> list[str]:
    """Build and verify real evidence from a rendered junction clip (no sample media needed).

    The 10 s clip is rendered offline (signal green -> yellow -> red, one car crossing the stop line on red).
    Everything downstream is the production code on its pixels: the light classifier reads the signal head in
    the scene's ROI, a background-difference tracker measures the car, the rules fire, the plate recogniser
    reads the plate crop, and a signed, chained package is written under ``work_dir/evidence`` and verified.
    """
    del samples_dir
    from edge.traffic.evidence import EvidenceConfig, EvidenceContext, package_violations
    from edge.traffic.evidence_verify import verify_chain
    from edge.traffic.rules import RulesConfig, evaluate_rules
    from edge.traffic.scene import SceneConfig
    from hardware.signal import CameraSignalConfig, CameraSignalSource
    from kuzet.contracts import ClockSource
    from models.lights import default_model_path, load_light_classifier
    from models.plates.ocr import RECOGNISER_FILE, RECOGNISER_PACKAGE
    from models.runtime import package_file

    scene = SceneConfig.model_validate(DEMO_SCENE)
    frames = [render_demo_frame(k) for k in range(DEMO_FRAMES)]
    assert scene.signal_roi is not None
    camera = CameraSignalSource(load_light_classifier(), CameraSignalConfig(roi=scene.signal_roi))
    for k, frame in enumerate(frames):
        camera.observe(frame, DEMO_T0 + k / DEMO_FPS)
    signal = camera.timeline()  # this camera has no controller feed: choose_signal(None, camera) is the classifier
    track = demo_track(frames)
    violations = evaluate_rules([track], scene, signal, RulesConfig())
    context = EvidenceContext(
        camera_id="demo-junction",
        clock_source=ClockSource.FILE,
        calibration_version=f"demo-flat-{DEMO_METRES_PER_PX}mpp",
        location=scene.location,
        model_files={
            "light_classifier": default_model_path(),
            "plate_recogniser": package_file(RECOGNISER_PACKAGE, RECOGNISER_FILE),
        },
    )
    config = EvidenceConfig(chain_dir=work_dir / "evidence" / "demo-junction", key_dir=work_dir / "keys")
    packages = package_violations(
        violations, {track.track_id: track}, scene, lambda i: frames[i], context, config, _demo_plate(frames)
    )
    trusted = (config.key_dir / "demo-junction.ed25519.pub").read_text().strip()
    problems = verify_chain(config.chain_dir, trusted)
    lines = [f"signal (camera classifier): {[(round(c.t - DEMO_T0, 1), c.state.value) for c in signal.changes]}"]
    lines.append(f"track 1: {len(track)} samples, speed {track.speed_kmh:.1f} ± {track.speed_sigma_kmh:.1f} km/h")
    for v, package in zip(violations, packages, strict=True):
        lines.append(f"violation {v.kind} at t+{v.t - DEMO_T0:.2f} s, signal {v.signal_state} -> {package}")
    lines.append(f"evidence verify {config.chain_dir}: " + ("OK" if not problems else "; ".join(problems)))
    return lines
