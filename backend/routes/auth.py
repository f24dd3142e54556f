"""Login and logout of people (school admins, staff, guardians): a session token for the API, a cookie for pages."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from backend.db import transaction
from backend.deps import DbDep, SettingsDep
from backend.services.auth import SESSION_COOKIE, PrincipalDep, login

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Credentials(BaseModel):
    """A user name and password."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, description="User name")
    password: str = Field(min_length=1, max_length=200, description="Password")


class SessionPublic(BaseModel):
    """Who is logged in; ``token`` only in the login reply."""

    role: str = Field(description="school_admin, staff, guardian or platform_admin")
    user_id: str = Field(description="User id")
    school_id: str | None = Field(description="School of the account")
    guardian_id: str | None = Field(description="Guardian (family) of a guardian account")
    token: str | None = Field(default=None, description="Session token: 'Authorization: Bearer <token>'")


@router.post("/login", response_model=SessionPublic)
def log_in(body: Credentials, db: DbDep, settings: SettingsDep, response: Response) -> SessionPublic:
    """Open a session (429 after repeated failures) and set the HttpOnly, SameSite=Strict session cookie."""
    token, who = login(db, (body.username, body.password), settings.school)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.school.session_hours * 3600),
        httponly=True,
        samesite="strict",
    )
    return SessionPublic(
        role=who.role, user_id=who.user_id, school_id=who.school_id, guardian_id=who.guardian_id, token=token
    )


@router.get("/me", response_model=SessionPublic)
def me(who: PrincipalDep) -> SessionPublic:
    """The caller's account."""
    return SessionPublic(role=who.role, user_id=who.user_id, school_id=who.school_id, guardian_id=who.guardian_id)


@router.post("/logout", status_code=204)
def log_out(who: PrincipalDep, db: DbDep, response: Response) -> Response:
    """End every session of the caller and clear the cookie."""
    with transaction(db) as conn:
        conn.execute("DELETE FROM sessions WHERE user_id = ?", (who.user_id,))
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE)
    return response
