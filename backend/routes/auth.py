"""The one login and logout of every role (staff, school admins, guardians, operators): a session token for the API,
the ``kuzet_session`` cookie for pages. ``/api/v1/operators/login`` is an operator-only alias of this login."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from backend.db import transaction
from backend.deps import ClientDep, DbDep, PrincipalDep, SettingsDep
from backend.services.auth import SESSION_COOKIE, Principal, login, logout
from backend.settings import Settings

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Credentials(BaseModel):
    """A user name and password."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, description="User name")
    password: str = Field(min_length=1, max_length=200, description="Password")


class SessionPublic(BaseModel):
    """Who is logged in; ``token`` only in the login reply."""

    role: str = Field(description="school_admin, staff, guardian, operator or platform_admin")
    user_id: str = Field(description="User id")
    school_id: str | None = Field(description="School of the account")
    guardian_id: str | None = Field(description="Guardian (family) of a guardian account")
    district: str | None = Field(default=None, description="Traffic district of an operator account")
    token: str | None = Field(default=None, description="Session token: 'Authorization: Bearer <token>'")


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """The one session cookie: HttpOnly, SameSite=Strict, Secure unless served on loopback, as long as the session."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.school.session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=settings.cookies_secure,
    )


def _public(who: Principal, token: str | None = None) -> SessionPublic:
    return SessionPublic(
        role=who.role,
        user_id=who.user_id,
        school_id=who.school_id,
        guardian_id=who.guardian_id,
        district=who.district,
        token=token,
    )


@router.post("/login", response_model=SessionPublic)
def log_in(body: Credentials, db: DbDep, settings: SettingsDep, response: Response, client: ClientDep) -> SessionPublic:
    """Open a session of any role (429 after repeated failures) and set the session cookie."""
    token, who = login(db, (body.username, body.password), settings.school, client=client)
    set_session_cookie(response, token, settings)
    return _public(who, token)


@router.get("/me", response_model=SessionPublic)
def me(who: PrincipalDep) -> SessionPublic:
    """The caller's account."""
    return _public(who)


@router.post("/logout", status_code=204)
def log_out(who: PrincipalDep, db: DbDep, response: Response) -> Response:
    """End every session of the caller and clear the cookie."""
    with transaction(db) as conn:
        logout(conn, who.user_id)
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
    return response
