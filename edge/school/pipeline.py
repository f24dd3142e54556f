"""The school door pipeline: frame -> detect -> track -> best frames -> embed -> identify + vote -> mask ->
temperature -> direction -> exactly one ``EntryEvent`` per pass (unknown faces included, with a snapshot).

Per frame only the detector runs on the whole image; each track keeps the face crops of its few best frames
(size x sharpness x frontalness) and a temperature reading per frame. The expensive steps (embedding, mask) run
once per pass, on those best crops, when the track closes.

Passes stay separate across breaks in the picture: every live track is closed (and its pass decided) when the
capture time jumps by more than ``tracker.max_gap_s`` between processed frames, when the whole view changes (a
scene cut: the mean grey-level change of a 64x36 thumbnail above ``tracker.scene_cut``), and when the agent tells
it the camera dropped (``close_passes("camera_drop")``). Without that, a pupil standing where another stood before
a 10-minute outage would continue the earlier pupil's track and be lost.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.school.config import SchoolConfig, SelectionConfig
from edge.school.direction import Direction, track_direction
from edge.school.gallery import Gallery
from edge.school.masked import masked_threshold, pass_threshold_for
from edge.school.temperature import PassTemperature, Reading, measure_readings, pass_temperature
from edge.school.tracker import IouTracker, Track
from edge.school.vote import PassVote, vote_pass
from edge.spool import Spool, make_attachment
from hardware.camera import Frame
from hardware.thermal import ThermalFrame
from kuzet.contracts import ClockSource, EntryEvent
from models.detections import Detections
from models.faces.base import Embedder, FaceDetector, MaskClassifier
from models.faces.embedder import embedder_model
from models.faces.quality import face_quality

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FaceModels:
    """The models a door runs; ``mask`` is None when no classifier is installed (mask reported unknown)."""

    detector: FaceDetector
    embedder: Embedder
    mask: MaskClassifier | None


@dataclass(frozen=True, slots=True)
class FaceSample:
    """One kept frame of a track: the face crop (with margin) and the face in crop coordinates."""

    quality: float
    crop: NDArray[np.uint8]
    face: Detections
    captured_at: datetime
    clock_source: ClockSource
    vector: NDArray[np.float32] | None = None  # the face's embedding when it was embedded on its frame


@dataclass
class PassState:
    """What a track accumulates while the person is in view."""

    best: list[FaceSample] = field(default_factory=list)
    temperatures: list[Reading] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PassResult:
    """The decision for one pass, before it becomes a wire event."""

    track_id: int
    pupil_id: str | None
    match_score: float | None
    direction: Direction
    mask: str
    mask_score: float | None
    temperature_c: float | None
    fever: bool
    frames_used: int
    captured_at: datetime
    clock_source: ClockSource
    snapshot_jpeg: bytes
    thermal: PassTemperature | None = None  # temperature with its source, uncertainty and the door's threshold
    identity_masked: bool = False  # the pupil was identified from a masked face (edge/school/masked.py)


def quality_score(quality: dict[str, NDArray[np.float32]], config: SelectionConfig) -> NDArray[np.float32]:
    """(N,) quality in (0, 1] used to rank a track's frames; 0 only below the minimum face size.

    Size and sharpness saturate at their reference values; a turned face ranks lower but is still kept (a pupil
    who never looks at the camera must still produce an event, with the best view there was).
    """
    size = np.asarray(quality["size"], np.float32)
    score = (
        (0.25 + 0.75 * np.clip(quality["frontalness"], 0.0, 1.0))
        * np.clip(size / config.size_ref_px, 0.05, 1.0)
        * np.clip(np.asarray(quality["sharpness"]) / config.sharpness_ref, 0.05, 1.0)
    )
    out: NDArray[np.float32] = np.where(size >= config.min_face_px, score, 0.0).astype(np.float32)
    return out


def crop_face(image: NDArray[np.uint8], face: Detections, margin: float) -> tuple[NDArray[np.uint8], Detections]:
    """The face (one row) with ``margin`` x its side around it, and the face moved into crop coordinates."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = face.xyxy[0].tolist()
    pad = margin * max(x2 - x1, y2 - y1)
    cx1, cy1 = int(max(0, np.floor(x1 - pad))), int(max(0, np.floor(y1 - pad)))
    cx2, cy2 = int(min(w, np.ceil(x2 + pad))), int(min(h, np.ceil(y2 + pad)))
    shift = np.array([cx1, cy1], np.float32)
    moved = Detections.build(
        face.xyxy - np.tile(shift, 2),
        face.confidence,
        data={**face.data, "landmarks": face.data["landmarks"] - shift},
    )
    return np.ascontiguousarray(image[cy1:cy2, cx1:cx2]), moved


def snapshot(sample: FaceSample, max_side: int) -> bytes:
    """A small JPEG of the face crop (the event's evidence of who passed)."""
    crop: NDArray[Any] = sample.crop
    scale = min(1.0, max_side / max(crop.shape[:2]))
    if scale < 1.0:
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))))
    ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise ValueError("JPEG encoding of the snapshot failed")
    return bytes(buf.tobytes())


class SchoolPipeline:
    """Turns frames (and thermal frames) into one ``PassResult`` per person passing.

    Args:
        config: the ``school:`` section.
        models: detector, embedder, optional mask classifier.
        gallery: the school's templates.
    """

    def __init__(self, config: SchoolConfig, models: FaceModels, gallery: Gallery) -> None:
        self.config = config
        self.models = models
        self.gallery = gallery
        ident = config.identify
        self.masked_threshold = masked_threshold(
            ident.masked, embedder_model(config.embedder), ident.pass_far, ident.gallery_size, ident.threshold
        )
        self.tracker = IouTracker(config.tracker, config.door.point)
        self._frame_size = (0, 0)
        self._thumb: NDArray[np.float32] | None = None
        self.frames_seen = 0
        self._last_at: datetime | None = None
        self.breaks: Counter[str] = Counter()  # times live tracks were closed: scene_cut, time_gap, camera_drop

    @property
    def scene_cuts(self) -> int:
        """Scene cuts seen so far."""
        return self.breaks["scene_cut"]

    def process(self, frame: Frame, thermal: ThermalFrame | None = None) -> list[PassResult]:
        """Run one frame; returns the passes that ended with it."""
        if frame.index % self.config.tracker.frame_stride:
            return []
        image = frame.image
        self._frame_size = (int(image.shape[1]), int(image.shape[0]))
        self.frames_seen += 1
        reason = self._break(frame)
        results = self.close_passes(reason) if reason is not None else []
        faces = self.models.detector.detect(image)
        update = self.tracker.update(faces, frame.index)
        if len(faces):
            self._keep_best(frame, update.detections, update.tracks)
            self._read_temperatures(thermal, update.detections, update.tracks)
        return results + [r for r in (self._finish(t) for t in update.finished) if r is not None]

    def _break(self, frame: Frame) -> str | None:
        """Why the tracks cannot continue into ``frame`` (``time_gap`` or ``scene_cut``), or None."""
        previous_at, self._last_at = self._last_at, frame.captured_at
        cut = self._scene_cut(frame.image)  # always run: it keeps the previous thumbnail current
        gap = self.config.tracker.max_gap_s
        if previous_at is not None and gap is not None:
            seconds = (frame.captured_at - previous_at).total_seconds()
            if abs(seconds) > gap:
                logger.info("capture time jumped by %.1f s (limit %.1f s)", seconds, gap)
                return "time_gap"
        return "scene_cut" if cut else None

    def _scene_cut(self, image: NDArray[np.uint8]) -> bool:
        """True when the whole view changed since the previous frame (tracks must not jump across it)."""
        limit = self.config.tracker.scene_cut
        if limit is None:
            return False
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        thumb = cv2.resize(grey, (64, 36), interpolation=cv2.INTER_AREA).astype(np.float32)
        previous, self._thumb = self._thumb, thumb
        return previous is not None and float(np.abs(thumb - previous).mean()) >= limit

    def close_passes(self, reason: str) -> list[PassResult]:
        """Close every live track now (its pass is decided and returned) because of a break in the picture.

        Args:
            reason: why, counted in ``breaks``: ``scene_cut``, ``time_gap`` or ``camera_drop`` (from the agent).
        """
        self.breaks[reason] += 1
        logger.info("%s: closing %d live tracks", reason, len(self.tracker.live))
        return self.flush()

    def flush(self) -> list[PassResult]:
        """End of stream: close every live track."""
        finished, _ = self.tracker.flush()
        return [r for r in (self._finish(t) for t in finished) if r is not None]

    def _keep_best(self, frame: Frame, faces: Detections, tracks: list[Track]) -> None:
        selection = self.config.selection
        scores = quality_score(face_quality(frame.image, faces), selection)
        vectors = self._embed_frame(frame.image, faces, scores) if selection.embed_every_frame else None
        for row, (track, score) in enumerate(zip(tracks, scores.tolist(), strict=True)):
            state = track.payload if isinstance(track.payload, PassState) else PassState()
            track.payload = state
            full = len(state.best) >= selection.best_frames
            if score <= 0.0 or (full and score <= state.best[-1].quality):
                continue
            crop, face = crop_face(frame.image, faces[row], selection.crop_margin)
            vector = None if vectors is None else vectors[row]
            state.best.append(FaceSample(score, crop, face, frame.captured_at, frame.clock_source, vector))
            state.best.sort(key=lambda s: -s.quality)
            del state.best[selection.best_frames :]

    def _embed_frame(
        self, image: NDArray[np.uint8], faces: Detections, scores: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        """Every embeddable face of the frame in one batched embedder call; rows of faces too small are zero."""
        vectors = np.zeros((len(faces), self.models.embedder.dim), np.float32)
        rows = np.flatnonzero(scores > 0.0)
        if len(rows):
            vectors[rows] = self.models.embedder.embed(image, faces[rows])
        return vectors

    def _read_temperatures(self, thermal: ThermalFrame | None, faces: Detections, tracks: list[Track]) -> None:
        settings = self.config.thermal
        if settings is None or thermal is None or "landmarks" not in faces.data:
            return
        readings = measure_readings(thermal, faces.data["landmarks"], settings)
        for track, reading in zip(tracks, readings, strict=True):
            if reading is not None and isinstance(track.payload, PassState):
                track.payload.temperatures.append(reading)

    def _identify(self, samples: list[FaceSample], mask: str) -> PassVote:
        """Identify and vote; a pass the classifier calls masked is judged at the masked-probe threshold."""
        if all(s.vector is not None for s in samples):  # embedded on their frames (selection.embed_every_frame)
            embeddings = np.stack([s.vector for s in samples if s.vector is not None])
        else:
            embeddings = np.concatenate([self.models.embedder.embed(s.crop, s.face) for s in samples])
        ident = self.config.identify
        threshold, masked = pass_threshold_for(mask, ident.threshold, self.masked_threshold)
        found = self.gallery.identify(embeddings, threshold)
        flags = [masked] * len(found.pupil_ids)
        return vote_pass(found.pupil_ids, found.scores, flags, ident.min_votes, ident.min_vote_fraction)

    def _mask(self, samples: list[FaceSample]) -> tuple[str, float | None]:
        if self.models.mask is None:
            return "unknown", None
        mask = self.models.mask
        judged = [s for s in samples if bool(mask.judgeable(s.crop, s.face)[0])]
        if not judged:  # every kept frame too small, dark or blurred to tell: say so rather than guess
            return "unknown", None
        probs = np.concatenate([mask.predict(s.crop, s.face) for s in judged])
        limits = np.concatenate([mask.thresholds(s.crop, s.face) for s in judged])  # grey (IR) frames: their own
        p = float(np.clip(probs.mean(), 0.0, 1.0))
        return ("mask" if float((probs - limits).mean()) >= 0.0 else "no_mask"), p

    def _finish(self, track: Track) -> PassResult | None:
        state = track.payload
        if not isinstance(state, PassState) or not state.best:
            logger.debug("track %d ended without a face large enough to embed: no event", track.track_id)
            return None
        mask, mask_score = self._mask(state.best)
        identified = self._identify(state.best, mask)
        pupil_id, score = identified.pupil_id, identified.score
        thermal = pass_temperature(state.temperatures, self.config.thermal) if self.config.thermal else None
        temperature = None if thermal is None else thermal.temperature_c
        fever = thermal is not None and thermal.fever
        best = state.best[0]
        return PassResult(
            track_id=track.track_id,
            pupil_id=pupil_id,
            match_score=None if score is None else float(np.clip(score, -1.0, 1.0)),
            direction=track_direction(track.path, self.config.door, self._frame_size, np.asarray(track.sizes)),
            mask=mask,
            mask_score=mask_score,
            temperature_c=temperature,
            fever=fever,
            frames_used=len(state.best),
            captured_at=best.captured_at,
            clock_source=best.clock_source,
            snapshot_jpeg=snapshot(best, self.config.selection.snapshot_px),
            thermal=thermal,
            identity_masked=identified.masked,
        )


def to_event(result: PassResult, camera_id: str, school_id: str) -> tuple[EntryEvent, dict[str, bytes]]:
    """The wire event of a pass and its attachment bytes (the face snapshot)."""
    attachment = make_attachment(result.snapshot_jpeg, "image/jpeg", "snapshot")
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "camera_id": camera_id,
        "captured_at": result.captured_at,
        "clock_source": result.clock_source,
        "attachments": (attachment,),
        "school_id": school_id,
        "pupil_id": result.pupil_id,
        "identity": "known" if result.pupil_id is not None else "unknown",
        "match_score": result.match_score,
        "direction": result.direction,
        "mask": result.mask,
        "mask_score": result.mask_score,
        "identity_masked": result.identity_masked,
        "temperature_c": result.temperature_c,
        "track_id": result.track_id,
        "frames_used": result.frames_used,
    }
    if result.thermal is not None:  # labelled: sensor or synthetic, with its uncertainty and the door's threshold
        fields.update(result.thermal.event_fields())
    elif result.temperature_c is None:
        fields["temperature_source"] = "none"
    return EntryEvent.model_validate(fields), {attachment.sha256: result.snapshot_jpeg}


def publish(results: list[PassResult], spool: Spool, camera_id: str, school_id: str) -> list[EntryEvent]:
    """Put one event per pass (with its snapshot) into the spool; returns the events."""
    events = []
    for result in results:
        event, media = to_event(result, camera_id, school_id)
        spool.put(event, media)
        events.append(event)
    return events
