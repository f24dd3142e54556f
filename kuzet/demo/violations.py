"""The violations stage of ``kuzet demo``: real evidence packages from a rendered junction clip.

A 10 s junction approach is rendered offline (signal green -> yellow -> red, one car with a plate crossing the stop
line on red). Everything downstream is production code on its pixels: the light classifier reads the signal head in
the scene's ROI (signal source = classifier), a background-difference tracker measures the car, the rules fire, the
plate recogniser reads the plate, and a signed, chained package is written, verified and uploaded as a violation
event. The bundled street clip's violations come from the traffic stage's single agent pass (``kuzet.demo.traffic``),
not from a second run here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kuzet.demo.support import DEMO_T0, DISTRICT, DemoBackend, drain

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


DEMO_SURVEY: dict[str, Any] = {
    "version": f"demo-flat-{DEMO_METRES_PER_PX}mpp",
    "image_points": ((0.0, 0.0), (640.0, 0.0), (640.0, 360.0), (0.0, 360.0)),
    "road_points": ((0.0, 0.0), (160.0, 0.0), (160.0, 90.0), (0.0, 90.0)),
    "max_metres_per_pixel": 0.3,
    "point_sigma_m": 0.05,
    "scale_sigma": 0.02,
    "notes": "rendered scene: every pixel is 0.25 m on the road",
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

    from edge.traffic.calibration import CalibrationConfig
    from edge.traffic.rules.base import TrackView
    from edge.traffic.speed import SpeedConfig, speed_from_track

    background = np.median(np.stack(frames[::4]), axis=0).astype(np.uint8)
    x1, y1, x2, y2 = DEMO_SCENE["signal_roi"]
    t, xy, index, boxes = [], [], [], []
    for k, frame in enumerate(frames):
        mask = cv2.absdiff(frame, background).max(axis=2) > 30
        mask[y1:y2, x1:x2] = False
        ys, xs = np.nonzero(mask)
        if len(xs) < 500:
            continue
        t.append(DEMO_T0 + k / DEMO_FPS)
        xy.append(((xs.min() + xs.max()) / 2.0, float(ys.max())))
        index.append(k)
        boxes.append((float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())))
    road = np.asarray(xy) * DEMO_METRES_PER_PX
    survey = CalibrationConfig.model_validate(DEMO_SURVEY)
    speed = speed_from_track(np.asarray(t), np.asarray(xy), survey, SpeedConfig())
    return TrackView(1, "car", True, np.asarray(t), np.asarray(xy), road, speed.speed_kmh, speed.sigma_kmh, None,
                     np.asarray(index), np.asarray(boxes))  # fmt: skip


def _demo_plate(frames: list[Any]) -> Any:
    """Plate crop of the car (lower part of its box, from the frame) read by the real plate recogniser."""
    import numpy as np

    from edge.traffic.evidence import PlateEvidence
    from edge.traffic.rules.base import TrackView, Violation
    from models.plates.config import PlateReaderConfig
    from models.plates.ocr import build_plate_reader

    reader = build_plate_reader(PlateReaderConfig(region="kz"))

    def plate_for(violation: Violation, track: TrackView) -> PlateEvidence | None:
        if track.frame_index is None:
            return None
        x, y = track.image_xy[violation.index]
        frame = frames[int(track.frame_index[violation.index])]
        crop = np.ascontiguousarray(frame[int(y) - 40 : int(y) - 2, int(x) - 66 : int(x) + 66])
        read = reader.read(crop)
        return PlateEvidence(crop=crop, raw=read.raw, normalised=read.text or None, confidence=read.confidence)

    return plate_for


def rendered_demo(work_dir: Path) -> list[str]:
    """Build and verify real evidence from the rendered junction clip through ``ViolationStage``."""
    from edge.traffic.calibration import CalibrationConfig
    from edge.traffic.evidence import EvidenceConfig, EvidenceContext
    from edge.traffic.evidence_package import clock_status
    from edge.traffic.evidence_verify import verify_chain
    from edge.traffic.rules.stage import ViolationsConfig, ViolationStage
    from edge.traffic.scene import SceneConfig
    from edge.traffic.speed import SpeedConfig
    from kuzet.contracts import ClockSource
    from models.lights import build_light_classifier, default_model_path
    from models.plates.ocr import RECOGNISER_FILE, RECOGNISER_PACKAGE
    from models.runtime import package_file

    scene = SceneConfig.model_validate(DEMO_SCENE)
    frames = [render_demo_frame(k) for k in range(DEMO_FRAMES)]
    context = EvidenceContext(
        camera_id="demo-junction",
        clock_source=ClockSource.FILE,
        calibration_version=str(DEMO_SURVEY["version"]),
        location=scene.location,
        model_files={
            "light_classifier": default_model_path(),
            "plate_recogniser": package_file(RECOGNISER_PACKAGE, RECOGNISER_FILE),
        },
        calibration=CalibrationConfig.model_validate(DEMO_SURVEY),
        speed=SpeedConfig(),
        clock=clock_status(ClockSource.FILE),
    )
    evidence = EvidenceConfig(chain_dir=work_dir / "evidence" / "demo-junction", key_dir=work_dir / "keys")
    stage = ViolationStage(
        scene, ViolationsConfig(evidence=evidence), context, None, build_light_classifier(), _demo_plate(frames)
    )
    for k, frame in enumerate(frames):  # no controller log: the camera classifier reads the signal head
        stage.on_frame(frame, DEMO_T0 + k / DEMO_FPS, k)
    track = demo_track(frames)
    packages = stage.on_track(track)
    signal = stage.signal()
    assert signal is not None
    trusted = (evidence.key_dir / "demo-junction.ed25519.pub").read_text().strip()
    problems = verify_chain(evidence.chain_dir, trusted)
    lines = [f"signal ({signal.source.value}): {[(round(c.t - DEMO_T0, 1), c.state.value) for c in signal.changes]}"]
    lines.append(f"track 1: {len(track)} samples, speed {track.speed_kmh:.1f} ± {track.speed_sigma_kmh:.1f} km/h")
    for v, package in zip(stage.violations, packages, strict=True):
        lines.append(f"violation {v.kind} at t+{v.t - DEMO_T0:.2f} s, signal {v.signal_state} -> {package}")
    lines.append(f"evidence verify {evidence.chain_dir}: " + ("OK" if not problems else "; ".join(problems)))
    return lines


def stage(api: DemoBackend) -> list[str]:
    """The rendered junction (signal read by the light classifier) -> a verified package -> a violation event."""
    from edge.traffic.evidence_verify import list_packages, violation_event

    work = api.work_dir / "violations"
    lines = rendered_demo(work)
    for chain in sorted(p for p in (work / "evidence").iterdir() if p.is_dir()):
        key = (work / "keys" / f"{chain.name}.ed25519.pub").read_text().strip()  # registered at enrolment
        spool, uplink = api.device(chain.name, "traffic", DISTRICT, key)
        for package in list_packages(chain):
            event, media = violation_event(package)
            spool.put(event, media)
        lines.append(f"uplink {chain.name}: {drain(spool, uplink)} violation events sent with their evidence")
    return lines
