"""Multi-frame plate reading for one vehicle track: best frames, several reads, a character-by-character vote.

Pure functions over crops the tracker already cut (``crops[i]`` = the plate of the track in frame i); nothing here
keeps state between calls, so the pipeline owner decides when a track is finished and calls ``read_track`` once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from models.plates import kz
from models.plates.config import VoteConfig
from models.plates.ocr import PlateRead, PlateReader


@dataclass(frozen=True, slots=True)
class TrackPlate:
    """The voted plate of one track.

    Attributes:
        text: voted text ("" when no frame was readable).
        char_confidence: (len(text),) confidence of each voted character (support share x mean confidence).
        confidence: mean of ``char_confidence``.
        frames_read: how many frames were read.
        agreeing: how many of those reads equal ``text`` exactly.
        source_index: index (into the crops given) of the frame the evidence keeps, -1 when none.
        crop: that exact crop (H, W, 3), or an empty array.
        crop_matches_text: whether the kept crop's own read equals ``text`` (False when the vote combined frames).
        flagged: low confidence, or fits no format when a grammar applies: a person should check it.
        valid, plate_format, region: grammar verdict (None without grammar).
    """

    text: str
    char_confidence: NDArray[np.float32] = field(repr=False)
    confidence: float
    frames_read: int
    agreeing: int
    source_index: int
    crop: NDArray[np.uint8] = field(repr=False)
    crop_matches_text: bool
    flagged: bool
    valid: bool | None = None
    plate_format: str | None = None
    region: str | None = None


def frame_quality(crops: Sequence[NDArray[np.uint8]], sharpness_weight: float) -> NDArray[np.float32]:
    """(N,) quality of plate crops: width^(1-w) * sharpness^w, sharpness = variance of the Laplacian."""
    if not crops:
        return np.zeros(0, np.float32)
    widths = np.asarray([c.shape[1] if c.ndim >= 2 else 0 for c in crops], np.float32)
    sharp = np.asarray(
        [
            cv2.Laplacian(cv2.cvtColor(c, cv2.COLOR_BGR2GRAY) if c.ndim == 3 else c, cv2.CV_32F).var() if c.size else 0
            for c in crops
        ],
        np.float32,
    )
    return (np.maximum(widths, 1e-3) ** (1.0 - sharpness_weight) * np.maximum(sharp, 1e-3) ** sharpness_weight).astype(
        np.float32
    )


def select_frames(crops: Sequence[NDArray[np.uint8]], config: VoteConfig) -> NDArray[np.int64]:
    """Indices of the best ``max_frames`` crops (at least ``min_plate_width`` wide), best first."""
    quality = frame_quality(crops, config.sharpness_weight)
    wide = np.asarray([c.ndim >= 2 and c.shape[1] >= config.min_plate_width for c in crops], bool)
    order = np.argsort(-quality, kind="stable")
    return np.asarray(order[wide[order]][: config.max_frames], np.int64)


def vote(reads: Sequence[PlateRead]) -> tuple[str, NDArray[np.float32], int]:
    """Vote character by character over reads.

    The length is the one with the largest summed confidence; among reads of that length each position takes the
    character with the largest summed confidence. A character's confidence is its summed confidence divided by the
    number of reads of that length (so disagreement lowers it).

    Returns:
        ``(text, char_confidence, source)``: ``source`` indexes the read the evidence should keep: the most
        confident read equal to ``text``, else the closest one (fewest differing positions, then most confident);
        -1 when no read has text.
    """
    texts = [r.text for r in reads]
    if not any(texts):
        return "", np.zeros(0, np.float32), -1
    lengths = np.asarray([len(t) for t in texts])
    means = np.asarray([r.confidence for r in reads], np.float32)
    support = {int(n): float(means[lengths == n].sum()) for n in np.unique(lengths[lengths > 0])}
    length = max(support, key=lambda n: (support[n], n))
    same = [int(i) for i in np.nonzero(lengths == length)[0]]
    chars = np.asarray([list(texts[i]) for i in same])  # (M, L)
    conf = np.stack([reads[i].char_confidence for i in same]).astype(np.float32)  # (M, L)
    alphabet = np.unique(chars)
    scores = np.stack([np.where(chars == ch, conf, 0.0).sum(axis=0) for ch in alphabet])  # (K, L)
    best = scores.argmax(axis=0)
    text = "".join(alphabet[best])
    char_conf = (scores[best, np.arange(length)] / len(same)).astype(np.float32)
    differing = (chars != np.asarray(list(text))).sum(axis=1)
    pick = min(range(len(same)), key=lambda k: (differing[k], -means[same[k]]))
    return text, char_conf, int(same[pick])


def read_track(reader: PlateReader, crops: Sequence[NDArray[np.uint8]], config: VoteConfig | None = None) -> TrackPlate:
    """Read a track's best plate crops in one batch and vote.

    Args:
        reader: the plate reader (its ``region`` decides whether the KZ grammar judges the voted text).
        crops: the track's plate crops, one per frame, (H, W, 3) BGR.
        config: frame selection and flagging settings.
    """
    config = config or VoteConfig()
    chosen = select_frames(crops, config)
    if len(chosen) == 0:
        return TrackPlate("", np.zeros(0, np.float32), 0.0, 0, 0, -1, np.zeros((0, 0, 3), np.uint8), False, True)
    reads = reader.read_batch([crops[int(i)] for i in chosen])
    text, char_conf, source = vote(reads)
    confidence = float(char_conf.mean()) if len(char_conf) else 0.0
    valid = plate_format = region = None
    if reader.config.region == "kz" and text:
        verdict = kz.normalise(text, char_conf)
        text, char_conf = verdict.text, verdict.char_confidence
        valid, plate_format, region = verdict.valid, verdict.plate_format, verdict.region
    index = int(chosen[source]) if source >= 0 else -1
    return TrackPlate(
        text=text,
        char_confidence=char_conf,
        confidence=confidence,
        frames_read=len(reads),
        agreeing=sum(r.text == text for r in reads),
        source_index=index,
        crop=crops[index] if index >= 0 else np.zeros((0, 0, 3), np.uint8),
        crop_matches_text=source >= 0 and reads[source].text == text,
        flagged=confidence < config.min_confidence or valid is False or not text,
        valid=valid,
        plate_format=plate_format,
        region=region,
    )
