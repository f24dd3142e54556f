"""Watchlist of wanted / stolen plates: fuzzy matching of reads, alerts as ``PlateAlertEvent``.

Matching is an edit distance computed for the read against every listed plate at once (one numpy dynamic
programme over the whole list, rows = characters of the read), so a list of 100k plates costs milliseconds.
Substituting a confusable pair (O/0, I/1, B/8, S/5, Z/2) costs ``confusable_cost`` (default 0: a plate read as
``A8C`` still hits a listed ``ABC``).
"""

from __future__ import annotations

import csv
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from kuzet.config import StrictModel
from kuzet.contracts import Attachment, ClockSource, PlateAlertEvent
from models.plates.text import CONFUSABLE_LETTER_TO_DIGIT, normalise_text

logger = logging.getLogger(__name__)

_PAD = 0  # code of "no character" in the padded plate matrix


class WatchlistConfig(StrictModel):
    """Watchlist matching settings."""

    path: Path | None = Field(default=None, description="CSV with columns plate,reason (one listed plate per row)")
    max_distance: int = Field(default=1, ge=0, le=3, description="Largest edit distance that still matches")
    confusable_cost: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Cost of substituting O/0, I/1, B/8, S/5, Z/2 (1 = plain edit)"
    )
    min_confidence: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Reads less confident than this never raise an alert"
    )
    min_length: int = Field(default=4, ge=1, le=16, description="Shorter reads are not matched (too unspecific)")


@dataclass(frozen=True, slots=True)
class WatchlistMatch:
    """A listed plate close enough to a read."""

    plate: str
    reason: str
    distance: float


def _canonical(ch: str) -> int:
    """Code point with confusable letters folded to their digit (used only for the cheap-substitution test)."""
    return ord(CONFUSABLE_LETTER_TO_DIGIT.get(ch, ch))


class Watchlist:
    """Listed plates and their reasons, matched by edit distance.

    Args:
        entries: (plate, reason) pairs; plates are normalised (upper case, no separators).
        config: matching settings.
    """

    def __init__(self, entries: Iterable[tuple[str, str]], config: WatchlistConfig | None = None) -> None:
        self.config = config or WatchlistConfig()
        pairs = [(normalise_text(p), r) for p, r in entries if normalise_text(p)]
        self.plates = [p for p, _ in pairs]
        self.reasons = [r for _, r in pairs]
        width = max((len(p) for p in self.plates), default=1)
        self._codes = np.zeros((len(pairs), width), np.int32)
        self._folded = np.zeros((len(pairs), width), np.int32)
        for i, plate in enumerate(self.plates):
            self._codes[i, : len(plate)] = [ord(c) for c in plate]
            self._folded[i, : len(plate)] = [_canonical(c) for c in plate]
        self._lengths = np.asarray([len(p) for p in self.plates], np.int32)

    @classmethod
    def load(cls, config: WatchlistConfig) -> Watchlist:
        """Read ``config.path`` (CSV: plate,reason); an absent path gives an empty list."""
        if config.path is None:
            return cls([], config)
        with config.path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        if rows and not {"plate", "reason"} <= set(rows[0]):
            raise ValueError(f"{config.path}: watchlist needs columns plate,reason (has {sorted(rows[0])})")
        return cls(((r["plate"], r["reason"]) for r in rows), config)

    def __len__(self) -> int:
        return len(self.plates)

    def distances(self, read: str) -> NDArray[np.float32]:
        """(M,) weighted edit distance from ``read`` to every listed plate."""
        read = normalise_text(read)
        m, width = self._codes.shape
        if m == 0:
            return np.zeros(0, np.float32)
        # prev[:, j] = distance between read[:i] and plate[:j], for every plate at once
        prev = np.tile(np.arange(width + 1, dtype=np.float32), (m, 1))
        for i, ch in enumerate(read, start=1):
            same = self._codes == ord(ch)
            cheap = self._folded == _canonical(ch)
            sub_cost = np.where(same, 0.0, np.where(cheap, self.config.confusable_cost, 1.0)).astype(np.float32)
            cur = np.empty_like(prev)
            cur[:, 0] = i
            cur[:, 1:] = np.minimum(prev[:, :-1] + sub_cost, prev[:, 1:] + 1.0)
            offsets = np.arange(width + 1, dtype=np.float32)
            cur = np.minimum.accumulate(cur - offsets, axis=1) + offsets  # insertions along the plate
            prev = cur
        return prev[np.arange(m), self._lengths].astype(np.float32)

    def match(self, read: str) -> list[WatchlistMatch]:
        """Listed plates within ``max_distance`` of the read, closest first."""
        if len(normalise_text(read)) < self.config.min_length or not self.plates:
            return []
        dist = self.distances(read)
        hits = np.nonzero(dist <= self.config.max_distance + 1e-6)[0]
        hits = hits[np.argsort(dist[hits], kind="stable")]
        return [WatchlistMatch(self.plates[i], self.reasons[i], float(dist[i])) for i in hits]

    def check(
        self,
        read: str,
        confidence: float,
        camera_id: str,
        captured_at: datetime,
        clock_source: ClockSource,
        track_id: int | None = None,
        attachments: tuple[Attachment, ...] = (),
    ) -> PlateAlertEvent | None:
        """The alert event for the closest match of a confident read, or None.

        Put the returned event in the spool with the plate crop as an attachment
        (``edge.spool.make_attachment(png_bytes, "image/png", "plate_crop")``).
        """
        if confidence < self.config.min_confidence:
            return None
        matches = self.match(read)
        if not matches:
            return None
        best = matches[0]
        logger.info("watchlist hit: read %s ~ listed %s (%s, d=%.1f)", read, best.plate, best.reason, best.distance)
        return PlateAlertEvent(
            event_id=uuid.uuid4(),
            camera_id=camera_id,
            captured_at=captured_at,
            clock_source=clock_source,
            attachments=attachments,
            plate_read=normalise_text(read),
            plate_listed=best.plate,
            distance=round(best.distance),
            reason=best.reason[:64] or "listed",
            read_confidence=float(np.clip(confidence, 0.0, 1.0)),
            track_id=track_id,
        )
