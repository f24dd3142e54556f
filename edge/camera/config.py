"""Settings of the camera health monitor (one section of every edge device's config)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from kuzet.config import StrictModel, resolve_path


class CameraHealthConfig(StrictModel):
    """Thresholds, analysis rate and hysteresis of the tamper monitor."""

    enabled: bool = Field(default=True, description="Run the monitor on this camera")
    baseline_path: Path | None = Field(
        default=None, description="Reference recorded by `kuzet camera baseline`; absent: the stream's first seconds"
    )
    baseline_s: float = Field(default=3.0, gt=0.0, le=60.0, description="Seconds of stream that make the baseline")
    analyse_every_s: float = Field(default=0.2, gt=0.0, le=10.0, description="At most one analysis per this time")
    raise_after_s: float = Field(default=1.5, ge=0.0, le=60.0, description="A state must hold this long to be raised")
    clear_after_s: float = Field(default=2.0, ge=0.0, le=120.0, description="It must be gone this long to clear")

    _resolve = field_validator("baseline_path")(resolve_path)
