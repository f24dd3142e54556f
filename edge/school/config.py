"""Configuration of a school door device: the ``school:`` section of its YAML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from edge.config import DeviceConfig
from edge.school.masked import MaskedIdentifyConfig
from hardware.thermal import Registration
from kuzet.config import StrictModel, resolve_path
from models.faces.config import EmbedderConfig, FaceDetectorConfig, MaskConfig
from models.faces.embedder import embedder_far_table
from models.faces.openset import pass_threshold
from models.faces.sface import SFACE_FAR_TABLE

DEFAULT_THRESHOLD = round(pass_threshold(SFACE_FAR_TABLE, 1e-3, 1000), 4)


class IouTrackerConfig(StrictModel):
    """The door's IoU face tracker (``edge.school.tracker.IouTracker``): one person passing the door is one track.

    Not ``edge.tracking.TrackerConfig``: that configures ByteTrack (Kalman motion, two-stage score association)
    for vehicles; faces at a door are followed by plain frame-to-frame IoU with scene-cut and stride handling.
    """

    iou_threshold: float = Field(default=0.3, ge=0.01, le=0.99, description="Minimum IoU to continue a track")
    max_missed: int = Field(
        default=10, ge=0, le=300, description="Processed frames a track survives without a detection (blur, turning)"
    )
    min_hits: int = Field(
        default=5, ge=1, le=100, description="Detections a track needs to become a pass (filters false faces)"
    )
    scene_cut: float | None = Field(
        default=20.0,
        ge=1.0,
        le=255.0,
        description=(
            "Mean absolute grey-level change (0-255, on a 64x36 thumbnail) between consecutive frames that means "
            "the view changed (camera bumped or moved, video cut): every track is closed. Normal motion stays "
            "below ~14; None disables"
        ),
    )
    frame_stride: int = Field(
        default=1, ge=1, le=30, description="Process every n-th frame (a slow CPU at a 30 fps camera)"
    )
    max_gap_s: float | None = Field(
        default=2.0,
        ge=0.05,
        le=3600.0,
        description=(
            "Capture-time gap (either way) between two processed frames above which every live track is closed: "
            "the face after a camera outage, a paused stream or a clock step is a new pass. None disables"
        ),
    )
    max_track_frames: int = Field(
        default=900,
        ge=10,
        le=100_000,
        description="A track this long is closed as a pass (a person standing)",
    )


class SelectionConfig(StrictModel):
    """Which frames of a track are embedded: the best by size, sharpness and pose."""

    best_frames: int = Field(default=3, ge=1, le=20, description="Frames per pass that are embedded and vote")
    size_ref_px: float = Field(
        default=80.0, ge=8.0, le=2000.0, description="Face side (px) above which size stops improving quality"
    )
    sharpness_ref: float = Field(
        default=100.0, ge=1.0, le=100_000.0, description="Laplacian variance above which sharpness saturates"
    )
    min_face_px: float = Field(default=20.0, ge=4.0, le=1000.0, description="Smaller faces are never embedded")
    crop_margin: float = Field(
        default=0.6,
        ge=0.1,
        le=3.0,
        description="Margin (fraction of the box side) of the face crop kept per frame",
    )
    snapshot_px: int = Field(default=160, ge=32, le=640, description="Longest side of the event's JPEG snapshot")
    embed_every_frame: bool = Field(
        default=False,
        description="Embed every face of every frame (one batched embedder call per frame) and keep the vectors of"
        " the best frames, instead of embedding the best crops when the pass ends: an even per-frame cost, no burst"
        " at the end of a pass, and the vectors are ready the moment it closes",
    )


class IdentifyConfig(StrictModel):
    """Identification against the school's gallery: an open-set decision, one probe against every template.

    Unless ``threshold`` is set, ``SchoolConfig`` derives it from the embedder's per-comparison false-accept table
    (``EmbedderConfig.far_table`` or the backend's own) so that a stranger is accepted as some pupil in at most
    ``pass_far`` of passes against a gallery of ``gallery_size`` pupils (``models.faces.openset``; the gallery
    fuses each pupil's templates into one mean score, ``Gallery.identify``).
    """

    threshold: float = Field(
        default=DEFAULT_THRESHOLD,
        ge=-1.0,
        le=1.0,
        description=(
            "Cosine similarity at or above which a face is the enrolled pupil. Set it to override; otherwise it is "
            "derived from pass_far and gallery_size on the embedder's scale (SFace, 1e-3 per pass, 1,000 "
            "pupils: the default here). Re-calibrate on local faces with `kuzet calibrate-faces --data DIR`"
        ),
    )
    pass_far: float = Field(
        default=1e-3,
        gt=0.0,
        le=0.5,
        description="Target false-accept rate per pass: share of strangers whose best template reaches the threshold",
    )
    gallery_size: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Pupils in this school's gallery the threshold is chosen for (each pupil is one fused score)",
    )
    masked: MaskedIdentifyConfig = Field(
        default_factory=MaskedIdentifyConfig,
        description="A pass the mask classifier says is masked: its own threshold (edge/school/masked.py)",
    )
    min_votes: int = Field(default=1, ge=1, le=20, description="Frames that must agree on the pupil")
    min_vote_fraction: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Share of the pass's voting frames the winner needs"
    )


class ThermalSettings(StrictModel):
    """Thermal camera registration and the conversion of skin readings to body temperature."""

    registration: Registration | None = Field(
        default=None, description="Visible->thermal homography of this device (or give registration_path)"
    )
    registration_path: Path | None = Field(
        default=None,
        description="JSON file written by `kuzet edge thermal-register` (the measured mapping and its RMS error)",
    )
    sensor: Literal["replay", "mlx90640", "lepton"] = Field(
        default="replay", description="Thermal device: a recording (replay_path), a Melexis MLX90640 or a FLIR Lepton"
    )
    sigma_c: float | None = Field(
        default=None,
        ge=0.01,
        le=10.0,
        description="1-sigma uncertainty of an uncorrected reading, C; None takes the sensor's own (datasheet) figure",
    )
    emissivity: float = Field(default=0.98, ge=0.5, le=1.0, description="Emissivity of skin used by the MLX90640")
    replay_path: Path | None = Field(default=None, description="Recorded radiometric frames (.npz) to replay")
    tolerance_s: float = Field(
        default=0.25, ge=0.0, le=10.0, description="A thermal frame further in time than this is not used"
    )
    roi: Literal["canthus", "forehead"] = Field(
        default="canthus", description="Inner-canthus strip between the eyes, or the forehead above them"
    )
    percentile: float = Field(
        default=90.0, ge=50.0, le=100.0, description="Percentile of the ROI pixels read (hot spot, robust)"
    )
    offset_c: float = Field(
        default=0.0, ge=-10.0, le=10.0, description="Added to the reading (skin-to-core and ambient offset)"
    )
    blackbody_xyxy: tuple[int, int, int, int] | None = Field(
        default=None, description="Thermal-pixel box of a reference blackbody in view, or None"
    )
    blackbody_c: float | None = Field(default=None, ge=20.0, le=50.0, description="Set temperature of the blackbody")
    blackbody_sigma_c: float = Field(
        default=0.2, ge=0.01, le=2.0, description="1-sigma uncertainty of the blackbody's set temperature, C"
    )
    plausible_min_c: float = Field(default=30.0, ge=25.0, le=40.0, description="Lower readings are not a face")
    plausible_max_c: float = Field(default=43.0, ge=36.0, le=45.0, description="Higher readings are not a face")
    fever_c: float = Field(default=37.5, ge=36.0, le=42.0, description="Temperature at or above which a pass is fever")

    _resolve = field_validator("replay_path", "registration_path")(resolve_path)

    @model_validator(mode="after")
    def _load_registration(self) -> ThermalSettings:
        """``registration``, or ``registration_path`` read here (a given ``registration`` wins)."""
        if self.registration is None and self.registration_path is None:
            raise ValueError("give registration or registration_path")
        if self.registration is None and self.registration_path is not None:
            from hardware.thermal.registration import load_registration

            try:
                loaded = load_registration(self.registration_path)
            except OSError as exc:
                raise ValueError(f"cannot read the thermal registration {self.registration_path}: {exc}") from exc
            object.__setattr__(self, "registration", loaded)  # frozen model: filled once, during validation
        return self

    @property
    def mapping(self) -> Registration:
        """The visible->thermal registration in force."""
        if self.registration is None:
            raise ValueError("thermal registration missing")
        return self.registration


Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Point = tuple[Fraction, Fraction]


class DoorLine(StrictModel):
    """A line in the view that faces cross one way: crossing it ``towards`` one side counts, crossing back undoes."""

    points: tuple[Point, Point] = Field(
        description="Two distinct points (x, y) of the line, as fractions (0-1) of the frame width/height"
    )
    towards: Literal["up", "down", "left", "right"] = Field(
        description="Which way (in the image) a face crossing the line is moving when it counts"
    )

    @model_validator(mode="after")
    def _distinct(self) -> DoorLine:
        (x1, y1), (x2, y2) = self.points
        if abs(x2 - x1) + abs(y2 - y1) < 0.01:
            raise ValueError("the two points of a door line must be at least 1 % of the frame apart")
        return self


class DoorConfig(StrictModel):
    """Which way a pass went (``edge.school.direction``): door lines its face crossed, or which way this camera looks.

    A door with one camera looking along the passage (both ways in view) uses ``line`` + ``inside`` or the pair
    ``entry_line`` / ``exit_line``. A door with two cameras gives each device the side it faces: the camera looking
    out of the school sees the faces of arriving pupils (``faces_seen: entering``), the one looking in sees the
    faces of leaving pupils (``faces_seen: leaving``). See the README, "Mounting the door camera".
    """

    line: tuple[Point, Point] | None = Field(
        default=None,
        description="Two points (x, y) of one door line for both ways, as fractions (0-1) of the frame width/height",
    )
    inside: Literal["left", "right"] = Field(
        default="left",
        description="Side of the directed ``line`` (first->second point) that is inside the school",
    )
    entry_line: DoorLine | None = Field(
        default=None, description="A face crossing this line towards its side has entered (None: not used)"
    )
    exit_line: DoorLine | None = Field(
        default=None, description="A face crossing this line towards its side has left (None: not used)"
    )
    faces_seen: Literal["both", "entering", "leaving"] = Field(
        default="both",
        description=(
            "Whose faces this camera sees: both ways, or only arriving (it looks out of the school) or only leaving "
            "(it looks in) pupils. A one-way camera gives its direction to every pass no line decides"
        ),
    )
    approach_growth: float | None = Field(
        default=None,
        ge=1.05,
        le=10.0,
        description=(
            "Face-size ratio (last / first quarter of the track) at which a face counts as walking towards the "
            "camera (and its inverse as away), for a camera looking along the passage: which way that is comes "
            "from ``approach``. None: not used"
        ),
    )
    approach: Literal["entered", "left"] = Field(
        default="entered", description="What walking towards the camera means at this door (with approach_growth)"
    )
    point: Literal["center", "bottom"] = Field(
        default="center", description="Which point of the face box follows the person"
    )


class SchoolConfig(StrictModel):
    """The ``school:`` section of a door device file."""

    school_id: str = Field(min_length=1, max_length=64, description="School the door belongs to")
    gallery_path: Path = Field(
        default=Path("var/gallery.npz"),
        description="Local copy of the school's gallery (kept for offline use), AES-GCM encrypted with the device key",
    )
    gallery_key_path: Path | None = Field(
        default=None,
        description=(
            "The device's gallery key file (32 random bytes, created with mode 0600 on the first save); None: beside "
            "the gallery, gallery_path with the suffix .key"
        ),
    )
    gallery_thumbnails: bool = Field(
        default=False, description="Keep one enrolment face thumbnail per pupil in the door's gallery (off: none)"
    )
    detector: FaceDetectorConfig = Field(
        default_factory=lambda: FaceDetectorConfig(input_max_side=320),
        description="Face detector; faces at a door are large (>= 80 px at 640x480), so the network sees 320 px",
    )
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig, description="Face embedder")
    mask: MaskConfig = Field(
        default_factory=MaskConfig, description="Mask classifier; its threshold is the P(mask) that means a mask"
    )
    tracker: IouTrackerConfig = Field(default_factory=IouTrackerConfig, description="Tracker")
    selection: SelectionConfig = Field(default_factory=SelectionConfig, description="Best-frame selection")
    identify: IdentifyConfig = Field(default_factory=IdentifyConfig, description="Identification")
    thermal: ThermalSettings | None = Field(default=None, description="Thermal camera; None when the door has none")
    door: DoorConfig = Field(default_factory=DoorConfig, description="Door lines and camera facing (direction)")
    source: str | None = Field(
        default=None, max_length=500, description="Camera: RTSP URL, USB index, or a video file path"
    )

    _resolve = field_validator("gallery_path", "gallery_key_path")(resolve_path)

    @model_validator(mode="before")
    @classmethod
    def _open_set_threshold(cls, data: Any) -> Any:
        """Derive ``identify.threshold`` from the embedder and the per-pass target unless it is set explicitly."""
        if not isinstance(data, dict):
            return data
        identify = data.get("identify", {})
        if isinstance(identify, IdentifyConfig):
            if "threshold" in identify.model_fields_set:
                return data
            identify = identify.model_dump(exclude={"threshold"})
        if not isinstance(identify, dict) or "threshold" in identify:
            return data
        embedder = data.get("embedder", {})
        table = embedder_far_table(embedder if isinstance(embedder, EmbedderConfig) else EmbedderConfig(**embedder))
        target = IdentifyConfig(**identify)
        threshold = pass_threshold(table, target.pass_far, target.gallery_size)
        return {**data, "identify": {**identify, "threshold": round(threshold, 4)}}


class SchoolDeviceConfig(DeviceConfig):
    """A school door device: the common device part plus ``school:``."""

    school: SchoolConfig = Field(description="School door pipeline settings")
