"""The stripped ingest app of ``kuzet loadtest --floor``: the real wire ``EventBatch`` parsed, nothing else done."""

from __future__ import annotations

from fastapi import FastAPI

from kuzet.contracts import EventBatch, IngestResult


def create_app() -> FastAPI:
    """One ingest route answering what a stored batch would (every id stored), and a health route."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/api/v1/events", response_model=IngestResult)
    def ingest(batch: EventBatch) -> IngestResult:
        return IngestResult(accepted=tuple(e.event_id for e in batch.events), duplicates=())

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
