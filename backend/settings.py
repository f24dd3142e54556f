"""Backend settings: one YAML file (``kuzet serve --config FILE``), validated once at start and passed down."""

from __future__ import annotations

import base64
import binascii
import itertools
import math
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator

from backend.broker.config import BrokerSettings
from backend.objects.config import MediaStoreSettings
from kuzet.config import StrictModel
from notifications.config import NotificationSettings

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "admin", "password", "placeholder"})
MIN_SECRET_BITS = 64.0
"""Least estimated entropy of a configured secret (the length times the per-character Shannon entropy)."""


def secret_weakness(value: str) -> str | None:
    """Why a configured text secret is weak (placeholder, repeated unit, ascending/descending run, low entropy), else
    None. A 24-byte ``openssl rand -hex`` or ``-base64`` value passes; ``passwordpassword`` does not."""
    text = value.strip()
    if text.lower() in PLACEHOLDER_SECRETS or "change" in text.lower():
        return "is a placeholder"
    for unit in range(1, len(text) // 2 + 1):
        if len(text) % unit == 0 and text[:unit] * (len(text) // unit) == text:
            return f"repeats {text[:unit]!r}"
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(text)]
    run = longest = 0
    for previous, step in zip([0, *steps], steps, strict=False):
        run = run + 1 if step in (1, -1) and step == previous else 1
        longest = max(longest, run)
    if longest >= 6:
        return "contains a run of consecutive characters"
    counts = Counter(text)
    bits = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values()) * len(text)
    if len(counts) < 10 or bits < MIN_SECRET_BITS:
        return f"has too little entropy ({bits:.0f} bits estimated, {MIN_SECRET_BITS:.0f} needed)"
    return None


def key_weakness(raw: bytes) -> str | None:
    """Why 32 key bytes are not random-looking (few distinct bytes, a repeated or arithmetic pattern), else None."""
    deltas = {(b - a) % 256 for a, b in itertools.pairwise(raw)}
    if len(set(raw)) < 20 or len(deltas) < 16:
        return "is patterned, not random bytes"
    return None


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
    login_client_max_failures: int = Field(
        default=30, ge=1, le=10_000, description="Failed logins from one client (any user name) before it waits"
    )
    login_account_max_failures: int = Field(
        default=100,
        ge=1,
        le=100_000,
        description="Failed logins of one account from all clients together before it waits (a distributed guess)",
    )
    token_max_failures: int = Field(
        default=30,
        ge=1,
        le=10_000,
        description="Wrong bearer tokens (admin or session) from one client before it waits",
    )


class LimitSettings(StrictModel):
    """Request limits checked before a body is read or parsed, and the bounds of event times."""

    json_max_bytes: int = Field(
        default=256_000, ge=1_000, le=50_000_000, description="Largest JSON body of a route without its own cap"
    )
    login_max_bytes: int = Field(default=4_000, ge=500, le=100_000, description="Largest body of a login request")
    events_max_bytes: int = Field(
        default=8_000_000, ge=10_000, le=200_000_000, description="Largest event batch posted by a device"
    )
    multipart_max_bytes: int = Field(
        default=30_000_000, ge=10_000, le=500_000_000, description="Largest multipart form (photo upload), bytes"
    )
    max_image_pixels: int = Field(
        default=40_000_000, ge=10_000, le=500_000_000, description="Largest image (width x height) decoded"
    )
    capture_past_days: float = Field(
        default=730.0, gt=0.0, le=3650.0, description="How old a captured_at may be at receipt (spooled offline)"
    )
    capture_future_s: float = Field(
        default=300.0, ge=0.0, le=86_400.0, description="How far captured_at may be ahead of the receipt clock"
    )
    trusted_origins: tuple[str, ...] = Field(
        default=(),
        max_length=20,
        description="Extra origins (scheme://host[:port]) allowed to send cookie requests besides the page's own",
    )
    secure_cookies: bool | None = Field(
        default=None, description="Session cookie Secure flag; None: on unless the server listens on loopback only"
    )


DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")


class DatabaseSettings(StrictModel):
    """Where every record lives: one SQLite file (the embedded default) or a PostgreSQL server.

    ``database: path/to/file.sqlite`` (the old form) still means ``url: sqlite:///path/to/file.sqlite``. The password
    of a ``postgresql://`` URL is never logged: :attr:`masked_url` (and ``str()``) hide it.
    """

    url: str = Field(
        default="sqlite:///var/kuzet.sqlite",
        min_length=10,
        max_length=1000,
        description="sqlite:///relative/or//absolute/path.sqlite, or postgresql://user:password@host:port/dbname",
    )
    pool_min: int = Field(default=1, ge=0, le=100, description="PostgreSQL connections kept open per process")
    pool_max: int = Field(default=20, ge=1, le=500, description="Most PostgreSQL connections per process")
    connect_timeout_s: float = Field(
        default=10.0, gt=0.0, le=300.0, description="Seconds to wait for a (pooled) PostgreSQL connection"
    )
    event_retention_days: int = Field(
        default=0,
        ge=0,
        le=36_500,
        description="Events captured more than this many days ago are purged (PostgreSQL: whole day partitions)",
    )

    @field_validator("url")
    @classmethod
    def _known_url(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in DATABASE_SCHEMES:
            raise ValueError("must start with sqlite:/// or postgresql:// (the value is not shown)")
        if scheme == "sqlite":
            if not rest.startswith("/") or len(rest) < 2:
                raise ValueError("a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path")
            return value
        parsed = urlsplit(value)
        try:
            port = parsed.port
        except ValueError as exc:
            raise ValueError("the PostgreSQL URL has an invalid port (the value is not shown)") from exc
        if not parsed.hostname or not parsed.path.strip("/") or (port is not None and not 0 < port < 65536):
            raise ValueError("a PostgreSQL URL needs a host and a database: postgresql://user:password@host:port/db")
        return value

    @property
    def engine(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return "sqlite" if self.url.startswith("sqlite:") else "postgresql"

    @property
    def path(self) -> Path:
        """The SQLite file (a PostgreSQL database has none: ValueError)."""
        if self.engine != "sqlite":
            raise ValueError("database.url is a PostgreSQL URL; it has no file path")
        return Path(self.url.removeprefix("sqlite:///"))

    @property
    def masked_url(self) -> str:
        """The URL with its password replaced by ``***`` (what logs and messages show)."""
        return mask_url(self.url)

    def __fspath__(self) -> str:
        """The SQLite file, so ``sqlite3.connect(settings.database)`` and ``Path(settings.database)`` keep working."""
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path) if self.engine == "sqlite" else self.masked_url


def mask_url(url: str) -> str:
    """``scheme://user:***@host/...``: the password of a URL hidden."""
    parsed = urlsplit(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.rsplit("@", 1)[1]
    return urlunsplit(parsed._replace(netloc=f"{parsed.username or ''}:***@{netloc}"))


def _database_of(value: object, info: ValidationInfo) -> object:
    """Accept the old ``database: <path>`` form and a bare URL; resolve a relative SQLite path against the config
    file's folder."""
    if isinstance(value, Path) or (isinstance(value, str) and "://" not in value):
        value = {"url": f"sqlite:///{value}"}
    elif isinstance(value, str):  # a bare URL
        value = {"url": value}
    base = (info.context or {}).get("base_dir") if info.context else None
    if isinstance(value, dict) and isinstance(value.get("url"), str) and base is not None:
        url = value["url"]
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            value = {**value, "url": f"sqlite:///{Path(base) / url.removeprefix('sqlite:///')}"}
    return value


class TrafficRetentionSettings(StrictModel):
    """How long each class of traffic data is kept (by the backend's receipt time), enforced by the retention purge.

    Evidence goes with its violation (the record, its files, hand-off and outbox message; the review audit stays
    with plate corrections blanked). Plate reads: watchlist alerts (with their crops) are deleted and the plate
    text is removed from vehicle events. Vehicle events: deleted with their attachments.
    """

    evidence_days: int = Field(
        default=90, ge=1, le=3650, description="Days a queued or rejected violation and its evidence are kept"
    )
    confirmed_evidence_days: int = Field(
        default=1825,
        ge=30,
        le=7300,
        description="Days a confirmed violation (handed off to the police) and its evidence are kept",
    )
    plate_reads_days: int = Field(
        default=30, ge=1, le=3650, description="Days watchlist alerts and vehicle events' plate text are kept"
    )
    vehicle_events_days: int = Field(default=365, ge=1, le=3650, description="Days vehicle track events are kept")

    @model_validator(mode="after")
    def _confirmed_not_shorter(self) -> TrafficRetentionSettings:
        if self.confirmed_evidence_days < self.evidence_days:
            raise ValueError("confirmed_evidence_days must be at least evidence_days (confirmed ones are kept longer)")
        return self


class Settings(StrictModel):
    """Everything the backend needs to run; unknown keys are an error."""

    database: DatabaseSettings = Field(
        default_factory=DatabaseSettings, description="Database engine and URL (a bare path means a SQLite file)"
    )
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
    limits: LimitSettings = Field(default_factory=LimitSettings, description="Request size, image and time limits")
    media: MediaStoreSettings = Field(
        default_factory=MediaStoreSettings, description="Where attachment bytes live (media_dir or s3://)"
    )
    broker: BrokerSettings = Field(default_factory=BrokerSettings, description="NATS JetStream; off by default")
    traffic_retention: TrafficRetentionSettings = Field(
        default_factory=TrafficRetentionSettings, description="Retention of traffic evidence, plate reads, vehicles"
    )

    @field_validator("admin_token")
    @classmethod
    def _not_placeholder(cls, value: str) -> str:
        weakness = secret_weakness(value)
        if weakness is not None:
            raise ValueError(f"admin_token {weakness}; set a random value (e.g. `openssl rand -hex 24`)")
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
        weakness = key_weakness(raw)
        if weakness is not None:
            raise ValueError(f"template_key {weakness}; set `openssl rand -base64 32`")
        return value

    @property
    def cookies_secure(self) -> bool:
        """Whether the session cookie carries ``Secure``: configured, else on unless bound to loopback only."""
        if self.limits.secure_cookies is not None:
            return self.limits.secure_cookies
        return self.host not in ("127.0.0.1", "localhost", "::1")

    @property
    def template_key_bytes(self) -> bytes:
        """The 32-byte AES-GCM key of face templates."""
        return base64.b64decode(self.template_key)

    @field_validator("database", mode="before")
    @classmethod
    def _database_form(cls, value: object, info: ValidationInfo) -> object:
        return _database_of(value, info)

    @field_validator("media_dir")
    @classmethod
    def _relative_to_file(cls, value: Path, info: ValidationInfo) -> Path:
        base = (info.context or {}).get("base_dir") if info.context else None
        return value if value.is_absolute() or base is None else Path(base) / value
