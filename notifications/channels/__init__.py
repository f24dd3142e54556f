"""Delivery channels behind one interface (``Channel``): e-mail, Telegram, SMS gateway, police webhook."""

from __future__ import annotations

from notifications.channels.base import (
    Channel,
    DeliveryError,
    DeliveryReceipt,
    PermanentFailure,
    TemporaryFailure,
)
from notifications.config import NotificationSettings

__all__ = [
    "Channel",
    "DeliveryError",
    "DeliveryReceipt",
    "PermanentFailure",
    "TemporaryFailure",
    "build_channels",
]


def build_channels(settings: NotificationSettings) -> dict[str, Channel]:
    """One channel per configured section, keyed by the outbox ``channel`` value it delivers."""
    from notifications.channels.police_webhook import PoliceWebhookChannel
    from notifications.channels.sms_http import SmsHttpChannel
    from notifications.channels.smtp import SmtpChannel
    from notifications.channels.telegram import TelegramChannel

    channels: list[Channel] = []
    if settings.smtp is not None:
        channels.append(SmtpChannel(settings.smtp))
    if settings.telegram is not None:
        channels.append(TelegramChannel(settings.telegram))
    if settings.sms is not None:
        channels.append(SmsHttpChannel(settings.sms))
    if settings.police is not None:
        channels.append(PoliceWebhookChannel(settings.police))
    return {channel.name: channel for channel in channels}
