"""Batch event ingest from edge devices, idempotent by event UUID."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from backend.deps import DbDep, DeviceDep
from backend.services.ingest import IngestService
from kuzet.contracts import EventBatch, IngestResult

router = APIRouter(prefix="/api/v1/events", tags=["events"])


def get_ingest(request: Request) -> IngestService:
    """The ingest service the app was built with."""
    service: IngestService = request.app.state.services.ingest
    return service


@router.post("", response_model=IngestResult)
def ingest(
    batch: EventBatch, db: DbDep, device: DeviceDep, service: Annotated[IngestService, Depends(get_ingest)]
) -> IngestResult:
    """Store a batch; replaying it stores nothing twice and reports the ids as duplicates."""
    return service.ingest(db, device.camera_id, batch.events)
