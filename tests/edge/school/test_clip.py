"""The Hamilton clip through the school pipeline: one event per person pass, not one per frame.

How the expected counts were made (by eye, frame by frame, with the shot cuts found as the three frames whose
64x36 grey thumbnail changes by > 25 levels on average, everything else < 14): the 275-frame, 30 fps clip has four
shots.
- shot 1, frames 0-19: Lin-Manuel Miranda on stage (small face) and the pianist at the lower left: 2 people.
- shot 2, frames 20-81: the pianist in profile close-up, leaving the right edge and coming back partly, in front
  of a dark, out-of-focus audience with about five faces visible: 1 close person + up to ~6 blurred faces.
- shot 3, frames 82-210: Lin-Manuel Miranda close up, moving and gesturing: 1 person.
- shot 4, frames 211-274: the audience: 5 people with clear faces (woman far left, Marian Robinson, Barack Obama,
  Michelle Obama, a person at the right edge) and 2 heads cut by the top edge of the frame: 5 clear + 2 partial.
So 9-17 people appearances (2 + 1..7 + 1 + 5..7), against ~700 face detections in the 275 frames. Measured
(every 2nd frame processed, default config: detector at 320 px, a pass needs 5 detections): 2 / 6 / 1 / 5 = 14
events; the two heads cut by the top edge are not found at 320 px (at 480 px: 2 / 7 / 1 / 7 = 17).

Temperatures: the bundled 32x24 recording is SYNTHETIC, rendered from this clip's own face boxes at 36.6 C
(``kuzet.demo.thermal``). Reading 36.6 back only shows that the ROI lands on the rendered face through the
registration; it measures nothing. What is checked is that every such temperature travels labelled synthetic, with
the door's fever threshold, and that a pass without a reading says so. Sensor accuracy is tested against the
datasheet in ``tests/hardware/test_thermal_mlx90640.py`` and ``test_thermal_lepton.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.school.agent import run_agent
from edge.school.config import SchoolConfig
from edge.school.gallery import Gallery
from edge.school.pipeline import FaceModels, SchoolPipeline
from edge.spool import Spool
from hardware.camera import VideoFileSource
from hardware.thermal import Registration, ReplayThermalSensor
from kuzet.demo.school import DEMO_START

START = DEMO_START  # the bundled thermal replay (python -m kuzet.demo.thermal --start ...) is aligned to this start
SHOTS = {"shot1": (0, 19), "shot2": (20, 81), "shot3": (82, 210), "shot4": (211, 274)}
EXPECTED = {"shot1": (2, 2), "shot2": (1, 7), "shot3": (1, 1), "shot4": (5, 7)}


@pytest.mark.slow
def test_hamilton_clip_gives_one_event_per_pass(tmp_path: Path, samples: Path, face_models: FaceModels) -> None:
    clip = samples / "school" / "short_hamilton_clip.mp4"
    thermal = {"registration": Registration.scaled((640, 360), (32, 24))}
    config = SchoolConfig.model_validate({"school_id": "demo", "tracker": {"frame_stride": 2}, "thermal": thermal})
    sensor = ReplayThermalSensor(samples / "school" / "thermal_replay.npz")
    pipeline = SchoolPipeline(config, face_models, Gallery.empty())
    spool = Spool(tmp_path / "spool.sqlite")
    source = VideoFileSource(clip, start=START)
    stats = run_agent(pipeline, source, spool, "door-1", sensor)

    assert stats.frames == 275 and stats.source is not None and stats.source.state == "ended"
    assert pipeline.scene_cuts == 3
    events = stats.events
    assert spool.depth() == len(events)
    assert len({e.track_id for e in events}) == len(events)  # exactly one event per track
    per_shot = {name: 0 for name in SHOTS}
    for event in events:
        frame = round((event.captured_at - START).total_seconds() * source.fps)
        shot = next(name for name, (a, b) in SHOTS.items() if a <= frame <= b)
        per_shot[shot] += 1
        assert event.identity == "unknown" and event.pupil_id is None  # empty gallery
        assert len(event.attachments) == 1 and event.attachments[0].role == "snapshot"
        media_type, data, _ = spool.media(event.attachments[0].sha256)
        assert media_type == "image/jpeg" and data[:2] == b"\xff\xd8"
        if event.temperature_c is None:  # a face smaller than a thermal pixel: no reading, said so
            assert event.temperature_source == "none" and event.fever_threshold_c is None
            continue
        assert event.temperature_source == "synthetic", "a rendered temperature must never pass as measured"
        assert event.fever_threshold_c == config.thermal.fever_c  # type: ignore[union-attr]
        assert event.temperature_sigma_c == pytest.approx(0.1)  # the rendering's noise, stored in the file
        # plumbing only: the ROI found the ellipse rendered at 36.6 C (not a measurement)
        assert abs(event.temperature_c - 36.6) <= 0.3, event.temperature_c
    for shot, (low, high) in EXPECTED.items():
        assert low <= per_shot[shot] <= high, (shot, per_shot)
    assert 9 <= len(events) <= 17
    assert stats.thermal_frames > 0
    assert sum(e.temperature_c is not None for e in events) >= len(events) // 2
