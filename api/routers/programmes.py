"""Programme writes by the OPDs: progress updates, changes of a programme's editable fields (If-Match), and a
programme's history. Reading programmes is the OGC API (/collections/programmes/items)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api.deps import Caller, require
from api.preconditions import IfMatch, etag
from api.responses import problem_responses, write_responses
from api.routers.items import RawBody, _json
from gis.data import programme_progress
from gis.data.auth import Principal

router = APIRouter(prefix="/programmes", tags=["Programmes"])
Planner = Annotated[Principal, Depends(require("planner"))]


def _url(request: Request, path: str) -> str:
    return f"{str(request.base_url).rstrip('/')}{path}"


@router.post("/{kode}/progress", status_code=201, responses=write_responses(201),
             summary="Report progress of a programme (cumulative realisation and spending; a planner key of its "
                     "OPD)")
def report_progress(request: Request, kode: str, who: Planner, raw: RawBody):
    row = programme_progress.report_progress(request.app.state.engine, kode, _json(request, raw), who)
    return JSONResponse(row, status_code=201, headers={
        "Location": _url(request, f"/collections/programme_progress/items/{row['id']}"),
        "ETag": etag(row["version"])})


@router.patch("/{kode}", responses=write_responses(200, 412, 428),
              summary="Change a programme's editable fields (JSON merge patch; needs If-Match)")
def change_programme(request: Request, kode: str, who: Planner, expected: IfMatch, raw: RawBody):
    row = programme_progress.change_programme(request.app.state.engine, kode, _json(request, raw), expected, who)
    return JSONResponse(row, headers={"ETag": etag(row["version"])})


@router.get("/{kode}/history", responses=problem_responses(),
            summary="History of a programme, its indicators and its progress updates")
def programme_history(request: Request, kode: str, who: Caller):
    entries = programme_progress.history(request.app.state.engine, kode, who)
    return {"programme": kode, "history": entries}
