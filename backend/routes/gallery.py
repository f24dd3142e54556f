"""Face gallery sync for school door devices: only the changes since the version the device holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.deps import DbDep, DeviceDep, SettingsDep
from backend.errors import Problem
from backend.services.privacy import gallery_delta
from kuzet.contracts import GalleryDelta

router = APIRouter(prefix="/api/v1/gallery", tags=["gallery"])


@router.get("", response_model=GalleryDelta)
def pull(
    db: DbDep,
    device: DeviceDep,
    settings: SettingsDep,
    since: Annotated[int, Query(ge=0, description="Gallery version the device holds (0 = none)")] = 0,
) -> GalleryDelta:
    """The device's school gallery changes after ``since`` (consented pupils only)."""
    if device.kind != "school":
        raise Problem(403, "Not a school camera", f"{device.camera_id} is a {device.kind} camera; it has no gallery")
    return gallery_delta(db.conn, settings.template_key_bytes, device.site, since)
