"""A city's RDTR as data: its plan versions and its ITBX rules, and the KBLI 2020 list that OSS keys activities
by (for search boxes and clients). The plan's zones are the `zoning` and `zoning_overlays` collections."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from api.deps import Catalog
from api.responses import problem_responses
from gis.data import itbx as itbx_table
from gis.data import rdtr_plans
from layers import kbli

router = APIRouter(tags=["rdtr"])


@router.get("/kbli", summary="KBLI 2020 codes and titles (search by code prefix or words of the title)")
def kbli_search(q: str = Query("", max_length=100, description="e.g. 1075, 'roti', 'kawasan industri'"),
                limit: int = Query(20, ge=1, le=200)):
    return {"source": "Peraturan BPS Nomor 2 Tahun 2020 (KBLI 2020), partial transcription",
            "kbli": kbli.search(q, limit) if q.strip() else []}


@router.get("/cities/{code}/rdtr", summary="A city's RDTR versions: when, by whom, from which file; the active one",
            responses=problem_responses())
def rdtr_versions(request: Request, code: str, catalog: Catalog):
    city = catalog.city(code)
    base = str(request.base_url).rstrip("/")
    with catalog.engine.connect() as conn:
        found = rdtr_plans.versions(conn, city.code)
    return {"city": city.code, "versions": [v.to_dict() for v in found],
            "active": next((v.version for v in found if v.active), None),
            "links": [{"href": f"{base}/collections/zoning/items?city={city.code}", "rel": "items",
                       "type": "application/geo+json", "title": "zones of the active plan"},
                      {"href": f"{base}/cities/{city.code}/itbx", "rel": "related", "type": "application/json",
                       "title": "ITBX rules of the active plan"}]}


@router.get("/cities/{code}/itbx", summary="A city's ITBX rules (sub-zone x KBLI / activity: I, T, B or X)",
            responses=problem_responses())
def itbx_rules(code: str, catalog: Catalog, kodszn: str | None = Query(None, max_length=40),
               kbli_code: str | None = Query(None, alias="kbli", pattern=r"^[0-9]{2,5}$")):
    city = catalog.city(code)
    with catalog.engine.connect() as conn:
        rules = itbx_table.read(conn, city.code)
    if kodszn:
        rules = rules[rules.kodszn == kodszn]
    if kbli_code:
        rules = rules[rules.kbli.isin(kbli.groups(kbli_code))]
    return {"city": city.code, "rules": rules.astype(object).where(rules.notna(), None).to_dict("records")}
