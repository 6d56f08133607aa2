"""Administration: API keys and runtime layers (admin role)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request

from api.deps import Catalog, require
from gis.core.errors import InvalidInput
from gis.data import auth
from gis.data.auth import Principal
from gis.data.registry import create_layer
from layers.schema import layer_from_dict

router = APIRouter(prefix="/admin", tags=["admin"])
Admin = Annotated[Principal, Depends(require("admin"))]


@router.get("/keys", summary="List API keys (never the keys themselves)")
def list_keys(request: Request, who: Admin):
    with request.app.state.engine.connect() as conn:
        return {"keys": auth.list_keys(conn)}


@router.post("/keys", status_code=201,
             summary="Create an API key, optionally limited to cities and layers, naming an OPD or a kecamatan; "
                     "the key is shown once")
def create_key(request: Request, who: Admin, name: Annotated[str, Body()], role: Annotated[str, Body()],
               cities: Annotated[list[str] | None, Body(description="Kemendagri kab/kota codes, e.g. 12.75; "
                                                                    "left out: every city")] = None,
               layers: Annotated[list[str] | None, Body(description="layer ids, e.g. zoning; left out: every "
                                                                    "layer")] = None,
               opd: Annotated[str | None, Body(description="SIPD kodeskpd: the key edits that OPD's programmes "
                                                           "and their locations only")] = None,
               kecamatan: Annotated[str | None, Body(description="kecamatan code, e.g. 12.75.01: a camat's key, "
                                                                 "reading that kecamatan's programmes with their "
                                                                 "notes, editing nothing")] = None):
    with request.app.state.engine.begin() as conn:
        key_id, key = auth.create_key(conn, name, role, cities, layers, opd, kecamatan)
        return {**auth.list_keys(conn, key_id)[0], "key": key}


@router.delete("/keys/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_key(request: Request, who: Admin, key_id: int):
    with request.app.state.engine.begin() as conn:
        auth.revoke_key(conn, key_id)
    request.app.state.key_cache.clear()


@router.post("/layers", status_code=201, summary="Add a layer (a declaration); it appears without a restart")
def add_layer(request: Request, who: Admin, catalog: Catalog, declaration: Annotated[dict, Body()]):
    try:
        layer = layer_from_dict(declaration)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"not a valid layer declaration: {exc}") from None
    with request.app.state.engine.begin() as conn:
        create_layer(conn, layer, request.app.state.settings.city.metric_crs)
    catalog.refresh()
    return layer.to_dict(include_private=True)
