"""Request dependencies: settings, a database connection per request, the calling device, the admin."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import sqlite_utils
from fastapi import Depends, Header, Request

from backend import security
from backend.db import connect
from backend.errors import Problem
from backend.settings import Settings
from backend.store import devices


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_db(settings: SettingsDep) -> Iterator[sqlite_utils.Database]:
    """One SQLite connection per request (cheap in WAL mode), closed afterwards."""
    db = connect(settings.database, settings.busy_timeout_ms)
    try:
        yield db
    finally:
        db.conn.close()


DbDep = Annotated[sqlite_utils.Database, Depends(get_db)]


@dataclass(frozen=True, slots=True)
class Device:
    """The authenticated camera making a request."""

    camera_id: str
    kind: str
    site: str


def current_device(
    db: DbDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Device:
    """Authenticate a device by its API key (``X-API-Key`` or ``Authorization: Bearer``)."""
    presented = x_api_key or security.bearer(authorization)
    if presented is None:
        raise Problem(401, "Missing API key", "send the device key in the X-API-Key header")
    parts = security.split_key(presented)
    stored = None if parts is None else devices.credentials(db.conn, parts[0])
    if stored is None or parts is None or not security.secret_matches(parts[1], stored.key_hash):
        raise Problem(401, "Unknown API key", "this key is not registered; register the device again")
    if stored.revoked_at is not None:
        raise Problem(
            401,
            "Revoked API key",
            f"the key of camera {stored.camera_id} was revoked at {stored.revoked_at}; issue a new one",
        )
    return Device(camera_id=stored.camera_id, kind=stored.kind, site=stored.site)


DeviceDep = Annotated[Device, Depends(current_device)]


def require_admin(settings: SettingsDep, authorization: Annotated[str | None, Header()] = None) -> None:
    """Only the holder of the admin token may register or revoke devices."""
    token = security.bearer(authorization)
    if token is None or not security.secret_matches(token, security.hash_secret(settings.admin_token)):
        raise Problem(401, "Admin token required", "send 'Authorization: Bearer <admin_token>' from the settings")


AdminDep = Annotated[None, Depends(require_admin)]
