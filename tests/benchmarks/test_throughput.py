"""Issue 18's acceptance figures, each against its baseline in the same run (ratios, not wall-clock limits):

- traffic pipeline with the int8 detector against the float YOLOv8n model alone, and the ozlu clip's count;
- plates per vehicle: the traffic plate stage (vehicle crops at a side chosen from their size) against today's
  whole-frame scene reader (platedet at 640 + cascade + reader) on the same street-clip frames;
- the school door with every face of every frame embedded against face_recognition.

The int8 models come from ``var/models`` when ``kuzet quantize`` built them there, else they are built into a
temporary folder first (48 calibration inputs each, a few minutes).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from edge.traffic.config import FramePlanConfig, TrafficConfig, TrafficDeviceConfig
from edge.traffic.plates_stage import PlateStage, TrafficPlatesConfig
from edge.traffic.stream import build_pipeline, read_frames, run_stream
from kuzet.commands.common import load_or_exit
from models.plates.pipeline import ScenePlateReader
from models.quantize import QUANTISABLE, quantise_model
from models.quantize_data import STREET_CLIP, clip_frames
from models.runtime import ModelError, RunnerConfig, default_int8_dir, int8_model_path
from models.vehicles.preprocess import preprocess

FRAMES = 48
EYE_COUNT = 8  # vehicles crossing the counting line in the whole ozlu clip (tests/edge/traffic/test_counting.py)


@pytest.fixture(scope="module")
def int8_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = default_int8_dir()
    for name, spec in QUANTISABLE.items():
        try:
            int8_model_path(name, spec.source(), folder)
        except ModelError:
            folder = tmp_path_factory.mktemp("int8")
            for other in QUANTISABLE:
                quantise_model(other, folder, frames=48)
            break
    return folder


def _traffic(samples: Path, precision: str, int8_dir: Path, plan: FramePlanConfig) -> TrafficConfig:
    traffic = load_or_exit(samples / "traffic" / "ozlu.yaml", TrafficDeviceConfig).traffic
    detector = traffic.detector.model_copy(update={"precision": precision, "int8_dir": int8_dir})
    return traffic.model_copy(update={"detector": detector, "runner": RunnerConfig(), "frame_plan": plan})


def _model_only_fps(config: TrafficConfig, frames: list[NDArray[np.uint8]]) -> float:
    detector = build_pipeline(config).detector
    tensors = [preprocess(f, detector.size)[0] for f in frames]
    name = detector.backend.input_name
    begin = time.perf_counter()
    for tensor in tensors:
        detector.runner.run({name: tensor})
    return len(tensors) / (time.perf_counter() - begin)


def test_int8_traffic_pipeline_vs_float_model_only(benchmark, report, samples: Path, int8_dir: Path) -> None:  # type: ignore[no-untyped-def]
    every = FramePlanConfig(mode="every")
    float_config = _traffic(samples, "float32", int8_dir, every)
    int8_config = _traffic(samples, "int8", int8_dir, every)
    frames = clip_frames(STREET_CLIP, FRAMES)
    model_fps: list[float] = []
    ours_fps: list[float] = []

    def baseline() -> None:
        model_fps.append(_model_only_fps(float_config, frames))

    def run() -> None:
        stats = run_stream(build_pipeline(int8_config), read_frames(str(STREET_CLIP), max_frames=FRAMES))
        ours_fps.append(stats.fps)

    benchmark.pedantic(run, setup=baseline, rounds=3, iterations=1)
    ratio = float(np.median(ours_fps)) / float(np.median(model_fps))
    plan = float_config.frame_plan.model_copy(update={"mode": "stride", "stride": 2})
    counts = {}
    for precision, config in (("float32", float_config), ("int8", int8_config)):
        stats = run_stream(
            build_pipeline(config.model_copy(update={"frame_plan": plan})), read_frames(str(STREET_CLIP))
        )
        counts[precision] = sum(1 for s in stats.summaries if s.crossings)
    report.append(
        f"traffic pipeline, int8 YOLOv8n: {np.median(ours_fps):.1f} fps vs float YOLOv8n model only"
        f" {np.median(model_fps):.1f} fps -> {ratio:.2f}x (target >= 1.5x); ozlu count int8 {counts['int8']},"
        f" float {counts['float32']} (eye count {EYE_COUNT})"
    )
    assert counts["int8"] == counts["float32"] == EYE_COUNT


def _vehicle_crops(samples: Path) -> list[tuple[int, NDArray[np.uint8], list[NDArray[np.uint8]]]]:
    """(frame index, frame, vehicle crops) of street-clip frames with confirmed vehicles, via the real tracker."""
    config = _traffic(samples, "float32", default_int8_dir(), FramePlanConfig(mode="stride", stride=4))
    out: list[tuple[int, NDArray[np.uint8], list[NDArray[np.uint8]]]] = []
    stage = PlateStage.__new__(PlateStage)  # only for its crop geometry (margin, minimum width)
    stage.config = TrafficPlatesConfig()

    def on_frame(frame, _at, index, tracked) -> None:  # type: ignore[no-untyped-def]
        wide = tracked[(tracked.xyxy[:, 2] - tracked.xyxy[:, 0]) >= stage.config.min_vehicle_width_px]
        if len(wide) and index % 24 == 0:
            h, w = frame.shape[:2]
            from models.plates.detector import expand_boxes

            bounds = expand_boxes(wide.xyxy, stage.config.vehicle_margin, w, h)
            out.append((index, frame, [np.ascontiguousarray(frame[y1:y2, x1:x2]) for x1, y1, x2, y2 in bounds]))

    run_stream(build_pipeline(config), read_frames(str(STREET_CLIP)), on_frame=on_frame)
    return out


def test_plates_on_vehicle_crops_vs_whole_frame_scene(benchmark, report, samples: Path, int8_dir: Path) -> None:  # type: ignore[no-untyped-def]
    frames = _vehicle_crops(samples)
    vehicles = sum(len(c) for _, _, c in frames)
    assert vehicles >= 5
    scene = ScenePlateReader.build("both", "kz", threads=1)
    begin = time.perf_counter()
    for _, frame, _ in frames:
        scene.read_image(frame)
    scene_ms = 1000 * (time.perf_counter() - begin) / vehicles
    figures = {}
    for precision in ("float32", "int8"):
        models = TrafficPlatesConfig().models
        detector = models.detector.model_copy(update={"precision": precision, "int8_dir": int8_dir})
        stage = PlateStage.build(TrafficPlatesConfig(models=models.model_copy(update={"detector": detector})))
        for _, _, crops in frames[:1]:  # build the sides in use before timing
            stage.read(_track(crops))

        def per_vehicle(stage: PlateStage = stage) -> None:
            for _, _, crops in frames:
                for crop in crops:
                    stage.read(_track([crop]))

        if precision == "int8":
            benchmark.pedantic(per_vehicle, rounds=1, iterations=1)
            figures[precision] = 1000 * benchmark.stats.stats.median / vehicles
        else:
            begin = time.perf_counter()
            per_vehicle()
            figures[precision] = 1000 * (time.perf_counter() - begin) / vehicles
    report.append(
        f"plates per vehicle, street clip ({vehicles} vehicles in {len(frames)} frames): stage on the vehicle crop"
        f" {figures['float32']:.1f} ms (float) / {figures['int8']:.1f} ms (int8) vs whole-frame scene"
        f" (platedet 640 + cascade + reader) {scene_ms:.1f} ms per vehicle -> {scene_ms / figures['int8']:.1f}x"
        f" / {scene_ms / figures['float32']:.1f}x (target >= 3x)"
    )
    assert figures["int8"] > 0


def _track(crops: list[NDArray[np.uint8]]):  # type: ignore[no-untyped-def]
    from edge.traffic.plates_stage import TrackCrops

    return TrackCrops(1, tuple(crops), tuple(range(len(crops))))


def test_school_every_face_every_frame_vs_face_recognition(benchmark, report, samples: Path, int8_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from edge.school.agent import build_models
    from edge.school.config import SchoolConfig
    from edge.school.pipeline import SchoolPipeline
    from hardware.camera import Frame
    from kuzet.contracts import ClockSource
    from tests.benchmarks.test_school import _big_gallery, _face_recognition_baseline, _scene

    people = samples / "school" / "people"
    scenes = [
        _scene([people / "obama" / "obama.jpg"]),
        _scene([people / "alex_lacamoire" / "img1.jpg", people / "biden" / "biden.jpg"]),
        _scene(
            [people / "obama" / "obama2.jpg", people / "biden" / "biden.jpg", people / "alex_lacamoire" / "img1.jpg"]
        ),
    ]
    frames = [s for s in scenes for _ in range(8)]
    start = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    baseline_s, _ = _face_recognition_baseline(frames[::2])
    results = {}
    for label, precision in (("float", "float32"), ("int8 detector", "int8")):
        config = SchoolConfig.model_validate(
            {
                "school_id": "bench",
                "selection": {"embed_every_frame": True},
                "detector": {"precision": precision, "int8_dir": str(int8_dir)},
            }
        )
        models = build_models(config)
        gallery = _big_gallery(models.embedder.dim)

        def run(config: SchoolConfig = config, models=models, gallery=gallery) -> int:  # type: ignore[no-untyped-def]
            pipeline = SchoolPipeline(config, models, gallery)
            passes = []
            for i, image in enumerate(frames):
                passes += pipeline.process(Frame(image, i, start + timedelta(seconds=i / 15), ClockSource.FILE))
            return len(passes + pipeline.flush())

        if precision == "int8":
            passes = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
            results[label] = (benchmark.stats.stats.median / len(frames), passes)
        else:
            begin = time.perf_counter()
            passes = run()
            results[label] = ((time.perf_counter() - begin) / len(frames), passes)
    line = ", ".join(f"{k} {v[0] * 1e3:.1f} ms/frame ({baseline_s / v[0]:.1f}x)" for k, v in results.items())
    report.append(
        f"school door, every face of every frame embedded (640x480, 1-3 faces, 10k gallery): {line} vs"
        f" face_recognition {baseline_s * 1e3:.1f} ms/frame (target >= 5x)"
    )
    assert all(p == 6 for _, p in results.values())
