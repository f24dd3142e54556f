"""Shared HTTP plumbing of the Telegram, SMS and webhook channels: one POST, failures classified."""

from __future__ import annotations

import httpx

from notifications.channels.base import PermanentFailure, TemporaryFailure

# Statuses worth retrying besides 5xx: request timeout, too early, too many requests.
RETRYABLE_4XX = frozenset({408, 425, 429})


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the receiver asked us to wait: ``Retry-After`` header, or Telegram's ``parameters.retry_after``."""
    value = response.headers.get("Retry-After")
    if value is None:
        try:
            body = response.json()
        except ValueError:
            return None
        parameters = body.get("parameters") if isinstance(body, dict) else None
        value = parameters.get("retry_after") if isinstance(parameters, dict) else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def post(
    client: httpx.Client,
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
    what: str,
) -> httpx.Response:
    """POST ``content``; returns a 2xx response.

    Raises:
        TemporaryFailure: connection error, timeout, 5xx, 408/425/429.
        PermanentFailure: any other non-2xx status (the body's first 200 characters in the reason).
    """
    try:
        response = client.post(url, content=content, headers=headers)
    except httpx.TimeoutException as exc:
        raise TemporaryFailure(f"{what}: timeout ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise TemporaryFailure(f"{what}: cannot connect ({type(exc).__name__}: {exc})") from exc
    if response.is_success:
        return response
    detail = response.text[:200].replace("\n", " ")
    reason = f"{what}: HTTP {response.status_code} {detail}".rstrip()
    if response.status_code >= 500 or response.status_code in RETRYABLE_4XX:
        raise TemporaryFailure(reason, retry_after(response))
    raise PermanentFailure(reason)
