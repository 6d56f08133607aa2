"""OpenAPI descriptions of answers (feature writes: bodies, answers and their headers) and of the RFC 9457
problems every error is, so that /api does not show FastAPI's default 422 (the app answers 400 instead)."""

from __future__ import annotations

from pydantic import BaseModel


class Created(BaseModel):
    """A new feature: its id (also in Location) and version (also the ETag)."""

    id: int
    version: int


class Problem(BaseModel):
    """RFC 9457 problem details (sent as application/problem+json)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str


_PROBLEMS = {
    400: "invalid input (the detail says which property or geometry, and why); nothing is written",
    401: "no API key, or a revoked one",
    403: "the key lacks the planner role",
    404: "no such collection or feature",
    412: "If-Match names no current version of the feature (someone else changed it), or * and no feature",
    413: "body larger than the limit",
    415: "a file of a type not accepted (the detail lists those that are)",
    428: "If-Match is missing",
}


def _problem(description: str) -> dict:
    return {"description": description,
            "content": {"application/problem+json": {"schema": Problem.model_json_schema()}}}


def problem_responses() -> dict:
    """`responses=` for a read route: 400 for an invalid parameter, any other client error likewise."""
    return {400: _problem("an invalid parameter (the detail names it and the allowed values)"),
            "4XX": _problem("another client error (not found, unauthorised...)")}


_ETAG = {"ETag": {"description": "the feature's new version", "schema": {"type": "string"}}}


def write_responses(success: int, *extra: int, etag: bool = True) -> dict:
    """`responses=` for a write route answering `success`, plus the problems every write can meet and `extra`."""
    headers = dict(_ETAG) if etag else {}
    if success == 201:
        headers["Location"] = {"description": "URL of the new feature", "schema": {"type": "string"}}
    out: dict = {success: {"description": "done", "headers": headers}}
    for status in (400, 401, 403, 404, 413, *extra):
        out[status] = _problem(_PROBLEMS[status])
    out["4XX"] = _problem("another client error")
    return out


def request_body_doc(*media_types: str) -> dict:
    """`openapi_extra=` documenting a JSON body that the route reads itself (validated by the feature writer)."""
    schema = {"type": "object", "description": "a GeoJSON Feature (for PATCH also a JSON Merge Patch, RFC 7396)"}
    return {"requestBody": {"required": True, "content": {m: {"schema": schema} for m in media_types}}}
