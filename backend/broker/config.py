"""The ``broker`` section of the backend settings: NATS JetStream, off unless ``url`` is set.

With a broker, ingest publishes vehicle events to a stream retained by age (``vehicles_max_age_h``), an aggregator
folds them into per-camera per-minute counts and speed statistics, and (``outbox_fanout``) committed outbox rows
are fanned out to the notification workers through a work-queue stream. Every publish carries ``Nats-Msg-Id`` (the
event id, or the outbox dedupe key) so the server drops a repeat inside ``duplicate_window_s``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator

from kuzet.config import StrictModel


class BrokerSettings(StrictModel):
    """Where the broker is and what goes through it."""

    url: str | None = Field(
        default=None,
        max_length=300,
        description="nats://host:port (user:password@ allowed, never logged); None: no broker",
    )
    stream_prefix: str = Field(
        default="KUZET", min_length=1, max_length=32, pattern=r"^[A-Z][A-Z0-9_]*$", description="Stream name prefix"
    )
    subject_prefix: str = Field(
        default="kuzet", min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$", description="Subject prefix"
    )
    vehicles_max_age_h: float = Field(
        default=48.0, gt=0.0, le=24.0 * 90, description="Hours the vehicle-event stream keeps a message"
    )
    duplicate_window_s: float = Field(
        default=600.0, ge=1.0, le=86_400.0, description="Seconds the server remembers a Nats-Msg-Id"
    )
    store_vehicle_events: bool = Field(
        default=True,
        description="Also store each vehicle event as a row; false: only the stream and the per-minute aggregates "
        "(repeats older than duplicate_window_s are then counted again)",
    )
    outbox_fanout: bool = Field(
        default=False, description="Workers take committed outbox rows from the broker instead of polling"
    )
    publish_timeout_s: float = Field(default=10.0, gt=0.0, le=120.0, description="Wait for a publish ack")
    aggregate_batch: int = Field(default=1000, ge=1, le=10_000, description="Vehicle events folded per commit")
    replicas: int = Field(default=1, ge=1, le=5, description="Stream replicas (3 on a 3-node cluster)")

    @field_validator("url")
    @classmethod
    def _nats_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("nats", "tls") or not parts.hostname:
            raise ValueError("url must be nats://host:port (or tls://host:port)")
        return value

    @property
    def safe_url(self) -> str:
        """``url`` without credentials, for logs."""
        if self.url is None:
            return "(none)"
        parts = urlsplit(self.url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}"
