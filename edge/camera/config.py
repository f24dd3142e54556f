"""Settings of the camera health monitor (one section of every edge device's config).

Every threshold of the tamper monitor lives here, described and bounded; the defaults were chosen on the bundled
clips with tampering applied to their real frames (tests/edge/camera) and hold for a street camera that sways a few
pixels as vehicles pass and whose auto-exposure dips when a white car goes by.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator

from kuzet.config import StrictModel, resolve_path


class CameraHealthConfig(StrictModel):
    """Thresholds, analysis rate and hysteresis of the tamper monitor."""

    enabled: bool = Field(default=True, description="Run the monitor on this camera")
    baseline_path: Path | None = Field(
        default=None, description="Reference recorded by `kuzet camera baseline`; absent: the stream's first seconds"
    )
    baseline_s: float = Field(default=3.0, gt=0.0, le=60.0, description="Seconds of stream that make the baseline")
    analyse_every_s: float = Field(default=0.2, gt=0.0, le=10.0, description="At most one analysis per this time")
    analyse_width: int = Field(default=320, ge=64, le=1280, description="Frames are analysed downscaled to this width")
    raise_after_s: float = Field(default=1.5, ge=0.0, le=60.0, description="A state must hold this long to be raised")
    clear_after_s: float = Field(default=2.0, ge=0.0, le=120.0, description="It must be gone this long to clear")

    covered_brightness: float = Field(
        default=18.0, ge=0.0, le=255.0, description="Covered when the mean grey level falls below this (a cap, paint)"
    )
    covered_brightness_ratio: float = Field(
        default=0.3, ge=0.0, le=1.0, description="Covered when brightness falls below this fraction of the baseline"
    )
    covered_contrast_ratio: float = Field(
        default=0.3, ge=0.0, le=1.0, description="Covered when contrast falls below this fraction of the baseline ..."
    )
    flat_block_px: int = Field(default=16, ge=4, le=128, description="Block side (analysed px) for the flatness test")
    flat_block_std: float = Field(
        default=1.5, ge=0.0, le=50.0, description="A block whose grey-level std is below this is featureless"
    )
    covered_flat_fraction: float = Field(
        default=0.45, ge=0.0, le=1.0, description="... or when at least this share of blocks is featureless ..."
    )
    covered_flat_gain: float = Field(
        default=0.3, ge=0.0, le=1.0, description="... and that share grew by at least this much over the baseline ..."
    )
    busy_contrast_ratio: float = Field(
        default=1.3,
        ge=1.0,
        le=100.0,
        description="Above this multiple of the baseline's contrast (vehicles filling a low-contrast view) a cover is"
        " not told from a blur: a verdict already reached stands",
    )
    busy_detail_share: float = Field(
        default=0.08,
        ge=0.0,
        le=1.0,
        description="... and none is reached while also at least this share of tiles holds detail the reference lacks"
        " (a hand or a cloth adds contrast but no detail)",
    )
    covered_max_correlation: float = Field(
        default=0.6,
        ge=-1.0,
        le=1.0,
        description="... in every case only while the picture's layout correlates less than this with the reference's"
        " (mean of the coarse picture's correlation with and without its smoothest shading, measures.layout;"
        " a mist or a blur keeps the scene's layout, a hand or a cloth does not)",
    )
    detail_block_px: int = Field(
        default=32,
        ge=8,
        le=256,
        description="Tile side (analysed px) at which fine detail is compared with the reference",
    )
    detail_min_texture: float = Field(
        default=0.03,
        ge=0.0,
        le=10.0,
        description="Only tiles of the reference with at least this fine detail (Laplacian std over grey level) count",
    )
    covered_lost_ratio: float = Field(
        default=0.35, gt=0.0, le=1.0, description="A tile has lost its detail below this fraction of the reference's"
    )
    covered_lost_fraction: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="... and covered (when the layout is lost too) once this share of the compared tiles lost it",
    )
    covered_flip_correlation: float = Field(
        default=0.3, ge=-1.0, le=1.0, description="A blur verdict turns to covered when the layout falls below this"
    )
    defocused_flip_correlation: float = Field(
        default=0.8, ge=-1.0, le=1.0, description="A cover verdict turns to defocused when the layout rises above this"
    )
    defocused_ratio: float = Field(
        default=0.7,
        gt=0.0,
        le=1.0,
        description="Defocused when the median tile keeps less than this fraction of the reference's fine detail"
        " (darkening by the auto-exposure is compensated)",
    )
    moved_shift_frac: float = Field(
        default=0.02, gt=0.0, le=1.0, description="Moved when the view centre shifts more than this share of the width"
    )
    moved_rotation_deg: float = Field(default=1.0, gt=0.0, le=90.0, description="Moved when the view rotates more")
    moved_scale: float = Field(
        default=0.04, gt=0.0, le=1.0, description="Moved when the view zooms by more (1 +- this)"
    )
    moved_min_inliers: int = Field(
        default=8, ge=4, le=10_000, description="Feature matches agreeing with the motion needed to trust it"
    )
    moved_sure_inliers: int = Field(
        default=20,
        ge=4,
        le=10_000,
        description="Matches agreeing with a motion beyond the tolerance that make a view with other detail and layout"
        " a moved one rather than a covered or blurred one",
    )
    moved_min_inlier_share: float = Field(
        default=0.1, ge=0.0, le=1.0, description="Share of matches agreeing with the motion needed to trust it"
    )
    moved_consistent: int = Field(
        default=3, ge=1, le=100, description="Successive trusted analyses that must agree before a move counts"
    )
    moved_stable_frac: float = Field(
        default=0.02, gt=0.0, le=1.0, description="They agree when their shifts differ by less than this share of width"
    )
    moved_phase_response: float = Field(
        default=0.3,
        ge=0.0,
        le=2.0,
        description="Where too few features match (a low-texture view), the whole view's phase-correlation shift is"
        " trusted from this peak height (a cover or a passing vehicle stays below)",
    )
    moved_stale_s: float = Field(
        default=3.0,
        gt=0.0,
        le=600.0,
        description="A moved view with no trusted estimate beyond the tolerance for this long (traffic filling the"
        " view after it was restored) is no longer judged moved",
    )
    covered_flux_share: float = Field(
        default=0.04,
        ge=0.0,
        le=1.0,
        description="No cover verdict is reached while this share of the picture (40 px, exposure aside) changed"
        " since the last analysis: a cover settles at once, a vehicle passing a misted view keeps moving",
    )
    scene_kept_response: float = Field(
        default=0.45,
        ge=0.0,
        le=2.0,
        description="A picture whose phase correlation with the reference peaks this high, within the shift"
        " tolerance, still shows the scene: a collapse of its detail is a blur or a mist, not a cover",
    )
    orb_features: int = Field(default=600, ge=50, le=10_000, description="ORB features per analysed frame")
    frozen_width: int = Field(default=80, ge=16, le=640, description="Width at which successive frames are compared")
    frozen_diff: float = Field(
        default=6.0,
        ge=0.0,
        le=255.0,
        description="A frame is the same picture when no pixel of it (at frozen_width) differs from the first frame of"
        " the unchanged run by this many grey levels (re-encoding noise stays below; anything moving goes above)",
    )
    frozen_after_s: float = Field(default=0.5, gt=0.0, le=600.0, description="Frozen when unchanged for longer")
    clock_tolerance_s: float = Field(
        default=2.0, gt=0.0, le=86_400.0, description="Clock drift when capture time and device clock differ by more"
    )

    @field_validator("baseline_path")
    @classmethod
    def _resolve(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else resolve_path(value, info)
