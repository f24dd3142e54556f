"""Operator review pages (server-rendered): the district's queue and the evidence viewer.

``/review/login`` is the one login page (``/login``); any other role that logs in there is sent to its own home.

The viewer shows the frames before / at / after the offence, the plate crop, and the track path drawn as an SVG
polyline over the frame at the offence (coordinates from the package's ``track.json``, frame size from
``scene.json``). The buttons call the JSON API in ``backend.routes.violations`` with the session cookie.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from backend.db import transaction
from backend.deps import DbDep, MaybePrincipal, SettingsDep
from backend.services import violations as vio
from backend.services.auth import is_operator
from backend.services.media import MediaVault
from backend.web.render import install_globals

router = APIRouter(prefix="/review", tags=["review"], include_in_schema=False)
WEB = Path(__file__).resolve().parent.parent / "web" / "templates"
TEMPLATES = install_globals(Jinja2Templates(directory=str(WEB / "review")))  # t(), the language switch (issue 17)
LOGIN = install_globals(Jinja2Templates(directory=str(WEB)))
LOGIN_PAGE = "/review/login"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    """The one login form, titled for operators (it keeps the operator page's button id)."""
    context = {"heading": "Violation review: operator login", "button_id": "login-button"}
    return LOGIN.TemplateResponse(request, "login.html", context)


@router.get("", response_class=HTMLResponse)
def queue_page(request: Request, db: DbDep, maybe: MaybePrincipal) -> Response:
    """The district's queue, oldest first, and the recent decisions (not an operator: to the login form)."""
    if maybe is None or not is_operator(maybe):
        return RedirectResponse(LOGIN_PAGE, status_code=303)
    operator = maybe
    queued = vio.list_violations(db.conn, operator, ("queued",))
    decided = vio.list_violations(db.conn, operator, ("confirmed", "rejected"), 50, newest_first=True)
    deliveries = {v.violation_id: vio.delivery(db.conn, v.violation_id) for v in decided if v.state == "confirmed"}
    context = {"operator": operator, "queued": queued, "decided": decided, "deliveries": deliveries}
    return TEMPLATES.TemplateResponse(request, "queue.html", context)


@router.get("/{violation_id}", response_class=HTMLResponse)
def violation_page(
    violation_id: str,
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    maybe: MaybePrincipal,
) -> Response:
    """The evidence viewer with the decision buttons (audited as a view)."""
    if maybe is None or not is_operator(maybe):
        return RedirectResponse(LOGIN_PAGE, status_code=303)
    operator = maybe
    with transaction(db) as conn:
        record = vio.get_violation(conn, operator, violation_id)
        vio.audit(conn, operator, "view", violation_id)
    files = vio.evidence_files(db.conn, violation_id)
    frames = [f for f in files if f.role.startswith("frame_") and f.media_type.startswith("image/")]
    context = {
        "v": record,
        "base": f"/api/v1/violations/{violation_id}",
        "frames": frames,
        "at_frame": next((f for f in frames if f.role.endswith("_at")), None),
        "crop": next((f for f in files if f.role == "plate_crop"), None),
        "overlay": vio.track_overlay(MediaVault.of(settings), files),
        "delivery": vio.delivery(db.conn, violation_id),
        "audit": vio.audit_trail(db.conn, violation_id),
    }
    return TEMPLATES.TemplateResponse(request, "violation.html", context)
