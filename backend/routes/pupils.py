"""Pupils: records, consent, face enrolment (templates only), thumbnail and deletion."""

from __future__ import annotations

import sqlite3
from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from backend.db import transaction
from backend.deps import AdminOf, DbDep, SettingsDep, StaffOf
from backend.routes.media import JPEG_RESPONSES
from backend.services import privacy, records
from backend.services.auth import audit
from backend.services.enrolment import FaceKit
from backend.services.errors import BadInputError, ConflictError, TooLargeError
from backend.services.media import MediaVault
from backend.services.records import found, public_id, pupil_of_school
from backend.store import faces, schools
from backend.store.schools import Pupil
from backend.text import Name

router = APIRouter(prefix="/api/v1/schools/{school_id}/pupils", tags=["pupils"])
MAX_PHOTOS = 10


class PupilCreate(BaseModel):
    """A pupil."""

    model_config = ConfigDict(extra="forbid")

    pupil_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Id")
    name: Name = Field(min_length=1, max_length=200, description="Name as messages show it")
    class_id: str | None = Field(default=None, max_length=64, description="Class")


class PupilPublic(PupilCreate):
    """A pupil with consent and enrolment state."""

    consent: bool = Field(description="Guardian consent to face enrolment on record")
    templates: int = Field(description="Face templates enrolled")


class ConsentBody(BaseModel):
    """Consent to face enrolment given (or withdrawn) by a guardian."""

    model_config = ConfigDict(extra="forbid")

    granted: bool = Field(description="True: consent given; False: withdrawn (deletes the templates)")
    given_by: str = Field(min_length=1, max_length=200, description="Guardian who gave or withdrew it")


class PhotoResult(BaseModel):
    """Verdict on one photo."""

    filename: str = Field(description="Uploaded file name")
    accepted: bool = Field(description="Whether a template was made from it")
    message: str = Field(description="Why not, or 'face enrolled'")


class EnrolmentPublic(BaseModel):
    """Enrolment reply."""

    pupil_id: str = Field(description="Pupil")
    templates: int = Field(description="Templates now enrolled")
    photos: list[PhotoResult] = Field(description="One verdict per photo")


def get_face_kit(request: Request) -> FaceKit:
    """The app's shared face models."""
    kit: FaceKit = request.app.state.face_kit
    return kit


def _public(conn: sqlite3.Connection, school_id: str, pupil_id: str) -> PupilPublic:
    """The pupil this school calls (or stores as) ``pupil_id``, in the school's own ids."""
    pupil = pupil_of_school(conn, school_id, pupil_id)
    consent = privacy.has_consent(conn, pupil.pupil_id)
    count = faces.template_count(conn, pupil.pupil_id)
    class_id = None if pupil.class_id is None else public_id(pupil.class_id)
    return PupilPublic(
        pupil_id=public_id(pupil.pupil_id), name=pupil.name, class_id=class_id, consent=consent, templates=count
    )


@router.post("", status_code=201, response_model=PupilPublic)
def create_pupil(school_id: str, body: PupilCreate, db: DbDep, _: AdminOf) -> PupilPublic:
    """Create a pupil (no consent yet, so no face can be enrolled)."""
    with transaction(db) as conn:
        key = records.create_pupil(conn, Pupil(body.pupil_id, body.name, body.class_id, school_id))
    return _public(db.conn, school_id, key)


@router.get("", response_model=list[PupilPublic])
def list_pupils(school_id: str, db: DbDep, who: StaffOf) -> list[PupilPublic]:
    """Pupils of the school (audited)."""
    pupils = [_public(db.conn, school_id, p) for p in schools.pupil_ids(db.conn, school_id)]
    audit(db.conn, who, school_id, "view_pupils", f"pupils:{len(pupils)}")
    return pupils


@router.get("/{pupil_id}", response_model=PupilPublic)
def get_pupil(school_id: str, pupil_id: str, db: DbDep, who: StaffOf) -> PupilPublic:
    """One pupil (audited once found: a refused or missing pupil writes no row)."""
    pupil = _public(db.conn, school_id, pupil_id)
    audit(db.conn, who, school_id, "view_pupil", f"pupil:{pupil_id}")
    return pupil


@router.delete("/{pupil_id}", status_code=204)
def delete_pupil(school_id: str, pupil_id: str, db: DbDep, settings: SettingsDep, who: AdminOf) -> Response:
    """Delete a pupil with their templates, thumbnail, passes and snapshots."""
    with transaction(db) as conn:
        key = pupil_of_school(conn, school_id, pupil_id).pupil_id
        privacy.delete_pupil(conn, MediaVault.of(settings), key)
        audit(conn, who, school_id, "delete_pupil", f"pupil:{pupil_id}")
    return Response(status_code=204)


@router.put("/{pupil_id}/consent", response_model=PupilPublic)
def set_consent(school_id: str, pupil_id: str, body: ConsentBody, db: DbDep, who: AdminOf) -> PupilPublic:
    """Record consent; withdrawing it deletes the templates and removes the pupil from the door gallery."""
    with transaction(db) as conn:
        key = pupil_of_school(conn, school_id, pupil_id).pupil_id
        privacy.set_consent(conn, key, body.granted, body.given_by, who.user_id)
        audit(conn, who, school_id, "consent_granted" if body.granted else "consent_withdrawn", f"pupil:{pupil_id}")
    return _public(db.conn, school_id, pupil_id)


@router.post("/{pupil_id}/photos", response_model=EnrolmentPublic)
def enrol(
    school_id: str,
    pupil_id: str,
    photos: Annotated[list[UploadFile], File(description="1-10 photos of the pupil alone, facing the camera")],
    db: DbDep,
    settings: SettingsDep,
    who: AdminOf,
    kit: Annotated[FaceKit, Depends(get_face_kit)],
) -> EnrolmentPublic:
    """Enrol a consented pupil's face from photos; each refused photo says why. Photos are not stored."""
    key = pupil_of_school(db.conn, school_id, pupil_id).pupil_id
    if not privacy.has_consent(db.conn, key):
        raise ConflictError("No consent", f"record guardian consent for {pupil_id} before enrolling a face")
    if not 1 <= len(photos) <= MAX_PHOTOS:
        raise BadInputError("Photo count", f"send 1 to {MAX_PHOTOS} photos, not {len(photos)}")
    data = [(p.filename or f"photo{i}", p.file.read(settings.max_upload_bytes + 1)) for i, p in enumerate(photos)]
    too_big = [name for name, raw in data if len(raw) > settings.max_upload_bytes]
    if too_big:
        raise TooLargeError("Photo too large", f"{too_big[0]} is over {settings.max_upload_bytes} bytes")
    result = kit.enrol(data)
    verdicts = [PhotoResult(filename=v.filename, accepted=v.accepted, message=v.message) for v in result.verdicts]
    if len(result.embeddings) == 0:
        raise BadInputError(
            "No usable photo",
            "; ".join(f"{v.filename}: {v.message}" for v in verdicts),
            photos=[v.model_dump() for v in verdicts],
        )
    with transaction(db) as conn:
        ids = privacy.store_templates(
            conn, settings.template_key_bytes, key, kit.model, result.embeddings, result.thumbnail_jpeg
        )
        audit(conn, who, school_id, "enrol_face", f"pupil:{pupil_id}")
    return EnrolmentPublic(pupil_id=pupil_id, templates=len(ids), photos=verdicts)


@router.get("/{pupil_id}/thumbnail", response_class=Response, responses=JPEG_RESPONSES)
def thumbnail(school_id: str, pupil_id: str, db: DbDep, settings: SettingsDep, who: StaffOf) -> Response:
    """The enrolment thumbnail (decrypted on the fly; audited)."""
    key = pupil_of_school(db.conn, school_id, pupil_id).pupil_id
    image = found(privacy.thumbnail(db.conn, settings.template_key_bytes, key), "thumbnail")
    audit(db.conn, who, school_id, "view_thumbnail", f"pupil:{pupil_id}")
    return Response(image, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
