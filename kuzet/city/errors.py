"""One line naming the setting when the broker or the object store of the settings cannot be used at start."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from notifications.jetstream import BrokerUnavailableError


def service_failure(settings: Any, exc: BaseException) -> str | None:
    """``setting 'broker.url' (...): ...`` or ``setting 'media.store' (...): ...`` for ``exc``; None for others.

    Neither line carries a secret: the broker URL without its credentials, the store without its keys.
    """
    if isinstance(exc, BrokerUnavailableError):
        return f"setting 'broker.url' ({settings.broker.safe_url}): the broker did not answer: {exc}"
    if isinstance(exc, ClientError | BotoCoreError):
        endpoint = settings.media.endpoint_url or "AWS"
        return f"setting 'media.store' ({settings.media.store} at {endpoint}): {str(exc).splitlines()[0]}"
    return None
