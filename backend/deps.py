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
from backend.services.auth import (
    Principal,
    Role,
    check_token_throttle,
    is_operator,
    principal_of_token,
    record_token_failure,
)
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


def client_address(request: Request) -> str:
    """The caller's network address (the unit of per-client throttling)."""
    return request.client.host if request.client is not None else "unknown"


ClientDep = Annotated[str, Depends(client_address)]


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


def require_admin(
    db: DbDep, settings: SettingsDep, client: ClientDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """Only the holder of the admin token may register or revoke devices (wrong tokens are throttled per client)."""
    token = security.bearer(authorization)
    if token is None:
        raise Problem(401, "Admin token required", "send 'Authorization: Bearer <admin_token>' from the settings")
    check_token_throttle(db, client, settings.school)
    if not security.secret_matches(token, security.hash_secret(settings.admin_token)):
        record_token_failure(db, client)
        raise Problem(401, "Admin token required", "send 'Authorization: Bearer <admin_token>' from the settings")


AdminDep = Annotated[None, Depends(require_admin)]


def current_principal(
    db: DbDep,
    settings: SettingsDep,
    client: ClientDep,
    authorization: Annotated[str | None, Header()] = None,
    kuzet_session: Annotated[str | None, Cookie()] = None,
) -> Principal:
    """Authenticate a person by session token (Bearer or cookie) or the platform admin token (Bearer only).

    Wrong Bearer tokens are counted per client (admin token guessing); a client over the limit gets 429 before its
    token is checked. Session cookies are 256-bit random and not counted (an expired cookie of a polling page must
    not lock a school's shared address out).
    """
    header = security.bearer(authorization)
    token = header or kuzet_session or None
    if not token:
        raise Problem(401, "Login required", "log in at /login or send 'Authorization: Bearer <session token>'")
    if header:
        check_token_throttle(db, client, settings.school)
    principal = principal_of_token(db.conn, token, settings.admin_token if header else None)
    if principal is None:
        if header:
            record_token_failure(db, client)
        raise Problem(401, "Session expired", "the session is unknown or expired; log in again")
    return principal


def optional_principal(
    db: DbDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
    kuzet_session: Annotated[str | None, Cookie()] = None,
) -> Principal | None:
    """The logged-in person, or None (pages then send the browser to the login form instead of a 401)."""
    header = security.bearer(authorization)
    token = header or kuzet_session or None
    return None if not token else principal_of_token(db.conn, token, settings.admin_token if header else None)


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
