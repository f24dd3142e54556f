"""Pages: login, the staff dashboard (live via short polling of the attendance API) and the parents' view."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from backend.deps import ClientDep, DbDep, SettingsDep, current_principal, guardian_only, school_role
from backend.errors import Problem
from backend.routes.parents import children, passes
from backend.services.auth import Principal, audit
from backend.services.dashboard import summary, today
from backend.services.errors import UnauthenticatedError
from backend.services.records import school_name

router = APIRouter(tags=["pages"], include_in_schema=False)
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "web" / "templates"))
POLL_SECONDS = 1


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


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    """The login form (it posts to the auth API, which sets the session cookie)."""
    return TEMPLATES.TemplateResponse(request, "login.html", {})


@router.get("/schools/{school_id}/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request, school_id: str, db: DbDep, settings: SettingsDep, maybe: PagePrincipal
) -> Response:
    """The staff dashboard of today (not logged in: to the login form)."""
    if maybe is None:
        return RedirectResponse("/login", status_code=303)
    who = school_role("school_admin", "staff")(school_id, maybe)
    name = school_name(db.conn, school_id)
    day = today(settings.school.timezone)
    audit(db.conn, who, school_id, "view_attendance", f"day:{day}", quiet_minutes=10)
    data = summary(db.conn, school_id, day, settings.school.timezone)
    return TEMPLATES.TemplateResponse(
        request, "dashboard.html", {"school_name": name, "data": data.model_dump(), "poll_seconds": POLL_SECONDS}
    )


@router.get("/parents", response_class=HTMLResponse)
def parents_page(request: Request, db: DbDep, settings: SettingsDep, maybe: PagePrincipal) -> Response:
    """A guardian's children and their recent entries and exits (not logged in: to the login form)."""
    if maybe is None:
        return RedirectResponse("/login", status_code=303)
    who = guardian_only(maybe)
    kids = [
        {"pupil_id": c.pupil_id, "name": c.name, "passes": passes(c.pupil_id, db, settings, who)}
        for c in children(db, who)
    ]
    return TEMPLATES.TemplateResponse(request, "parents.html", {"children": kids})
