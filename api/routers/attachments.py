"""Field evidence: photos and PDFs attached to a feature (gis/data/attachments.py does the work). Adding, publishing
and removing need a planner key that may edit the feature; reading follows the feature's privacy: the public sees
the public attachments of public layers, a key that reads the feature's private part sees all of them."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.datastructures import UploadFile

from api.deps import Caller, layer_for, require
from api.responses import problem_responses, write_responses
from gis.core.errors import InvalidInput, NotFound
from gis.data import attachments
from gis.data.auth import Principal

router = APIRouter(tags=["Attachments"])
Planner = Annotated[Principal, Depends(require("planner"))]
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


def _links(request: Request, meta: dict) -> dict:
    base = str(request.base_url).rstrip("/")
    links = [{"href": f"{base}/attachments/{meta['id']}", "rel": "enclosure", "type": meta["media_type"],
              "title": meta["filename"]},
             {"href": f"{base}/collections/{meta['layer']}/items/{meta['feature_id']}", "rel": "describes",
              "type": "application/geo+json"}]
    if meta.get("thumbnail"):
        links.append({"href": f"{base}/attachments/{meta['id']}/thumbnail", "rel": "preview", "type": "image/jpeg"})
    out = {k: v for k, v in meta.items() if k not in ("path", "thumbnail_path")}
    return {**out, "links": links}


def _flag(value, name: str) -> bool:
    text = str(value or "").strip().lower()
    if text not in TRUE + FALSE:
        raise InvalidInput(f"{name} must be true or false, got {text[:20]!r}")
    return text in TRUE


@router.post("/collections/{collection_id}/items/{feature_id}/attachments", status_code=201,
             summary="Attach a photo (JPEG, PNG, HEIC) or PDF to a feature (multipart/form-data field `file`; "
                     "`public=true` to show it to the public)",
             responses=write_responses(201, 415, etag=False))
async def upload(request: Request, collection_id: str, feature_id: int, who: Planner):
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise InvalidInput("send the file as multipart/form-data in a field named 'file'")
    layer = await run_in_threadpool(layer_for, request, collection_id, who)
    async with request.form(max_files=1, max_fields=10) as form:
        upload_file = form.get("file")
        if not isinstance(upload_file, UploadFile):
            raise InvalidInput("no file: send it as multipart/form-data in a field named 'file'")
        public = _flag(form.get("public", request.query_params.get("public")), "public")
        data = await upload_file.read()
        filename = upload_file.filename
    state = request.app.state
    meta = await run_in_threadpool(attachments.add, state.engine, state.settings, layer, feature_id, filename,
                                   data, who, public)
    body = _links(request, meta)
    return JSONResponse(body, status_code=201, headers={"Location": body["links"][0]["href"]})


@router.get("/collections/{collection_id}/items/{feature_id}/attachments", summary="Attachments of a feature",
            responses=problem_responses())
def list_attachments(request: Request, collection_id: str, feature_id: int, who: Caller):
    layer = layer_for(request, collection_id, who)
    with request.app.state.engine.connect() as conn:
        found = attachments.list_for(conn, layer, feature_id, who)
    return JSONResponse({"collection": collection_id, "id": feature_id,
                         "attachments": [_links(request, m) for m in found]})


def _serve(request: Request, aid: int, who: Principal, thumbnail: bool) -> Response:
    settings = request.app.state.settings
    with request.app.state.engine.connect() as conn:
        meta = attachments.get(conn, aid, who)
    relative = meta["thumbnail_path"] if thumbnail else meta["path"]
    if not relative:
        raise NotFound(f"attachment {aid} is a {meta['media_type']} and has no thumbnail")
    path = attachments.file_path(settings, relative)
    if not path.is_file():
        raise NotFound(f"the file of attachment {aid} is missing from the data directory: restore it from a backup")
    cache = "public, max-age=3600" if meta["public"] else "private, no-store"
    name = f"thumb-{meta['filename'].rsplit('.', 1)[0]}.jpg" if thumbnail else meta["filename"]
    return FileResponse(path, media_type="image/jpeg" if thumbnail else meta["media_type"], filename=name,
                        content_disposition_type="inline",
                        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff",
                                 "ETag": f'"{meta["sha256"][:32]}{"t" if thumbnail else ""}"'})


@router.get("/attachments/{attachment_id}", summary="The file of an attachment", responses=problem_responses())
def attachment_file(request: Request, attachment_id: int, who: Caller):
    return _serve(request, attachment_id, who, thumbnail=False)


@router.get("/attachments/{attachment_id}/thumbnail", summary="A JPEG thumbnail of an attached photo (320 px)",
            responses=problem_responses())
def attachment_thumbnail(request: Request, attachment_id: int, who: Caller):
    return _serve(request, attachment_id, who, thumbnail=True)


@router.patch("/attachments/{attachment_id}", summary='Show an attachment to the public or hide it: {"public": true}',
              responses=write_responses(200, etag=False))
async def patch_attachment(request: Request, attachment_id: int, who: Planner):
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict) or set(body) != {"public"}:
        raise InvalidInput('send {"public": true} or {"public": false} as JSON')
    meta = await run_in_threadpool(attachments.set_public, request.app.state.engine, attachment_id,
                                   body["public"], who)
    return JSONResponse(_links(request, meta))


@router.delete("/attachments/{attachment_id}", status_code=204, response_class=Response,
               summary="Remove an attachment from its feature (kept in the history and backups)",
               responses=write_responses(204, etag=False))
def delete_attachment(request: Request, attachment_id: int, who: Planner):
    attachments.remove(request.app.state.engine, attachment_id, who)
    return Response(status_code=204)
