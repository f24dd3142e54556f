"""Cost curves for sizing a device (``make bench``): how cost grows with the work, each point measured in the same
run, printed in the summary and plotted to ``var/bench/*.png`` (matplotlib, Agg):

- traffic ms/frame against vehicles in view (1 / 10 / 40): the detector's run on a real frame (it does not depend on
  the count) plus our per-frame work (tracking, histories) on that many moving vehicle boxes;
- identification of 3 faces against the gallery size (1k / 10k / 100k templates);
- ingest events/s (every handler on, batches of 500, no HTTP) against rows already stored (0 / 1M on SQLite; set
  ``KUZET_BENCH_ROWS=0,1000000,10000000`` for the 10M point), the rows filled by one set-based INSERT ... SELECT;
- peak RSS of each agent's models and pipeline and of the backend, each in a fresh process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from models.detections import Detections

OUT = Path(__file__).resolve().parents[2] / "var" / "bench"
VEHICLES = (1, 10, 40)
GALLERIES = (1_000, 10_000, 100_000)
FRAMES = 60


def _plot(name: str, x: list[float], ys: dict[str, list[float]], xlabel: str, ylabel: str, logx: bool) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    OUT.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(4.2, 3.0), dpi=90)
    for label, y in ys.items():
        axes.plot(x, y, marker="o", label=label)
    if logx:
        axes.set_xscale("log")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    path = OUT / f"{name}.png"
    figure.savefig(path)
    plt.close(figure)
    return path


class _Moving:
    """Stands in for the detector's output only: ``n`` car boxes on a grid moving down 3 px a frame (the model's
    own time is measured separately on a real frame)."""

    def __init__(self, n: int, names: object) -> None:
        self.class_name = names  # the real detector's id -> name
        cols = int(np.ceil(np.sqrt(n)))
        self.base = np.array([[20 + 60 * (i % cols), 10 + 50 * (i // cols)] for i in range(n)], np.float32)
        self.frame = 0

    def detect(self, _frame: NDArray[np.uint8]) -> Detections:
        self.frame += 1
        top_left = self.base + np.array([0.0, 3.0 * (self.frame % 40)], np.float32)
        xyxy = np.concatenate([top_left, top_left + np.array([48.0, 36.0], np.float32)], axis=1)
        return Detections.build(xyxy, np.full(len(xyxy), 0.8, np.float32), class_id=np.full(len(xyxy), 2))


def test_traffic_cost_against_vehicles_in_view(benchmark, report, samples: Path) -> None:  # type: ignore[no-untyped-def]
    from edge.traffic.config import TrafficDeviceConfig
    from edge.traffic.stream import build_pipeline
    from kuzet.commands.common import load_or_exit
    from models.quantize_data import STREET_CLIP, clip_frames
    from models.vehicles.preprocess import preprocess

    config = load_or_exit(samples / "traffic" / "ozlu.yaml", TrafficDeviceConfig).traffic
    pipeline = build_pipeline(config)
    frame = clip_frames(STREET_CLIP, 1)[0]
    tensor = preprocess(frame, pipeline.detector.size)[0]
    runner, name = pipeline.detector.runner, pipeline.detector.backend.input_name
    begin = time.perf_counter()
    for _ in range(10):
        runner.run({name: tensor})
    model_ms = 100 * (time.perf_counter() - begin)
    ours_ms = []
    for n in VEHICLES:
        fresh = build_pipeline(config)
        fresh.detector = _Moving(n, pipeline.detector.class_name)  # type: ignore[assignment]
        begin = time.perf_counter()
        for i in range(FRAMES):
            fresh.step(frame, i / 25, i, True)
        fresh.close()
        ours_ms.append(1000 * (time.perf_counter() - begin) / FRAMES)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    totals = [model_ms + o for o in ours_ms]
    path = _plot("traffic_vehicles", list(VEHICLES), {"ms/frame": totals}, "vehicles in view", "ms per frame", False)
    points = ", ".join(f"{n}: {t:.1f} ms (ours {o:.2f})" for n, t, o in zip(VEHICLES, totals, ours_ms, strict=True))
    report.append(f"cost curve, traffic ms/frame vs vehicles in view (model {model_ms:.1f} ms): {points}; {path}")
    assert ours_ms[-1] > ours_ms[0]


def test_identification_against_gallery_size(benchmark, report) -> None:  # type: ignore[no-untyped-def]
    from edge.school.gallery import Gallery, l2_normalise

    rng = np.random.default_rng(0)
    ms = []
    for size in GALLERIES:
        templates = l2_normalise(rng.normal(size=(size, 128)).astype(np.float32))
        gallery = Gallery(templates, [f"p{i}" for i in range(size)], [f"t{i}" for i in range(size)], version=1)
        probes = l2_normalise(templates[[1, size // 2, size - 1]] + 0.01)
        gallery.identify(probes, 0.4)
        begin = time.perf_counter()
        for _ in range(20):
            found = gallery.identify(probes, 0.4)
        ms.append(1000 * (time.perf_counter() - begin) / 20)
        assert found.pupil_ids == ["p1", f"p{size // 2}", f"p{size - 1}"]
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    path = _plot("identify_gallery", list(GALLERIES), {"3 faces": ms}, "templates", "ms", True)
    points = ", ".join(f"{s:,}: {m:.2f} ms" for s, m in zip(GALLERIES, ms, strict=True))
    report.append(f"cost curve, identify 3 faces vs gallery size: {points}; {path}")


def _fill(db, rows: int) -> None:  # type: ignore[no-untyped-def]
    """``rows`` stored entry events, by one set-based INSERT ... SELECT over a recursive counter (seconds per
    million), each column given a plausible value by its declared type."""
    if rows == 0:
        return
    columns = db.execute("PRAGMA table_info(events)").fetchall()
    values = []
    for _, name, kind, _notnull, _default, _pk in columns:
        if name == "event_id":
            values.append("'fill-' || i")
        elif name == "kind":
            values.append("'entry'")
        elif name == "camera_id":
            values.append("'door-1'")
        elif name == "day":
            values.append("'2025-01-01'")
        elif name.endswith("_at"):
            values.append("'2025-01-01T00:00:00+00:00'")
        elif "INT" in kind.upper():
            values.append("1")
        else:
            values.append("'{}'")
    names = ", ".join(c[1] for c in columns)
    db.execute(
        f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {rows - 1})"
        f" INSERT INTO events({names}) SELECT {', '.join(values)} FROM n"
    )
    db.conn.commit()


def test_ingest_against_rows_stored(benchmark, report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import base64
    import secrets

    from backend.app import create_app
    from backend.settings import Settings
    from tests.benchmarks.test_ingest import _service_db
    from tests.support.events import entry

    counts = [int(x) for x in os.environ.get("KUZET_BENCH_ROWS", "0,1000000").split(",")]
    rates, fills = [], []
    for rows in counts:
        settings = Settings(
            database=tmp_path / f"r{rows}.sqlite",
            media_dir=tmp_path / "media",
            admin_token=secrets.token_hex(20),
            template_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        )
        service = create_app(settings).state.services.ingest
        db = _service_db(tmp_path / f"r{rows}.sqlite")
        begin = time.perf_counter()
        _fill(db, rows)
        fills.append(time.perf_counter() - begin)
        events = [entry(n=i) for i in range(5_000)]
        begin = time.perf_counter()
        for i in range(0, len(events), 500):
            service.ingest(db, "door-1", events[i : i + 500])
        rates.append(len(events) / (time.perf_counter() - begin))
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    path = _plot("ingest_rows", [max(c, 1) for c in counts], {"SQLite": rates}, "rows stored", "events/s", True)
    points = ", ".join(f"{c:,}: {r:,.0f}/s (fill {f:.0f} s)" for c, r, f in zip(counts, rates, fills, strict=True))
    report.append(f"cost curve, ingest (handlers on, batches of 500) vs rows stored, SQLite: {points}; {path}")


RSS_SCRIPTS = {
    "traffic agent (YOLOv8n, tracker, plate stage; 48 frames)": """
from pathlib import Path
from edge.traffic.config import TrafficDeviceConfig
from edge.traffic.plates_stage import PlateStage
from edge.traffic.stream import build_pipeline, read_frames, run_stream
from kuzet.commands.common import load_or_exit
config = load_or_exit(Path("samples/traffic/ozlu.yaml"), TrafficDeviceConfig).traffic
stage = PlateStage.build(config.plates) if getattr(config, "plates", None) else None
run_stream(build_pipeline(config), read_frames("samples/traffic/ozlu_vehicle_counting.mp4", max_frames=48))
""",
    "school agent (CenterFace, SFace, mask; 30 frames)": """
import cv2
from datetime import UTC, datetime, timedelta
from edge.school.agent import build_models
from edge.school.config import SchoolConfig
from edge.school.gallery import Gallery
from edge.school.pipeline import SchoolPipeline
from hardware.camera import Frame
from kuzet.contracts import ClockSource
config = SchoolConfig(school_id="rss")
models = build_models(config)
pipeline = SchoolPipeline(config, models, Gallery.empty(models.embedder.dim))
capture = cv2.VideoCapture("samples/school/short_hamilton_clip.mp4")
for i in range(30):
    ok, image = capture.read()
    pipeline.process(Frame(image, i, datetime(2026, 9, 1, tzinfo=UTC) + timedelta(seconds=i / 15), ClockSource.FILE))
""",
    "backend (create_app, SQLite, 5,000 events ingested)": """
import base64, secrets, sys, tempfile
from pathlib import Path
sys.path.insert(0, ".")
from backend.app import create_app
from backend.settings import Settings
from tests.benchmarks.test_ingest import _service_db
from tests.support.events import entry
tmp = Path(tempfile.mkdtemp())
settings = Settings(database=tmp / "b.sqlite", media_dir=tmp / "m", admin_token=secrets.token_hex(20),
                    template_key=base64.b64encode(secrets.token_bytes(32)).decode())
service = create_app(settings).state.services.ingest
db = _service_db(tmp / "b.sqlite")
events = [entry(n=i) for i in range(5000)]
for i in range(0, 5000, 500):
    service.ingest(db, "door-1", events[i : i + 500])
""",
}


@pytest.mark.parametrize("what", list(RSS_SCRIPTS))
def test_peak_memory(benchmark, report, what: str) -> None:  # type: ignore[no-untyped-def]
    # VmHWM: this process's own peak (ru_maxrss would carry the forking parent's figure across exec)
    tail = "\nimport re\nprint(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPTS[what] + tail], cwd=root, capture_output=True, text=True, check=True
    )
    peak_mb = json.loads(done.stdout.strip().splitlines()[-1]) / 1024
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    report.append(f"peak RSS, {what}: {peak_mb:.0f} MB")
    assert peak_mb > 10
