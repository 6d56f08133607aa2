"""RFC 9457 problem+json for every error, and the table mapping domain errors to status codes."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gis.errors import Conflict, DatabaseUnavailable, InvalidInput, NotFound, PetaKotaError

log = logging.getLogger("petakota")

STATUS_CODES: dict[type[PetaKotaError], int] = {
    InvalidInput: 400,
    NotFound: 404,
    Conflict: 409,
    DatabaseUnavailable: 503,
}


def problem(status: int, title: str, detail: str, instance: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": instance},
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(PetaKotaError)
    async def domain_error(request: Request, exc: PetaKotaError):
        return problem(STATUS_CODES.get(type(exc), 400), exc.title, exc.detail, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
        return problem(exc.status_code, title, str(exc.detail), request.url.path, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body"))
            parts.append(f"{where}: {err.get('msg')}" if where else err.get("msg", "invalid"))
        return problem(400, "Invalid request", "; ".join(parts), request.url.path)

    @app.exception_handler(OperationalError)
    async def database_down(request: Request, exc: OperationalError):
        log.warning("database unavailable: %s", exc)
        return problem(503, "Database unavailable", "the database is not reachable; try again shortly",
                       request.url.path, {"Retry-After": "5"})

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError):
        log.exception("database error on %s", request.url.path)
        return problem(500, "Internal error", "the request failed in the database; it has been logged",
                       request.url.path)
