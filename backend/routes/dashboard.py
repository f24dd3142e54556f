"""Pages of the school: login, the language switch, static files, the live staff board (Server-Sent Events), a
pupil's day with the evidence of each pass, and the parents' page."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Cookie, Depends, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from backend.db import connect
from backend.deps import ClientDep, DbDep, SettingsDep, current_principal, guardian_only, school_role
from backend.errors import Problem
from backend.routes.exports import DAY_PATTERN
from backend.routes.media import JPEG_RESPONSES, media_response
from backend.services import family, pages
from backend.services.auth import Principal, audit
from backend.services.errors import NotFoundError, UnauthenticatedError
from backend.services.media import MediaVault, school_media_type
from backend.settings import Settings
from backend.web.i18n import FOLDER
from backend.web.render import LANG_COOKIE, fragment, page

router = APIRouter(tags=["pages"], include_in_schema=False)
STATIC = FOLDER.parent / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
BOARD_CHECK_S = 0.5
LangCookie = Annotated[str | None, Cookie(alias=LANG_COOKIE)]


def page_principal(
    db: DbDep,
    settings: SettingsDep,
    client: ClientDep,
    authorization: Annotated[str | None, Header()] = None,
    kuzet_session: Annotated[str | None, Cookie()] = None,
) -> Principal | None:
    """The logged-in person, or None (pages then send the browser to the login form instead of a 401)."""
    try:
        return current_principal(db, settings, client, authorization, kuzet_session)
    except UnauthenticatedError:
        return None
    except Problem as exc:
        if exc.status_code == 401:
            return None
        raise


PagePrincipal = Annotated[Principal | None, Depends(page_principal)]


def lang_of(db: DbDep, who: Principal | None, cookie: str | None) -> str:
    """The page language of this request."""
    return pages.page_language(db.conn, None if who is None else who.user_id, cookie)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, db: DbDep, lang: LangCookie = None) -> Response:
    """The login form (it posts to the auth API, which sets the session cookie)."""
    return page(request, "login.html", lang_of(db, None, lang))


@router.get("/static/{name}")
def static(name: Annotated[str, PathParam(pattern=r"^[a-z0-9_-]+\.(css|js|svg)$")]) -> Response:
    """The pages' one stylesheet and their scripts (scripts still need the page's nonce to run)."""
    path = STATIC / Path(name).name
    if not path.is_file():
        raise NotFoundError("No such file", f"/static/{name} does not exist")
    return Response(
        path.read_bytes(), media_type=STATIC_TYPES[path.suffix], headers={"Cache-Control": "public, max-age=300"}
    )


class LanguageBody(BaseModel):
    """A page language."""

    model_config = ConfigDict(extra="forbid")

    language: Literal["kk", "ru", "en"] = Field(description="Kazakh, Russian or English")


@router.post("/api/v1/me/language", status_code=204)
def set_language(body: LanguageBody, db: DbDep, who: PagePrincipal) -> Response:
    """Remember the page language: with the account when logged in, and in a cookie for the login page."""
    pages.remember_language(db.conn, None if who is None else who.user_id, body.language)
    response = Response(status_code=204)
    response.set_cookie(LANG_COOKIE, body.language, max_age=400 * 86400, samesite="strict", httponly=True)
    return response


@router.get("/schools/{school_id}/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request, school_id: str, db: DbDep, settings: SettingsDep, maybe: PagePrincipal, lang: LangCookie = None
) -> Response:
    """The staff board of today (not logged in: to the login form)."""
    if maybe is None:
        return RedirectResponse("/login", status_code=303)
    who = school_role("school_admin", "staff")(school_id, maybe)
    board = pages.board(db.conn, school_id, settings.school.timezone)
    audit(db.conn, who, school_id, "view_attendance", f"day:{board.data.day}", quiet_minutes=10)
    return page(request, "dashboard.html", lang_of(db, who, lang), who=who, board=board)


def _board_update(settings: Settings, school_id: str, lang: str, last: str | None) -> tuple[str, str | None]:
    """(fingerprint, the board fragment when it changed since ``last``)."""
    db = connect(settings.database, settings.busy_timeout_ms)
    try:
        mark = pages.fingerprint(db.conn, school_id, settings.school.timezone)
        if mark == last:  # the cheap check every BOARD_CHECK_S; the board is built only when it changed
            return mark, None
        board = pages.board(db.conn, school_id, settings.school.timezone)
        return mark, fragment("board_live.html", lang, board=board)
    finally:
        db.conn.close()


@router.get("/schools/{school_id}/dashboard/stream")
async def board_stream(
    request: Request,
    school_id: str,
    db: DbDep,
    settings: SettingsDep,
    maybe: PagePrincipal,
    lang: LangCookie = None,
    limit_s: Annotated[int, Query(ge=0, le=3600, description="Close after this long (the browser reconnects)")] = 600,
) -> Response:
    """The board as Server-Sent Events: one ``board`` event with the rendered board at once and at every change
    (checked every ``BOARD_CHECK_S`` on the server; the browser does not poll)."""
    if maybe is None:
        raise Problem(401, "Login required", "log in at /login")
    who = school_role("school_admin", "staff")(school_id, maybe)
    language = lang_of(db, who, lang)

    async def events() -> AsyncIterator[str]:
        yield "retry: 1000\n\n"
        last: str | None = None
        deadline = time.monotonic() + limit_s
        while True:
            last, html = await run_in_threadpool(_board_update, settings, school_id, language, last)
            if html is not None:
                yield f"event: board\ndata: {json.dumps(html)}\n\n"
            if time.monotonic() >= deadline or await request.is_disconnected():
                return
            await asyncio.sleep(BOARD_CHECK_S)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


Day = Annotated[str | None, Query(pattern=DAY_PATTERN, description="Local date; default today")]


@router.get("/schools/{school_id}/pupils/{pupil_id}", response_class=HTMLResponse)
def pupil_page(
    request: Request,
    school_id: str,
    pupil_id: str,
    db: DbDep,
    settings: SettingsDep,
    maybe: PagePrincipal,
    lang: LangCookie = None,
    day: Day = None,
) -> Response:
    """A pupil's passes of the day with the evidence of each (staff of the pupil's school only; audited)."""
    if maybe is None:
        return RedirectResponse("/login", status_code=303)
    who = school_role("school_admin", "staff")(school_id, maybe)
    pupil, day, passes = pages.pupil_day(db.conn, school_id, pupil_id, settings.school.timezone, day)
    audit(db.conn, who, school_id, "view_pupil_day", f"pupil:{pupil_id}")
    return page(request, "pupil.html", lang_of(db, who, lang), who=who, school_id=school_id, pupil=pupil,
                pupil_id=pupil_id, day=day, passes=passes)  # fmt: skip


@router.get("/schools/{school_id}/passes/{event_id}/frame", response_class=Response, responses=JPEG_RESPONSES)
def pass_frame(school_id: str, event_id: str, db: DbDep, settings: SettingsDep, maybe: PagePrincipal) -> Response:
    """The best frame of a pass, for staff of that school only, and only bytes its doors uploaded (else 404)."""
    if maybe is None:
        raise Problem(401, "Login required", "log in at /login")
    who = school_role("school_admin", "staff")(school_id, maybe)
    sha = family.pass_frame_sha(db.conn, school_id, event_id)
    media_type = school_media_type(db.conn, sha, school_id)
    data = MediaVault.of(settings).read(sha)
    if data is None:
        raise NotFoundError("Not found", "this pass has no frame (or the retention purge removed it)")
    audit(db.conn, who, school_id, "view_pass_frame", f"event:{event_id}")
    return media_response(data, media_type)


@router.get("/parents", response_class=HTMLResponse)
def parents_page(
    request: Request, db: DbDep, settings: SettingsDep, maybe: PagePrincipal, lang: LangCookie = None
) -> Response:
    """A guardian's children: today, the week, consent, preferences and the export (not logged in: to login)."""
    if maybe is None:
        return RedirectResponse("/login", status_code=303)
    who = guardian_only(maybe)
    view = family.family_view(db.conn, who, settings.school.timezone)
    return page(request, "parents.html", lang_of(db, who, lang), who=who, view=view)
