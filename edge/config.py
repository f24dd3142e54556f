"""Device configuration shared by every edge pipeline (one YAML file per device)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, HttpUrl, field_validator

from edge.camera.config import CameraHealthConfig
from kuzet.config import StrictModel, resolve_path
from kuzet.contracts import CameraId, ClockSource


class SpoolConfig(StrictModel):
    """The durable on-device queue every event goes through."""

    path: Path = Field(default=Path("var/spool.sqlite"), description="SQLite file of the spool")
    max_events: int = Field(
        default=1_000_000,
        ge=100,
        le=100_000_000,
        description="Refuse new events beyond this backlog (disk guard)",
    )

    _resolve = field_validator("path")(resolve_path)


class UplinkConfig(StrictModel):
    """How the uploader ships spooled events to the backend."""

    backend_url: HttpUrl = Field(description="Base URL of the Kuzet backend, e.g. http://127.0.0.1:8000")
    api_key: str = Field(min_length=16, max_length=200, description="Device API key issued at registration")
    batch_size: int = Field(default=200, ge=1, le=1000, description="Events per upload request")
    timeout_s: float = Field(default=10.0, gt=0.0, le=120.0, description="HTTP timeout per request")
    backoff_initial_s: float = Field(default=0.5, gt=0.0, le=60.0, description="First retry delay")
    backoff_max_s: float = Field(default=30.0, gt=0.0, le=3600.0, description="Cap of the retry delay")
    idle_poll_s: float = Field(default=0.5, gt=0.0, le=60.0, description="Wait when the spool is empty")


class HealthConfig(StrictModel):
    """The device's local health endpoint."""

    host: str = Field(default="127.0.0.1", min_length=1, max_length=64, description="Bind address")
    port: int = Field(default=0, ge=0, le=65535, description="TCP port; 0 picks a free one")


class DeviceConfig(StrictModel):
    """Common part of every device file; pipelines extend it with their own section."""

    camera_id: CameraId
    clock_source: ClockSource = Field(default=ClockSource.NTP, description="Clock that stamps captured frames")
    spool: SpoolConfig = Field(default_factory=SpoolConfig, description="On-device spool")
    uplink: UplinkConfig = Field(description="Backend connection")
    health: HealthConfig = Field(default_factory=HealthConfig, description="Local health endpoint")
    camera_health: CameraHealthConfig = Field(
        default_factory=CameraHealthConfig, description="Tamper monitor of the camera (covered, moved, frozen, ...)"
    )
