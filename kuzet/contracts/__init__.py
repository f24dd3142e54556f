"""The wire contract: frozen, versioned event schemas shared by edge and backend.

This module depends on pydantic only. Every event carries a client-generated UUID (so a replayed upload is stored
once), the camera that produced it, the capture time in UTC with the clock that produced it, the schema version and
its attachments by SHA-256 content hash. Bump ``SCHEMA_VERSION`` (and keep the old literal accepted) when a field
changes meaning.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from kuzet.contracts.enums import (
    SEVERITY,
    CameraHealthState,
    SignalSource,
    SignalState,
    VehicleClass,
    ViolationKind,
)

SCHEMA_VERSION = 1
MAX_BATCH = 1000
MAX_TRACK_ID = 2**31 - 1
"""Largest tracker id on the wire (trackers count up from 1; larger does not fit a database integer safely)."""
MAX_ROAD_M = 100_000.0
"""Largest road-plane coordinate, metres (finite: NaN and Infinity are refused)."""

CameraId = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Camera id")
]
RoadMetres = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_ROAD_M, le=MAX_ROAD_M)]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="Lower-case hex SHA-256 of the bytes")]
DecisionKey = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]
DecisionValue = Annotated[float, Field(allow_inf_nan=False)] | Annotated[str, Field(max_length=64)]
SignalHeadId = Annotated[
    str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Signal head id")
]


class ClockSource(StrEnum):
    """Where the device's capture timestamp came from, best first."""

    PTP = "ptp"
    GPS = "gps"
    NTP = "ntp"
    RTC = "rtc"
    SYSTEM = "system"
    FILE = "file"  # replayed media: time derived from the file's frame index


class Frozen(BaseModel):
    """Base for every wire model: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Attachment(Frozen):
    """A media file referenced by content hash; the bytes travel separately through the media endpoint."""

    sha256: Sha256Hex
    media_type: Literal["image/jpeg", "image/png", "application/json", "application/octet-stream"] = Field(
        description="MIME type of the attached bytes"
    )
    role: str = Field(min_length=1, max_length=32, description="What it shows: snapshot, plate_crop, frame, ...")
    size_bytes: int = Field(ge=0, le=50_000_000, description="Size of the attached bytes")


class EventBase(Frozen):
    """Fields common to every event."""

    schema_version: Literal[1] = Field(default=1, description="Wire schema version (SCHEMA_VERSION)")
    event_id: UUID = Field(description="Client-generated UUID; the idempotency key of ingest")
    camera_id: CameraId
    captured_at: AwareDatetime = Field(description="Capture time of the deciding frame, timezone-aware")
    clock_source: ClockSource = Field(description="Which clock produced captured_at")
    attachments: tuple[Attachment, ...] = Field(default=(), max_length=32, description="Media by content hash")

    @field_validator("captured_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        offset = value.utcoffset()
        if offset is None:
            raise ValueError("captured_at must carry a timezone")
        try:
            return (value - offset).replace(tzinfo=UTC)
        except OverflowError as exc:
            raise ValueError("captured_at is out of the representable range in UTC") from exc


class EntryEvent(EventBase):
    """One person passing a school door: who, which way, mask, temperature."""

    kind: Literal["entry"] = "entry"
    school_id: str = Field(min_length=1, max_length=64, description="School the door belongs to")
    pupil_id: str | None = Field(default=None, max_length=64, description="Enrolled pupil, None when unknown")
    identity: Literal["known", "unknown"] = Field(description="Whether the face matched an enrolled pupil")
    match_score: float | None = Field(default=None, ge=-1.0, le=1.0, description="Best cosine similarity")
    direction: Literal["entered", "left", "unknown"] = Field(description="Crossing direction of the door line")
    mask: Literal["mask", "no_mask", "unknown"] = Field(default="unknown", description="Mask worn?")
    mask_score: float | None = Field(default=None, ge=0.0, le=1.0, description="P(mask) of the classifier")
    identity_masked: bool = Field(
        default=False,
        description=(
            "True when the pupil was identified from a masked face (the masked-probe threshold, lower confidence "
            "than a bare face); False for a bare face or an unknown person"
        ),
    )
    temperature_c: float | None = Field(
        default=None, ge=25.0, le=45.0, description="Body temperature; None when no thermal reading, never 0"
    )
    temperature_source: Literal["sensor", "synthetic", "none"] | None = Field(
        default=None,
        description=(
            "Where temperature_c came from: a real sensor, synthetic (rendered, not measured) data, or none (no "
            "reading); None when the device does not say (older devices)"
        ),
    )
    temperature_sigma_c: float | None = Field(
        default=None, ge=0.0, le=20.0, description="1-sigma uncertainty of temperature_c in C, None when unknown"
    )
    fever_threshold_c: float | None = Field(
        default=None,
        ge=30.0,
        le=45.0,
        description="The door's fever threshold: fever when temperature_c >= it; None = the backend's own setting",
    )
    blackbody_offset_c: float | None = Field(
        default=None, ge=-20.0, le=20.0, description="Drift correction from the reference blackbody applied, C"
    )
    track_id: int = Field(ge=0, le=MAX_TRACK_ID, description="Edge tracker id of the pass")
    frames_used: int = Field(default=1, ge=1, le=1000, description="Frames that voted on the identity")

    @model_validator(mode="after")
    def _temperature_labelled_consistently(self) -> EntryEvent:
        if self.temperature_source == "none" and self.temperature_c is not None:
            raise ValueError("temperature_source 'none' with a temperature_c")
        if self.temperature_source in ("sensor", "synthetic") and self.temperature_c is None:
            raise ValueError(f"temperature_source {self.temperature_source!r} without a temperature_c")
        return self


class VehicleEvent(EventBase):
    """A confirmed vehicle track summary."""

    kind: Literal["vehicle"] = "vehicle"
    track_id: int = Field(ge=0, le=MAX_TRACK_ID, description="Edge tracker id")
    vehicle_class: VehicleClass = Field(description="Majority class of the track")
    lane_id: str | None = Field(default=None, max_length=32, description="Lane the track spent most time in")
    speed_kmh: float | None = Field(default=None, ge=0.0, le=400.0, description="Robust speed estimate")
    speed_uncertainty_kmh: float | None = Field(default=None, ge=0.0, le=400.0, description="1-sigma uncertainty")
    first_seen: AwareDatetime = Field(description="First frame of the track")
    last_seen: AwareDatetime = Field(description="Last frame of the track")
    path_m: tuple[tuple[RoadMetres, RoadMetres], ...] = Field(
        default=(), max_length=2000, description="Road-plane positions in metres, in time order (finite)"
    )
    plate_text: str | None = Field(default=None, max_length=16, description="Final plate read, if any")
    plate_confidence: float | None = Field(default=None, ge=0.0, le=1.0, description="Confidence of the read")

    @model_validator(mode="after")
    def _seen_in_order(self) -> VehicleEvent:
        if self.last_seen < self.first_seen:
            raise ValueError("last_seen is before first_seen")
        return self


class ViolationEvent(EventBase):
    """A traffic violation with its evidence package, referenced by the manifest hash."""

    kind: Literal["violation"] = "violation"
    violation: ViolationKind = Field(description="Which rule fired")
    track_id: int = Field(ge=0, le=MAX_TRACK_ID, description="Edge tracker id")
    vehicle_class: VehicleClass = Field(description="Class of the vehicle")
    plate_raw: str | None = Field(default=None, max_length=32, description="Plate as read")
    plate_normalised: str | None = Field(default=None, max_length=16, description="Plate after the grammar")
    speed_kmh: float | None = Field(default=None, ge=0.0, le=400.0, description="Speed when relevant")
    signal_state: SignalState | None = Field(default=None, description="Signal")
    signal_source: SignalSource | None = Field(default=None, description="Signal source")
    evidence_sha256: Sha256Hex | None = Field(default=None, description="SHA-256 of the signed evidence manifest")
    location: str | None = Field(default=None, max_length=200, description="Human-readable camera location")
    speed_sigma_kmh: float | None = Field(
        default=None, ge=0.0, le=400.0, description="One-sigma of speed_kmh: fit, calibration survey and timing"
    )
    decision: dict[DecisionKey, DecisionValue] = Field(
        default_factory=dict,
        max_length=48,
        description="The numbers the rule decided on: margins, samples, times, speed and its sigma parts, signal head",
    )


class PlateAlertEvent(EventBase):
    """A read plate matched a watchlist entry (wanted / stolen); the plate crop travels as an attachment."""

    kind: Literal["plate_alert"] = "plate_alert"
    plate_read: str = Field(min_length=1, max_length=16, description="Plate text as read (after the grammar)")
    plate_listed: str = Field(min_length=1, max_length=16, description="Watchlist plate it matched")
    distance: int = Field(ge=0, le=4, description="Edit distance between the read and the listed plate")
    reason: str = Field(min_length=1, max_length=64, description="Why the plate is listed: wanted, stolen, ...")
    read_confidence: float = Field(ge=0.0, le=1.0, description="Mean character confidence of the read")
    track_id: int | None = Field(default=None, ge=0, le=MAX_TRACK_ID, description="Edge tracker id, when from a track")


class CameraHealthMeasures(Frozen):
    """What the monitor measured when the state changed (None where not measured)."""

    brightness: float | None = Field(default=None, ge=0.0, le=255.0, description="Mean grey level, 0-255")
    contrast: float | None = Field(default=None, ge=0.0, le=255.0, description="Grey-level standard deviation")
    sharpness_ratio: float | None = Field(
        default=None, ge=0.0, le=1000.0, description="Sharpness relative to the camera's baseline (1 = as installed)"
    )
    shift_px: float | None = Field(default=None, ge=0.0, le=100_000.0, description="View shift from the reference")
    rotation_deg: float | None = Field(default=None, ge=-180.0, le=180.0, description="View rotation, degrees")
    frozen_s: float | None = Field(default=None, ge=0.0, le=1e7, description="Seconds of unchanged frames")
    clock_offset_s: float | None = Field(
        default=None, ge=-1e7, le=1e7, description="Capture time minus the device clock source, seconds"
    )
    signal_heads: tuple[SignalHeadId, ...] | None = Field(
        default=None,
        max_length=16,
        description="Signal heads whose camera reading and controller feed disagree now (signal_mismatch);"
        " no red-light violation is issued on the lines they govern",
    )


class CameraHealthEvent(EventBase):
    """A camera's health changed (sent on change, with hysteresis, never per frame)."""

    kind: Literal["camera_health"] = "camera_health"
    state: CameraHealthState = Field(description="The most severe active state (SEVERITY order); healthy when none")
    active: tuple[CameraHealthState, ...] = Field(
        default=(), max_length=8, description="Every non-healthy state active now, most severe first"
    )
    previous: CameraHealthState = Field(description="The state reported before this change")
    since: AwareDatetime = Field(description="Capture time at which the new state began (before the hysteresis)")
    measures: CameraHealthMeasures = Field(
        default_factory=CameraHealthMeasures, description="The figures behind the judgement"
    )
    message: str = Field(default="", max_length=300, description="One line for people: what is wrong, what to do")


Event = Annotated[
    EntryEvent | VehicleEvent | ViolationEvent | PlateAlertEvent | CameraHealthEvent, Field(discriminator="kind")
]


class EventBatch(Frozen):
    """What an edge device posts to ``/api/v1/events``."""

    events: tuple[Event, ...] = Field(min_length=1, max_length=MAX_BATCH, description="Events to ingest")


class IngestResult(Frozen):
    """Reply to a batch: which ids were stored now, which were already there."""

    accepted: tuple[UUID, ...] = Field(description="Event ids stored by this request")
    duplicates: tuple[UUID, ...] = Field(description="Event ids stored earlier; nothing written again")
    repeated: tuple[UUID, ...] = Field(
        default=(), description="Event ids sent more than once in this batch (same content): stored once"
    )


__all__ = [
    "MAX_BATCH",
    "SCHEMA_VERSION",
    "SEVERITY",
    "Attachment",
    "CameraHealthEvent",
    "CameraHealthMeasures",
    "CameraHealthState",
    "ClockSource",
    "EntryEvent",
    "Event",
    "EventBase",
    "EventBatch",
    "IngestResult",
    "PlateAlertEvent",
    "SignalSource",
    "SignalState",
    "VehicleClass",
    "VehicleEvent",
    "ViolationEvent",
    "ViolationKind",
]


# --- School gallery sync (edge door devices pull their school's face templates) -----------------------------


class GalleryTemplate(Frozen):
    """One enrolled face template (embedding) of a pupil; photos never travel, only templates."""

    template_id: str = Field(min_length=1, max_length=64, description="Stable id of this template")
    pupil_id: str = Field(min_length=1, max_length=64, description="Pupil the template belongs to")
    model: str = Field(min_length=1, max_length=64, description="Embedder that made it, e.g. dlib_resnet_v1")
    embedding: tuple[float, ...] = Field(
        min_length=16, max_length=1024, description="L2-normalised embedding (128 values for dlib)"
    )


class GalleryDelta(Frozen):
    """The changes of a school's gallery between two versions; ``from_version`` 0 means the whole gallery."""

    school_id: str = Field(min_length=1, max_length=64, description="School the gallery belongs to")
    from_version: int = Field(ge=0, description="Gallery version the device holds (0 = none)")
    to_version: int = Field(ge=0, description="Gallery version after applying this delta")
    added: tuple[GalleryTemplate, ...] = Field(default=(), max_length=100_000, description="New templates")
    removed: tuple[str, ...] = Field(default=(), max_length=100_000, description="Template ids to drop")


__all__ += ["GalleryDelta", "GalleryTemplate"]
