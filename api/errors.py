"""RFC 9457 problem+json for every error, and the table mapping domain errors to status codes."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gis.core.errors import (
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    OutsideCity,
    PetaKotaError,
    TooLarge,
    Unauthorized,
    UnsupportedType,
    VersionConflict,
)

log = logging.getLogger("petakota")

STATUS_CODES: dict[type[PetaKotaError], int] = {
    InvalidInput: 400,
    NotFound: 404,
    Conflict: 409,
    VersionConflict: 412,
    Unauthorized: 401,
    Forbidden: 403,
    DatabaseUnavailable: 503,
    TooLarge: 413,
    UnsupportedType: 415,
}


# Problems with a stable code: their `type` is /problems/{code} on the service (which documents it) and the body
# carries `code` too (RFC 9457 extension member), so clients decide by the code, never by the English words.
PROBLEM_TYPES: dict[str, type[PetaKotaError]] = {cls.code: cls for cls in (OutsideCity,)}


class PreconditionRequired(Exception):
    """A write that must name the version it changes came without If-Match (HTTP 428)."""


def problem(status: int, title: str, detail: str, instance: str, headers: dict | None = None,
            code: str | None = None, base: str = "") -> JSONResponse:
    body = {"type": f"{base}/problems/{code}" if code else "about:blank", "title": title, "status": status,
            "detail": detail, "instance": instance}
    if code:
        body["code"] = code
    return JSONResponse(
        body,
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(PetaKotaError)
    async def domain_error(request: Request, exc: PetaKotaError):
        status = STATUS_CODES.get(type(exc), 400)
        headers = {"WWW-Authenticate": 'ApiKey header="X-API-Key"'} if status == 401 else None
        return problem(status, exc.title, exc.detail, request.url.path, headers, code=exc.code,
                       base=str(request.base_url).rstrip("/"))

    @app.get("/problems/{code}", tags=["problems"], summary="What a problem type (the `type` of an error) means")
    def problem_type(code: str) -> dict:
        cls = PROBLEM_TYPES.get(code)
        if cls is None:
            raise NotFound(f"no problem type {code[:60]!r}; types: {', '.join(PROBLEM_TYPES)}")
        return {"code": cls.code, "title": cls.title, "status": STATUS_CODES.get(cls, 400),
                "description": " ".join((cls.__doc__ or "").split())}

    @app.exception_handler(PreconditionRequired)
    async def precondition_required(request: Request, exc: PreconditionRequired):
        return problem(428, "Precondition required",
                       "send If-Match with the feature's ETag (from GET) so that concurrent edits cannot "
                       "overwrite each other", request.url.path)

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

    @app.exception_handler(DataError)
    async def bad_value(request: Request, exc: DataError):
        # SQLSTATE class 22 (and psycopg's own checks): a value that cannot be stored or compared as its field's
        # type, a number out of range, a NUL byte. The client's input, so a 400 saying which.
        reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
        return problem(400, "Invalid value", f"a value in the request does not fit its field: {reason}",
                       request.url.path)

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, exc: RecursionError):
        return problem(400, "Invalid request", "the request body is nested too deeply", request.url.path)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s", request.url.path)
        return problem(500, "Internal error", "the request failed on the server; it has been logged",
                       request.url.path)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError):
        log.exception("database error on %s", request.url.path)
        return problem(500, "Internal error", "the request failed in the database; it has been logged",
                       request.url.path)
