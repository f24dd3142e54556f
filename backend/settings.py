"""Backend settings: one YAML file (``kuzet serve --config FILE``), validated once at start and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from notifications.config import NotificationSettings

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "admin", "password", "placeholder"})


class Settings(BaseModel):
    """Everything the backend needs to run; unknown keys are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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

    @field_validator("admin_token")
    @classmethod
    def _not_placeholder(cls, value: str) -> str:
        if value.strip().lower() in PLACEHOLDER_SECRETS or "change" in value.lower():
            raise ValueError("admin_token is a placeholder; set a random value (e.g. `openssl rand -hex 24`)")
        return value

    @field_validator("database", "media_dir")
    @classmethod
    def _relative_to_file(cls, value: Path, info: ValidationInfo) -> Path:
        base = (info.context or {}).get("base_dir") if info.context else None
        return value if value.is_absolute() or base is None else Path(base) / value
