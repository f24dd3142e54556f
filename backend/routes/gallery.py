"""Face gallery sync for school door devices: only the changes since the version the device holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.deps import DbDep, DeviceDep, SettingsDep
from backend.errors import Problem
from backend.services.auth import audit_device
from backend.services.privacy import gallery_delta
from kuzet.contracts import GalleryDelta

router = APIRouter(tags=["gallery"])
Since = Annotated[int, Query(ge=0, description="Gallery version the device holds (0 = none)")]


@router.get("/api/v1/gallery", response_model=GalleryDelta)
def pull(db: DbDep, device: DeviceDep, settings: SettingsDep, since: Since = 0) -> GalleryDelta:
    """The device's school gallery changes after ``since`` (consented pupils only)."""
    if device.kind != "school":
        raise Problem(403, "Not a school camera", f"{device.camera_id} is a {device.kind} camera; it has no gallery")
    delta = gallery_delta(db.conn, settings.template_key_bytes, device.site, since)
    if delta.added:  # templates of children left the server: audited (an empty poll is not)
        subject = f"templates:{len(delta.added)} version:{delta.from_version}->{delta.to_version}"
        audit_device(db.conn, device.camera_id, device.site, "pull_gallery", subject)
    return delta


@router.get("/api/v1/schools/{school_id}/gallery", response_model=GalleryDelta)
def pull_school(school_id: str, db: DbDep, device: DeviceDep, settings: SettingsDep, since: Since = 0) -> GalleryDelta:
    """The same, addressed by school (what ``edge.school.sync`` asks); only that school's own door cameras."""
    if device.kind != "school" or device.site != school_id:
        raise Problem(403, "Other school", f"{device.camera_id} is not a door camera of {school_id}")
    return pull(db, device, settings, since)
