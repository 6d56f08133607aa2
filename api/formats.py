"""Output formats: `f=` wins, else the Accept header (browsers get HTML)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from gis.core.errors import InvalidInput

GEOJSON = "application/geo+json"
MEDIA = {"json": "application/json", "geojson": GEOJSON, "html": "text/html", "csv": "text/csv",
         "gpkg": "application/geopackage+sqlite3"}


def negotiate(request: Request, f: str | None, allowed: tuple[str, ...] = ("json", "html")) -> str:
    if f:
        f = f.lower()
        if f == "geojson" and "json" in allowed:
            f = "json"
        if f not in allowed:
            raise InvalidInput(f"f={f[:20]!r} is not offered here; use one of: {', '.join(allowed)}")
        return f
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "html" in allowed:
        return "html"
    return "json"


def html_page(request: Request, page: str, doc: dict, title: str) -> HTMLResponse:
    from api.html import render

    lang = "en" if request.query_params.get("lang") == "en" else "id"
    base = str(request.base_url).rstrip("/")
    return HTMLResponse(render(page, doc, title=title, lang=lang, base_url=base,
                               city=request.query_params.get("city")))


def json_or_html(request: Request, fmt: str, page: str, doc: dict, title: str,
                 media_type: str = "application/json") -> Response:
    if fmt == "html":
        return html_page(request, page, doc, title)
    return JSONResponse(doc, media_type=media_type)


def collection_links(base: str, path: str, scope: str, titles: dict[str, str]) -> list[dict]:
    """A collection's links to its items in every format (`titles` per format: json, html, csv, gpkg), its
    queryables and its schema; `scope` is the query string kept on the item links (e.g. "&city=12.75")."""
    kinds = {"json": GEOJSON, "html": "text/html", "csv": "text/csv",
             "gpkg": "application/geopackage+sqlite3"}
    return [
        *({"href": f"{base}{path}/items?f={f}{scope}", "rel": "items", "type": kind, "title": titles[f]}
          for f, kind in kinds.items()),
        {"href": f"{base}{path}/queryables", "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
         "type": "application/schema+json", "title": "Queryables"},
        {"href": f"{base}{path}/schema", "rel": "http://www.opengis.net/def/rel/ogc/1.0/schema",
         "type": "application/schema+json", "title": "Schema"},
    ]


def links_for(request: Request, path: str, rel_self: str = "self", kinds=("json", "html"), title: str = ""):
    """self/alternate links to `path` in the given formats."""
    base = str(request.base_url).rstrip("/")
    out = []
    for n, kind in enumerate(kinds):
        out.append({"href": f"{base}{path}?f={kind}", "rel": rel_self if n == 0 else "alternate",
                    "type": MEDIA[kind], "title": f"{title} ({kind})".strip()})
    return out
