"""Problem-style JSON errors (RFC 9457 shape): every error says what went wrong and what to do."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from PIL import Image
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.services.errors import DomainError

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
    "additionalProperties": True,
}
PROBLEM_STATUSES = {
    400: "Malformed request",
    401: "Not authenticated (no, unknown or expired credentials)",
    403: "Not allowed (role, school or district; or a cross-site request)",
    404: "Not found (or not this caller's)",
    409: "Conflict with stored data",
    413: "Body or image larger than the limit",
    415: "Unsupported media type",
    422: "Invalid input; the detail names the field",
    429: "Too many attempts; wait",
}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}
    for status, text in PROBLEM_STATUSES.items()
}
"""Every error answer in the OpenAPI document: the same problem JSON for each status a route may answer."""


class Problem(HTTPException):
    """An error with a title and an actionable detail; raised by routes and dependencies."""

    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(status_code=status, detail=detail)
        self.title = title
        self.extra = extra


def problem_response(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """Build the JSON body {type, title, status, detail, ...}."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _field(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    detail = f"field '{first['field']}': {first['message']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return problem_response(422, "Invalid request", detail, errors=errors[:20])


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, Problem):
        return problem_response(exc.status_code, exc.title, str(exc.detail), **exc.extra)
    return problem_response(exc.status_code, "Error", str(exc.detail))


async def _domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(exc.status, exc.title, exc.detail, **exc.extra)


async def _image_bomb(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Image.DecompressionBombError)
    logger.warning("refused an image that would decode too large: %s", exc)
    return problem_response(
        413, "Image too large", f"the image declares more than {Image.MAX_IMAGE_PIXELS} pixels; send a smaller one"
    )


def install(app: FastAPI) -> None:
    """Register the handlers on an app: request validation, HTTP errors, every service ``DomainError`` and images
    whose header declares more pixels than the decode limit (``PIL.Image.MAX_IMAGE_PIXELS``, set by ``create_app``)."""
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(Image.DecompressionBombError, _image_bomb)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
