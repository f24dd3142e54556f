"""The streams Kuzet keeps in JetStream, their subjects and their configs (names from ``BrokerSettings``)."""

from __future__ import annotations

from nats.js.api import RetentionPolicy, StorageType, StreamConfig

from backend.broker.config import BrokerSettings


def vehicles_stream(settings: BrokerSettings) -> str:
    """Name of the vehicle-event stream."""
    return f"{settings.stream_prefix}_VEHICLES"


def vehicles_subject(settings: BrokerSettings, camera_id: str) -> str:
    """Subject of one camera's vehicle batches (dots of a camera id become ``_``: a subject token has none)."""
    return f"{settings.subject_prefix}.vehicles.{camera_id.replace('.', '_')}"


def vehicles_config(settings: BrokerSettings) -> StreamConfig:
    """File storage, limits retention by age, duplicates dropped within the window."""
    return StreamConfig(
        name=vehicles_stream(settings),
        subjects=[f"{settings.subject_prefix}.vehicles.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=settings.vehicles_max_age_h * 3600.0,
        duplicate_window=settings.duplicate_window_s,
        num_replicas=settings.replicas,
    )


def outbox_stream(settings: BrokerSettings) -> str:
    """Name of the outbox fan-out stream."""
    return f"{settings.stream_prefix}_OUTBOX"


def outbox_subject(settings: BrokerSettings, channel: str) -> str:
    """Subject of one channel's committed outbox rows."""
    return f"{settings.subject_prefix}.outbox.{channel}"
