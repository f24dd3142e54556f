"""Enrolment and administration pages of a school (its admins): classes, pupils with consent and faces, guardians,
door cameras with their health and a key shown once, the school's time zone; plus the photo check that shows each
photo's quality verdict before anything is saved."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from backend.db import transaction
from backend.deps import AdminOf, DbDep, SettingsDep, school_role
from backend.routes.dashboard import LangCookie, PagePrincipal, lang_of
from backend.routes.pupils import MAX_PHOTOS, PhotoResult, get_face_kit
from backend.services import admin_pages
from backend.services.auth import audit
from backend.services.enrolment import FaceKit
from backend.services.errors import BadInputError, TooLargeError
from backend.services.records import pupil_of_school
from backend.web.render import page

router = APIRouter(tags=["pages"])


@router.get("/schools/{school_id}/admin", response_class=HTMLResponse, include_in_schema=False)
def admin_page(
    request: Request, school_id: str, db: DbDep, settings: SettingsDep, maybe: PagePrincipal, lang: LangCookie = None
) -> Response:
    """Classes, pupils, guardians, door cameras and the school's time zone (school admins; audited)."""
    if maybe is None:
        return RedirectResponse("/login", status_code=303)
    who = school_role("school_admin")(school_id, maybe)
    view = admin_pages.school_view(db.conn, school_id, settings.school.timezone)
    audit(db.conn, who, school_id, "view_admin", f"pupils:{len(view.pupils)}")
    return page(request, "admin.html", lang_of(db, who, lang), who=who, view=view)


@router.get("/schools/{school_id}/admin/pupils/{pupil_id}", response_class=HTMLResponse, include_in_schema=False)
def enrol_page(
    request: Request, school_id: str, pupil_id: str, db: DbDep, maybe: PagePrincipal, lang: LangCookie = None
) -> Response:
    """One pupil's consent and face enrolment (school admins; audited)."""
    if maybe is None:
        return RedirectResponse("/login", status_code=303)
    who = school_role("school_admin")(school_id, maybe)
    view = admin_pages.pupil_view(db.conn, school_id, pupil_id)
    audit(db.conn, who, school_id, "view_pupil", f"pupil:{pupil_id}")
    return page(request, "enrol.html", lang_of(db, who, lang), who=who, school_id=school_id, p=view)


class PhotoCheck(BaseModel):
    """Verdicts on photos; nothing is stored."""

    photos: list[PhotoResult] = Field(description="One verdict per photo, in order")


@router.post("/api/v1/schools/{school_id}/pupils/{pupil_id}/photos/check", response_model=PhotoCheck)
def check_photos(
    school_id: str,
    pupil_id: str,
    photos: Annotated[list[UploadFile], File(description="1-10 photos to judge before enrolling")],
    db: DbDep,
    settings: SettingsDep,
    who: AdminOf,
    kit: Annotated[FaceKit, Depends(get_face_kit)],
) -> PhotoCheck:
    """The enrolment quality verdict of each photo (face found, size, sharpness, light...) without saving."""
    pupil_of_school(db.conn, school_id, pupil_id)
    if not 1 <= len(photos) <= MAX_PHOTOS:
        raise BadInputError("Photo count", f"send 1 to {MAX_PHOTOS} photos, not {len(photos)}")
    data = [(p.filename or f"photo{i}", p.file.read(settings.max_upload_bytes + 1)) for i, p in enumerate(photos)]
    if any(len(raw) > settings.max_upload_bytes for _, raw in data):
        raise TooLargeError("Photo too large", f"a photo is over {settings.max_upload_bytes} bytes")
    result = kit.enrol(data)
    return PhotoCheck(
        photos=[PhotoResult(filename=v.filename, accepted=v.accepted, message=v.message) for v in result.verdicts]
    )


class TimezoneBody(BaseModel):
    """A school's IANA time zone."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+){0,2}$",
                          description="IANA zone, e.g. Asia/Almaty")  # fmt: skip


@router.put("/api/v1/schools/{school_id}/timezone", response_model=TimezoneBody)
def set_timezone(school_id: str, body: TimezoneBody, db: DbDep, who: AdminOf) -> TimezoneBody:
    """Set the zone the school's pages show dates and times in (audited)."""
    with transaction(db) as conn:
        admin_pages.set_zone(conn, school_id, body.timezone)
        audit(conn, who, school_id, "set_timezone", body.timezone)
    return body
