"""Notification settings: channel endpoints, retry/back-off and lease of the outbox worker.

A section of the backend settings (``notifications:`` in backend.yaml); every channel is optional, and the worker
only claims messages of the channels configured here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, HttpUrl, SecretStr, ValidationInfo, field_validator, model_validator

from kuzet.config import StrictModel, resolve_path
from notifications.templates import DEFAULT_TIMEZONE

PLACEHOLDERS = frozenset({"", "changeme", "change-me", "secret", "password", "placeholder", "token", "apikey"})


def _not_placeholder(value: SecretStr, what: str) -> SecretStr:
    plain = value.get_secret_value()
    stripped = plain.strip()
    if stripped.lower() in PLACEHOLDERS or "change" in plain.lower() or stripped[:1] + stripped[-1:] == "<>":
        raise ValueError(f"{what} is a placeholder; set the real value")
    return value


class SmtpConfig(StrictModel):
    """E-mail through an SMTP relay."""

    host: str = Field(min_length=1, max_length=253, description="SMTP server host name or address")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP server port")
    sender: str = Field(min_length=3, max_length=254, description="From address, e.g. kuzet@school.kz")
    starttls: bool = Field(default=True, description="Upgrade the connection with STARTTLS before sending")
    username: str | None = Field(default=None, max_length=254, description="Login user; None: no AUTH")
    password: SecretStr | None = Field(default=None, max_length=500, description="Login password (with username)")
    timeout_s: float = Field(default=10.0, gt=0.0, le=120.0, description="Connect and command timeout")

    _password = field_validator("password")(lambda v: None if v is None else _not_placeholder(v, "smtp password"))


class TelegramConfig(StrictModel):
    """Telegram Bot API (``POST {base_url}/bot{token}/sendMessage``)."""

    base_url: HttpUrl = Field(default=HttpUrl("https://api.telegram.org"), description="Bot API base URL")
    token: SecretStr = Field(min_length=10, max_length=200, description="Bot token from @BotFather")
    timeout_s: float = Field(default=10.0, gt=0.0, le=120.0, description="HTTP timeout per request")

    _token = field_validator("token")(lambda v: _not_placeholder(v, "telegram token"))


class SmsConfig(StrictModel):
    """An SMS gateway over HTTP: JSON ``{to, text, sender, client_ref}`` POSTed with an API key header."""

    url: HttpUrl = Field(description="Send endpoint of the gateway, e.g. https://sms.example.kz/api/v1/send")
    api_key: SecretStr = Field(min_length=8, max_length=500, description="Gateway API key, sent as X-API-Key")
    sender: str = Field(default="Kuzet", min_length=1, max_length=11, description="Alphanumeric sender id")
    timeout_s: float = Field(default=10.0, gt=0.0, le=120.0, description="HTTP timeout per request")

    _key = field_validator("api_key")(lambda v: _not_placeholder(v, "sms api_key"))


class PoliceWebhookConfig(StrictModel):
    """Signed HTTP webhook to the police system for confirmed violations."""

    url: HttpUrl = Field(description="Receiver URL of the police system")
    signing: Literal["hmac-sha256", "ed25519"] = Field(
        default="hmac-sha256", description="Signature scheme of X-Kuzet-Signature"
    )
    secret: SecretStr | None = Field(
        default=None, min_length=32, max_length=500, description="Shared HMAC secret (signing: hmac-sha256)"
    )
    private_key: Path | None = Field(
        default=None, description="PEM Ed25519 private key file (signing: ed25519); relative to the config file"
    )
    timeout_s: float = Field(default=10.0, gt=0.0, le=120.0, description="HTTP timeout per request")

    @field_validator("private_key")
    @classmethod
    def _resolve(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else resolve_path(value, info)

    @model_validator(mode="after")
    def _key_for_scheme(self) -> PoliceWebhookConfig:
        if self.signing == "hmac-sha256":
            if self.secret is None:
                raise ValueError("secret is required for signing hmac-sha256")
            _not_placeholder(self.secret, "police webhook secret")
        elif self.private_key is None:
            raise ValueError("private_key is required for signing ed25519")
        return self


class WorkerConfig(StrictModel):
    """How the outbox worker claims, retries and gives up."""

    batch_size: int = Field(default=50, ge=1, le=1000, description="Rows claimed per round")
    concurrency: int = Field(default=8, ge=1, le=64, description="Messages sent in parallel (threads)")
    poll_interval_s: float = Field(default=0.2, gt=0.0, le=60.0, description="Wait when nothing is due")
    lease_s: float = Field(
        default=60.0, ge=1.0, le=3600.0, description="A claimed row is due again after this (crashed worker)"
    )
    max_attempts: int = Field(default=8, ge=1, le=100, description="Dead-letter after this many failed attempts")
    backoff_initial_s: float = Field(default=2.0, gt=0.0, le=3600.0, description="Delay after the first failure")
    backoff_max_s: float = Field(default=600.0, gt=0.0, le=86_400.0, description="Cap of the retry delay")
    backoff_jitter: float = Field(
        default=0.2, ge=0.0, le=1.0, description="Relative random spread of each delay (0.2 = +/-20%)"
    )
    sent_retention_days: float = Field(
        default=30.0,
        ge=0.0,
        le=3650.0,
        description="Sent messages (and their dedupe keys) older than this are purged by the worker; 0 keeps them",
    )


class NotificationSettings(StrictModel):
    """The ``notifications`` section of the backend settings."""

    timezone: str = Field(
        default=DEFAULT_TIMEZONE, min_length=1, max_length=64, description="IANA timezone of message times"
    )
    smtp: SmtpConfig | None = Field(default=None, description="E-mail channel; None: not configured")
    telegram: TelegramConfig | None = Field(default=None, description="Telegram channel; None: not configured")
    sms: SmsConfig | None = Field(default=None, description="SMS channel; None: not configured")
    police: PoliceWebhookConfig | None = Field(default=None, description="Police webhook; None: not configured")
    worker: WorkerConfig = Field(default_factory=WorkerConfig, description="Retry, back-off and lease")
    run_in_backend: bool = Field(
        default=False, description="Also run the worker inside `kuzet serve` (else run `kuzet notify`)"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (use an IANA name like Asia/Almaty)") from exc
        return value
