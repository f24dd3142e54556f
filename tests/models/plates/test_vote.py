"""Multi-frame voting: pure vote over reads, frame selection, a whole track on the real recogniser."""

from __future__ import annotations

import cv2
import numpy as np

from models.plates.config import VoteConfig
from models.plates.ocr import PlateRead, PlateReader
from models.plates.synth import SynthConfig, generate, render
from models.plates.vote import frame_quality, read_track, select_frames, vote


def _read(text: str, conf: list[float]) -> PlateRead:
    c = np.asarray(conf, np.float32)
    return PlateRead(text, text, c, float(c.mean()), "full")


def test_vote_by_character_with_confidence() -> None:
    reads = [
        _read("123ABC02", [0.9] * 8),
        _read("123A8C02", [0.9, 0.9, 0.9, 0.9, 0.4, 0.9, 0.9, 0.9]),
        _read("I23ABC02", [0.5, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]),
        _read("23ABC02", [0.99] * 7),  # a short read loses the length vote
    ]
    text, conf, source = vote(reads)
    assert text == "123ABC02"
    assert source == 0  # the read equal to the vote
    assert conf.shape == (8,)
    assert conf[4] < conf[5]  # disagreement lowers the confidence


def test_vote_combines_frames_when_none_is_right_alone() -> None:
    reads = [_read("12XABC02", [0.9, 0.9, 0.2, 0.9, 0.9, 0.9, 0.9, 0.9]), _read("123ABC0Z", [0.9] * 7 + [0.3])]
    reads.append(_read("123ABC02", [0.1] * 8))
    text, _, source = vote(reads[:2])
    assert text == "123ABC02"
    assert source in (0, 1)


def test_vote_on_nothing() -> None:
    text, conf, source = vote([PlateRead("", "", np.zeros(0, np.float32), 0.0, "none")])
    assert (text, len(conf), source) == ("", 0, -1)


def test_frame_selection_prefers_large_sharp_crops() -> None:
    sharp = cv2.resize(render("123ABC02"), (200, 44))
    blurred = cv2.GaussianBlur(sharp, (0, 0), 3)
    tiny = cv2.resize(sharp, (30, 7))
    crops = [blurred, tiny, sharp]
    quality = frame_quality(crops, 0.5)
    assert quality[2] > quality[0]
    chosen = select_frames(crops, VoteConfig(max_frames=2, min_plate_width=40))
    assert list(chosen) == [2, 0]  # the tiny crop is never read


def test_read_track_on_real_recogniser(reader_kz: PlateReader) -> None:
    frames = generate(5, seed=21, config=SynthConfig(blur_sigma=2.0, noise_std=12.0))
    same_plate = [cv2.resize(render(frames[0].text), (160 + 20 * i, 36 + 4 * i)) for i in range(3)]
    crops = [*same_plate, frames[0].image]
    result = read_track(reader_kz, crops, VoteConfig(max_frames=4, min_plate_width=40))
    assert result.text == frames[0].text
    assert result.frames_read == 4
    assert result.valid and not result.flagged
    assert result.crop is crops[result.source_index]
    assert result.crop_matches_text


def test_read_track_without_usable_frames(reader_kz: PlateReader) -> None:
    result = read_track(reader_kz, [np.zeros((5, 10, 3), np.uint8)])
    assert result.text == "" and result.flagged and result.source_index == -1
