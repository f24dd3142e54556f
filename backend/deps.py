"""Request dependencies: settings, a database connection per request, the calling device, the admin token, and
the person calling (session or admin token) with the role checks routes declare (``StaffOf``, ``OperatorDep``, ...).

Dependencies answer HTTP problems themselves (401 when nobody is logged in, 403 for a role or school that may not);
the login logic behind them is ``backend.services.auth``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

import sqlite_utils
from fastapi import Cookie, Depends, Header, Request

from backend import security
from backend.db import connect
from backend.errors import Problem
from backend.services.auth import Principal, Role, is_operator, principal_of_token
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


def presented_token(authorization: str | None, cookie: str | None) -> str | None:
    """The session token a request presents: the Bearer header first, else the session cookie."""
    return security.bearer(authorization) or cookie or None


def current_principal(
    db: DbDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
    kuzet_session: Annotated[str | None, Cookie()] = None,
) -> Principal:
    """Authenticate a person by session token (Bearer or cookie) or the platform admin token."""
    token = presented_token(authorization, kuzet_session)
    if not token:
        raise Problem(401, "Login required", "log in at /login or send 'Authorization: Bearer <session token>'")
    principal = principal_of_token(db.conn, token, settings.admin_token)
    if principal is None:
        raise Problem(401, "Session expired", "the session is unknown or expired; log in again")
    return principal


def optional_principal(
    db: DbDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
    kuzet_session: Annotated[str | None, Cookie()] = None,
) -> Principal | None:
    """The logged-in person, or None (pages then send the browser to the login form instead of a 401)."""
    token = presented_token(authorization, kuzet_session)
    return None if not token else principal_of_token(db.conn, token, settings.admin_token)


PrincipalDep = Annotated[Principal, Depends(current_principal)]
MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


def school_role(*roles: Role) -> Callable[[str, Principal], Principal]:
    """A dependency: the caller has one of ``roles`` in the school of the ``school_id`` path parameter."""

    def check(school_id: str, principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Problem(403, "Not allowed", f"role {principal.role} may not do this; it needs one of {list(roles)}")
        if principal.role != "platform_admin" and principal.school_id != school_id:
            raise Problem(403, "Other school", "this account belongs to another school")
        return principal

    return check


def platform_admin(principal: PrincipalDep) -> Principal:
    """Only the platform admin (settings.admin_token)."""
    if principal.role != "platform_admin":
        raise Problem(403, "Not allowed", "only the platform admin token may do this")
    return principal


def guardian_only(principal: PrincipalDep) -> Principal:
    """Only a logged-in guardian."""
    if principal.role != "guardian" or principal.guardian_id is None:
        raise Problem(403, "Not allowed", "only a guardian account may open the parents' view")
    return principal


def operator_only(principal: PrincipalDep) -> Principal:
    """Only a logged-in operator (of a district)."""
    if not is_operator(principal):
        raise Problem(403, "Not allowed", "only an operator account may review traffic violations")
    return principal


AdminOf = Annotated[Principal, Depends(school_role("school_admin"))]
StaffOf = Annotated[Principal, Depends(school_role("school_admin", "staff"))]
BootstrapOf = Annotated[Principal, Depends(school_role("platform_admin", "school_admin"))]
MemberOf = Annotated[Principal, Depends(school_role("school_admin", "staff", "guardian"))]
PlatformAdmin = Annotated[Principal, Depends(platform_admin)]
GuardianDep = Annotated[Principal, Depends(guardian_only)]
OperatorDep = Annotated[Principal, Depends(operator_only)]
