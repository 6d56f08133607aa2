"""The record collections (programmes, indicators, progress) in the OGC API routes: items.py and ogc.py hand a
request for one of them here; the SQL is gis/data/records.py."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response

from api.formats import GEOJSON, collection_links, html_page, json_or_html, links_for
from api.preconditions import etag
from gis.data import records
from gis.data.auth import Principal
from gis.data.features import ItemsQuery
from layers.programmes import RECORDS, Records


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def collection_doc(request: Request, rec: Records, cities: tuple[str, ...] = ()) -> dict:
    base, path = _base(request), f"/collections/{rec.id}"
    scope = f"&city={','.join(cities)}" if cities else ""
    doc = {
        "id": rec.id, "title": rec.title_id, "title_en": rec.title_en,
        "description": rec.description_id or rec.title_en, "description_en": rec.description_en or rec.title_en,
        "itemType": "feature", "geometryType": None,
        "links": [
            *links_for(request, path, title=rec.title_id),
            *collection_links(base, path, scope, {"json": "Records (GeoJSON, no geometry)", "html": "Records (HTML)",
                                                  "csv": "Records (CSV)", "gpkg": "Records (GeoPackage table)"}),
        ],
    }
    if rec.time_field:
        doc["extent"] = {"temporal": {"interval": [[None, None]],
                                      "trs": "http://www.opengis.net/def/uri/ISO-8601/0/Gregorian"}}
    if cities:
        doc["cities"] = list(cities)
    return doc


def collection_docs(request: Request, cities: tuple[str, ...] = ()) -> list[dict]:
    return [collection_doc(request, rec, cities) for rec in RECORDS.values()]


def collection(request: Request, rec: Records, fmt: str, cities: tuple[str, ...]) -> Response:
    return json_or_html(request, fmt, "collection", collection_doc(request, rec, cities), rec.title_id)


def schema(request: Request, rec: Records, who: Principal, fmt: str, queryables: bool) -> Response:
    doc = {**records.record_schema(rec, who, queryables),
           "$id": f"{_base(request)}/collections/{rec.id}/{'queryables' if queryables else 'schema'}"}
    return json_or_html(request, fmt, "queryables", doc, rec.title_id, media_type="application/schema+json")


def _links(request: Request, rec: Records, q: ItemsQuery, has_more: bool) -> list[dict]:
    from api.routers.items import _page_links

    return _page_links(request, rec.id, q, has_more)


def items(request: Request, rec: Records, who: Principal, q: ItemsQuery, fmt: str) -> Response:
    with request.app.state.engine.connect() as conn:
        if fmt in ("csv", "gpkg"):
            return _table(records.records_frame(conn, rec, q, who), rec.id, fmt)
        page = records.fetch_records(conn, rec, q, who)
    envelope = {"type": "FeatureCollection", "numberReturned": page.returned, "numberMatched": page.matched,
                "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
                "links": _links(request, rec, q, page.has_more)}
    if fmt == "html":
        return html_page(request, "items", {**envelope, "features": json.loads(f"[{page.features}]")}, rec.title_id)
    head = json.dumps(envelope)[:-1]
    return Response(f'{head}, "features": [{page.features}]}}'.encode(), media_type=GEOJSON)


def item(request: Request, rec: Records, who: Principal, fid: int, fmt: str) -> Response:
    with request.app.state.engine.connect() as conn:
        feature, version = records.fetch_record(conn, rec, fid, who)
    base = _base(request)
    links = [{"href": f"{base}/collections/{rec.id}/items/{fid}?f=json", "rel": "self", "type": GEOJSON},
             {"href": f"{base}/collections/{rec.id}/items/{fid}?f=html", "rel": "alternate", "type": "text/html"},
             {"href": f"{base}/collections/{rec.id}", "rel": "collection", "type": "application/json"}]
    if fmt == "html":
        return html_page(request, "item", {**json.loads(feature), "links": links}, rec.title_id)
    body = f'{feature[:-1]}, "links": {json.dumps(links)}}}'.encode()
    return Response(body, media_type=GEOJSON, headers={"ETag": etag(version)})


def _table(frame, name: str, fmt: str) -> Response:
    if fmt == "csv":
        return Response(frame.to_csv(index=False), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    import pyogrio

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.gpkg"
        pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")
        data = path.read_bytes()
    return Response(data, media_type="application/geopackage+sqlite3",
                    headers={"Content-Disposition": f'attachment; filename="{name}.gpkg"'})
