"""Backend settings: one YAML file (``kuzet serve --config FILE``), validated once at start and passed down."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator

from kuzet.config import StrictModel
from notifications.config import NotificationSettings

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "admin", "password", "placeholder"})


class SchoolSettings(StrictModel):
    """Thresholds and lifetimes of the school service."""

    timezone: str = Field(
        default="Asia/Almaty", min_length=1, max_length=64, description="IANA zone of school days and class times"
    )
    fever_threshold_c: float = Field(
        default=37.5, ge=36.0, le=42.0, description="Body temperature above which a pupil is feverish"
    )
    late_grace_minutes: int = Field(
        default=5, ge=0, le=120, description="Minutes after class start before an arrival counts as late"
    )
    snapshot_retention_days: int = Field(
        default=30, ge=1, le=3650, description="Days face snapshots are kept before the purge deletes them"
    )
    uncited_media_grace_hours: float = Field(
        default=24.0,
        ge=1.0,
        le=720.0,
        description="Hours after receipt that an upload no event cites is kept before the purge deletes it",
    )
    linger_debounce_s: float = Field(
        default=60.0,
        ge=0.0,
        le=3600.0,
        description="Same-direction passes of a pupil closer than this are one pass (lingering in the doorway)",
    )
    unknown_alert_debounce_s: float = Field(
        default=60.0,
        ge=0.0,
        le=3600.0,
        description="Unknown faces at one door closer than this are one staff alert (the dashboard lists each)",
    )
    session_hours: float = Field(default=12.0, gt=0.0, le=720.0, description="Lifetime of a login session")
    login_max_failures: int = Field(
        default=10, ge=1, le=1000, description="Failed logins of one user name before it is locked for a while"
    )
    login_lockout_minutes: float = Field(
        default=15.0, gt=0.0, le=1440.0, description="Window of counted failures and length of the lock"
    )
    purge_interval_s: float = Field(
        default=3600.0, ge=0.0, le=86_400.0, description="Seconds between in-process retention purges (0 = off)"
    )


class Settings(StrictModel):
    """Everything the backend needs to run; unknown keys are an error."""

    database: Path = Field(default=Path("var/kuzet.sqlite"), description="SQLite database file")
    media_dir: Path = Field(default=Path("var/media"), description="Folder of attachment files, by SHA-256")
    max_upload_bytes: int = Field(
        default=5_000_000, ge=1_000, le=200_000_000, description="Largest accepted attachment, bytes"
    )
    admin_token: str = Field(
        min_length=16, max_length=200, description="Bearer token for device registration (not a placeholder)"
    )
    host: str = Field(default="127.0.0.1", min_length=1, max_length=64, description="Bind address of kuzet serve")
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port of kuzet serve")
    busy_timeout_ms: int = Field(default=10_000, ge=100, le=120_000, description="SQLite lock wait")
    notifications: NotificationSettings = Field(
        default_factory=NotificationSettings, description="Outbox channels, retry and back-off (kuzet notify)"
    )
    template_key: str = Field(
        min_length=40,
        max_length=64,
        description="Base64 of 32 random bytes; encrypts face templates at rest (`openssl rand -base64 32`)",
    )
    school: SchoolSettings = Field(default_factory=SchoolSettings, description="School service settings")

    @field_validator("admin_token")
    @classmethod
    def _not_placeholder(cls, value: str) -> str:
        if value.strip().lower() in PLACEHOLDER_SECRETS or "change" in value.lower():
            raise ValueError("admin_token is a placeholder; set a random value (e.g. `openssl rand -hex 24`)")
        return value

    @field_validator("template_key")
    @classmethod
    def _real_key(cls, value: str) -> str:
        if value.strip().lower() in PLACEHOLDER_SECRETS or "change" in value.lower():
            raise ValueError("template_key is a placeholder; set `openssl rand -base64 32`")
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("template_key is not base64; set `openssl rand -base64 32`") from exc
        if len(raw) != 32 or len(set(raw)) < 8:
            raise ValueError("template_key must be 32 random bytes in base64 (`openssl rand -base64 32`)")
        return value

    @property
    def template_key_bytes(self) -> bytes:
        """The 32-byte AES-GCM key of face templates."""
        return base64.b64decode(self.template_key)

    @field_validator("database", "media_dir")
    @classmethod
    def _relative_to_file(cls, value: Path, info: ValidationInfo) -> Path:
        base = (info.context or {}).get("base_dir") if info.context else None
        return value if value.is_absolute() or base is None else Path(base) / value
