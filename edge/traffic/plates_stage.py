"""Per-track plate reading on a traffic camera: keep a few best vehicle crops while a track lives, read at its end.

While a confirmed track is measured, ``PlateStage.observe`` keeps at most ``crops_per_track`` crops of its vehicle
box (best by ``models.plates.vote.frame_quality``: size and sharpness), so memory is bounded per track, and tracks
not seen for ``stale_frames`` frames are dropped. When the track ends, ``finish`` runs the plate detector on those
few crops only (or their lower part, ``search_from``: a plate is never on the roof), at a network side
chosen from that part's size (``search_sizes``; platedet's graph is rewritten per side, so a 150 px bumper runs a
256 px network instead of being blown up to 640: a sixth of the pixels). Whole frames are never searched here
(``kuzet eval scenes`` keeps the whole-image path for photos). It then reads the plate crops in one batch and votes
character by character (``models.plates.vote.read_track``), keeping the exact crop the final read came from for
the evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, ValidationInfo, field_validator

from edge.traffic.evidence import PlateEvidence
from edge.traffic.watchlist import WatchlistConfig
from kuzet.config import StrictModel
from models.detections import Detections
from models.plates.config import PlateReaderConfig, PlatesConfig
from models.plates.detector import PlateDetector, build_plate_detector, expand_boxes
from models.plates.ocr import PlateReader, build_plate_reader
from models.plates.vote import TrackPlate, frame_quality, read_track

logger = logging.getLogger(__name__)


class TrafficPlatesConfig(StrictModel):
    """The plates section of a traffic device file."""

    models: PlatesConfig = Field(
        default_factory=lambda: PlatesConfig(reader=PlateReaderConfig(region="kz")),
        description="Plate detector, reader (Kazakhstan grammar by default) and vote",
    )
    crops_per_track: int = Field(
        default=3, ge=1, le=20, description="Vehicle crops kept per track (each costs one plate-detector run)"
    )
    min_vehicle_width_px: int = Field(
        default=48, ge=8, le=4000, description="Narrower vehicle boxes are not kept (their plate cannot be read)"
    )
    vehicle_margin: float = Field(
        default=0.05, ge=0.0, le=0.5, description="Margin added around a vehicle box before cropping (fraction)"
    )
    sharpness_weight: float = Field(
        default=0.3, ge=0.0, le=1.0, description="Weight of sharpness against size when ranking vehicle crops"
    )
    stale_frames: int = Field(
        default=250, ge=1, le=100_000, description="Crops of a track unseen for this many frames are dropped"
    )
    search_from: float = Field(
        default=0.0,
        ge=0.0,
        le=0.9,
        description="The plate is searched below this fraction of the vehicle crop's height (0 = the whole crop;"
        " platedet lost the test's pasted bumper plate when the roof was cut away, so the default keeps it)",
    )
    search_sizes: tuple[int, ...] = Field(
        default=(192, 256, 320, 416, 640),
        min_length=1,
        max_length=8,
        description="platedet input sides (multiples of 32, 128-1280) the search area is letterboxed into: the"
        " smallest not below the area's longest side x search_scale, else the largest",
    )
    search_scale: float = Field(
        default=1.5,
        ge=0.5,
        le=4.0,
        description="Upscale wanted for the search area (small plates of a distant vehicle gain from it)",
    )
    min_read_confidence: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Voted reads below this go into no event (kept in logs only)"
    )
    watchlist: WatchlistConfig | None = Field(default=None, description="Wanted / stolen plates; None = no check")

    @field_validator("search_sizes")
    @classmethod
    def _sizes(cls, sizes: tuple[int, ...]) -> tuple[int, ...]:
        if any(s % 32 or not 128 <= s <= 1280 for s in sizes):
            raise ValueError("search_sizes: each side must be a multiple of 32 between 128 and 1280")
        return tuple(sorted(set(sizes)))

    @field_validator("watchlist")
    @classmethod
    def _resolve_watchlist(cls, value: WatchlistConfig | None, info: ValidationInfo) -> WatchlistConfig | None:
        """A relative watchlist file resolves against the config file's folder."""
        base = (info.context or {}).get("base_dir")
        if value is None or value.path is None or value.path.is_absolute() or base is None:
            return value
        return value.model_copy(update={"path": Path(base) / value.path})


@dataclass(slots=True)
class _Crops:
    """Best vehicle crops of one track so far."""

    last_frame: int = 0
    quality: list[float] = field(default_factory=list)
    crops: list[NDArray[np.uint8]] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TrackCrops:
    """The kept vehicle crops of one finished track: (H, W, 3) BGR crops and their source frame indices."""

    track_id: int
    crops: tuple[NDArray[np.uint8], ...]
    frames: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TrackPlateResult:
    """The plate of one finished track.

    Attributes:
        plate: the voted read (text, confidences, the exact plate crop, grammar verdict).
        raw: the raw decoder text of the read the crop came from.
        frame_index: source frame of the kept plate crop, -1 when none.
        vehicle_crops: how many vehicle crops were searched.
        plates_found: how many plate boxes the detector found in them.
    """

    plate: TrackPlate
    raw: str
    frame_index: int
    vehicle_crops: int
    plates_found: int

    @property
    def read(self) -> bool:
        """Whether any text was read."""
        return bool(self.plate.text)

    def evidence(self) -> PlateEvidence | None:
        """The evidence form (exact crop, raw and normalised text, confidence); None without a read."""
        if not self.read:
            return None
        normalised = self.plate.text if self.plate.valid is not False else None
        return PlateEvidence(self.plate.crop, self.raw, normalised, round(self.plate.confidence, 4))


def search_size(height: int, width: int, sizes: tuple[int, ...], scale: float) -> int:
    """The network side for a search area: the smallest of ``sizes`` (ascending) not below its longest side x
    ``scale``, else the largest."""
    need = max(height, width) * scale
    return next((s for s in sizes if s >= need), sizes[-1])


class PlateStage:
    """Bounded per-track crop keeping and end-of-track plate reading.

    Args:
        detector: plate detector (platedet or cascade backend); searches every area when ``sized`` is None.
        reader: plate recogniser.
        config: the plates section.
        sized: builds the detector at a network side (platedet only), called once per side in use.
    """

    def __init__(
        self,
        detector: PlateDetector,
        reader: PlateReader,
        config: TrafficPlatesConfig,
        sized: Callable[[int], PlateDetector] | None = None,
    ) -> None:
        self.detector, self.reader, self.config = detector, reader, config
        self._sized = sized
        self._by_size: dict[int, PlateDetector] = {}
        self._tracks: dict[int, _Crops] = {}

    @classmethod
    def build(cls, config: TrafficPlatesConfig) -> PlateStage:
        """The configured detector backend and reader; platedet is built per search side on first use."""
        detector_config = config.models.detector
        reader = build_plate_reader(config.models.reader)
        if detector_config.backend != "platedet":
            return cls(build_plate_detector(detector_config), reader, config)

        def sized(size: int) -> PlateDetector:
            return build_plate_detector(detector_config.model_copy(update={"input_size": size}))

        return cls(sized(config.search_sizes[-1]), reader, config, sized)

    def detector_for(self, area: NDArray[np.uint8]) -> PlateDetector:
        """The detector whose network side suits ``area`` (see ``search_size``)."""
        if self._sized is None:
            return self.detector
        size = search_size(area.shape[0], area.shape[1], self.config.search_sizes, self.config.search_scale)
        if size not in self._by_size:
            self._by_size[size] = self.detector if size == self.config.search_sizes[-1] else self._sized(size)
        return self._by_size[size]

    def __len__(self) -> int:
        """Number of tracks holding crops."""
        return len(self._tracks)

    def observe(self, frame: NDArray[np.uint8], tracked: Detections, frame_index: int) -> None:
        """Offer the measured confirmed tracks of one frame; each keeps its ``crops_per_track`` best crops.

        Args:
            frame: (H, W, 3) BGR frame.
            tracked: confirmed tracks of the frame (``tracker_id``; ``data["measured"]`` False rows are skipped).
            frame_index: source index of the frame.
        """
        measured = tracked.data.get("measured")
        rows = np.flatnonzero(measured) if measured is not None else np.arange(len(tracked))
        widths = tracked.xyxy[rows, 2] - tracked.xyxy[rows, 0]
        rows = rows[widths >= self.config.min_vehicle_width_px]
        height, width = frame.shape[:2]
        bounds = expand_boxes(tracked.xyxy[rows], self.config.vehicle_margin, width, height)
        crops = [np.ascontiguousarray(frame[y1:y2, x1:x2]) for x1, y1, x2, y2 in bounds]
        quality = frame_quality(crops, self.config.sharpness_weight)
        for k, row in enumerate(rows.tolist()):
            self._keep(int(tracked.tracker_id[row]), crops[k], float(quality[k]), frame_index)
        stale = [i for i, t in self._tracks.items() if frame_index - t.last_frame > self.config.stale_frames]
        for track_id in stale:
            del self._tracks[track_id]

    def _keep(self, track_id: int, crop: NDArray[np.uint8], quality: float, frame_index: int) -> None:
        track = self._tracks.setdefault(track_id, _Crops())
        track.last_frame = frame_index
        if len(track.crops) < self.config.crops_per_track:
            track.quality.append(quality)
            track.crops.append(crop)
            track.frames.append(frame_index)
            return
        worst = int(np.argmin(track.quality))
        if quality > track.quality[worst]:
            track.quality[worst], track.crops[worst], track.frames[worst] = quality, crop, frame_index

    def drop(self, track_id: int) -> None:
        """Forget a track's crops (it ended without an event)."""
        self._tracks.pop(track_id, None)

    def take(self, track_id: int) -> TrackCrops | None:
        """Remove and return a finished track's kept crops (cheap: call it on the frame loop)."""
        track = self._tracks.pop(track_id, None)
        if track is None or not track.crops:
            return None
        return TrackCrops(track_id, tuple(track.crops), tuple(track.frames))

    def finish(self, track_id: int) -> TrackPlateResult | None:
        """Detect and read the plate of a finished track from its kept crops; None when it kept none."""
        crops = self.take(track_id)
        return self.read(crops) if crops is not None else None

    def read(self, track: TrackCrops) -> TrackPlateResult:
        """Plate detector on the lower part of each kept crop (best box), one batched read, character vote.

        Touches no per-track state, so it may run off the frame loop while ``observe`` goes on.
        """
        plates: list[NDArray[np.uint8]] = []
        frames: list[int] = []
        for crop, frame_index in zip(track.crops, track.frames, strict=True):
            area = crop[int(crop.shape[0] * self.config.search_from) :]
            found = self.detector_for(area).detect(area)
            if len(found) == 0:
                continue
            best = found[np.asarray([int(np.argmax(found.confidence))])]
            x1, y1, x2, y2 = expand_boxes(best.xyxy, self.config.models.crop_margin, area.shape[1], area.shape[0])[0]
            if x2 > x1 and y2 > y1:
                plates.append(np.ascontiguousarray(area[y1:y2, x1:x2]))
                frames.append(frame_index)
        voted = read_track(self.reader, plates, self.config.models.vote)
        raw = self.reader.read(plates[voted.source_index]).raw if voted.source_index >= 0 else ""
        frame_index = frames[voted.source_index] if voted.source_index >= 0 else -1
        logger.debug(
            "track %d: %d crops, %d plates, read %r", track.track_id, len(track.crops), len(plates), voted.text
        )
        return TrackPlateResult(voted, raw, frame_index, len(track.crops), len(plates))
