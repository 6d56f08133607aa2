"""Browsable HTML views (`f=html`) of the OGC API - Features documents.

Pure rendering: `render(page, doc, ...)` takes exactly the JSON document the endpoint returns for `f=json` and
returns an HTML page. No FastAPI, no database. Pages reference only the service itself: the vendored Leaflet under
`<base_url>/static/vendor/leaflet/` and inline CSS/JS (a command centre's intranet has no CDN). The map pages embed
their GeoJSON in a `<script type="application/json" id="data">` element (`<`, `>`, `&` escaped) and set
`window.petakotaFeatureCount` and `window.petakotaReady = true` once the map has drawn.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from types import SimpleNamespace
from urllib.parse import quote, unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.html_city import city_rows, keep_city
from gis.core.language import LOCALES, format_value
from gis.render import TEMPLATES_DIR
from gis.render.messages import catalogue, lang_of

PAGES = ("landing", "conformance", "collections", "collection", "items", "item", "queryables", "history")
MAP_PAGES = ("collection", "items", "item")

# URL path segments named in breadcrumbs; any other segment is an identifier.
_SEGMENT_LABELS = {"collections": "collections", "items": "items", "queryables": "queryables",
                   "history": "history", "conformance": "conformance"}
_LANDING_RELS = {"data": "collections", "conformance": "conformance",
                 "service-desc": "api_definition", "service-doc": "api_docs"}
_QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


# --- links -----------------------------------------------------------------------------------------------------


def safe_href(href: object) -> str | None:
    """`href` if it is an http(s) or relative URL (never `javascript:` and the like), else None."""
    if not isinstance(href, str) or not href.strip():
        return None
    href = href.strip()
    scheme = urlsplit(href).scheme.lower()
    if scheme in ("", "http", "https") and not href.lower().startswith(("javascript:", "data:", "vbscript:")):
        return href
    return None


def with_format(href: str | None, fmt: str) -> str | None:
    """`href` with its `f` query parameter set to `fmt` (other parameters kept byte for byte)."""
    href = safe_href(href)
    if href is None:
        return None
    base, _, fragment = href.partition("#")
    path, _, query = base.partition("?")
    params = [p for p in query.split("&") if p and p.split("=", 1)[0] != "f"]
    params.append(f"f={fmt}")
    return f"{path}?{'&'.join(params)}" + (f"#{fragment}" if fragment else "")


def _links(doc: dict) -> list[dict]:
    links = doc.get("links") if isinstance(doc, dict) else None
    return [lk for lk in links if isinstance(lk, dict)] if isinstance(links, list) else []


def _is_json(media_type: object) -> bool:
    t = str(media_type or "").split(";")[0].strip().lower()
    return t == "application/json" or t.endswith("+json")


def _is_html(media_type: object) -> bool:
    return str(media_type or "").split(";")[0].strip().lower() == "text/html"


def find_link(doc: dict, *rels: str, kind: str | None = None) -> dict | None:
    """The first link with one of `rels`; `kind` "html"/"json" prefers links of that media type."""
    candidates = [lk for lk in _links(doc) if lk.get("rel") in rels and safe_href(lk.get("href"))]
    if kind == "html":
        candidates.sort(key=lambda lk: not _is_html(lk.get("type")))
    elif kind == "json":
        candidates.sort(key=lambda lk: not _is_json(lk.get("type")))
    return candidates[0] if candidates else None


def html_href(doc: dict, *rels: str) -> str | None:
    """The browsable (f=html) URL of the link with one of `rels`."""
    lk = find_link(doc, *rels, kind="html")
    if lk is None:
        return None
    return safe_href(lk["href"]) if _is_html(lk.get("type")) else with_format(lk["href"], "html")


def json_href(doc: dict) -> str | None:
    """The JSON version of this page: a rel alternate/self link of a JSON media type, else self with f=json."""
    for rel in ("alternate", "self"):
        for lk in _links(doc):
            if lk.get("rel") == rel and _is_json(lk.get("type")) and safe_href(lk.get("href")):
                return safe_href(lk["href"])
    lk = find_link(doc, "self")
    return with_format(lk["href"], "json") if lk else None


def short_uri(uri: object) -> str:
    """A readable form of an OGC identifier URI (shown as text, never fetched): CRS URIs as `EPSG:4326`,
    `OGC:CRS84`; relation URIs as their last segment (`queryables`); anything else unchanged."""
    text = str(uri)
    m = re.match(r"^https?://www\.opengis\.net/def/crs/([^/]+)/[^/]+/([^/?#]+)$", text)
    if m:
        return f"{m.group(1)}:{m.group(2)}"
    m = re.match(r"^https?://www\.opengis\.net/def/rel/[^?#]*/([^/?#]+)$", text)
    if m:
        return m.group(1)
    return text


def _strip_query(href: str) -> str:
    return href.split("#", 1)[0].split("?", 1)[0].rstrip("/")


# --- values ----------------------------------------------------------------------------------------------------


def localized(value: object, lang: str) -> str:
    """A title/description that is a plain string or a {"id": ..., "en": ...} dict."""
    if isinstance(value, dict):
        for key in (lang, "id", "en"):
            if isinstance(value.get(key), str):
                return value[key]
        return next((v for v in value.values() if isinstance(v, str)), "")
    return "" if value is None else str(value)


def _clean(value: object) -> object:
    """JSON-safe copy: non-finite floats become null (JSON.parse rejects NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def embed_json(value: object) -> str:
    """JSON for a `<script type="application/json">` element: `<`, `>`, `&` escaped so nothing can close it."""
    text = json.dumps(_clean(value), ensure_ascii=False, default=str, allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _formatter(labels: dict[str, str], lang: str):
    """Values as the page's language writes them: `12,5` in Bahasa Indonesia, `12.5` in English, dates with
    month names; geometries and objects in short."""

    def fmt(value: object, limit: int = 300) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return labels["yes"] if value else labels["no"]
        if isinstance(value, float) and not math.isfinite(value):
            return "—"
        local = format_value(value, lang)
        if local is not None:
            return local
        if isinstance(value, dict) and "type" in value and ("coordinates" in value or "geometries" in value):
            return f"{value['type']} ({labels['geometry'].lower()})"
        if isinstance(value, (dict, list)):
            text = json.dumps(_clean(value), ensure_ascii=False, default=str)
        else:
            text = str(value)
        return text if len(text) <= limit else text[: limit - 1] + "…"

    return fmt


# --- page data -------------------------------------------------------------------------------------------------


def _crumbs(page: str, doc: dict, labels: dict[str, str], base: str, lang: str, title: str) -> list[dict]:
    """Breadcrumbs from the document's self link path: Home > Collections > <collection> > Items > <id> > ..."""
    home = {"label": labels["home"], "href": with_format(base + "/", "html")}
    if page == "landing":
        return [{"label": labels["home"], "href": None}]
    self_link = find_link(doc, "self")
    parts = urlsplit(self_link["href"]) if self_link else None
    segments = parts.path.split("/") if parts else []
    if "collections" not in segments and "conformance" not in segments:
        return [home, {"label": title or labels[page], "href": None}]
    start = segments.index("collections") if "collections" in segments else segments.index("conformance")
    root = (f"{parts.scheme}://{parts.netloc}" if parts.netloc else "") + "/".join(segments[:start])
    if not base:
        home["href"] = with_format(root + "/", "html")
    collection_link = find_link(doc, "collection")
    crumbs, path = [home], root
    for i, seg in enumerate(segments[start:]):
        if not seg:
            continue
        path += "/" + seg
        name = unquote(seg)
        if i == 1 and segments[start] == "collections":  # the collection id
            if page == "collection":
                label = localized(doc.get("title"), lang) or name
            else:
                label = localized(collection_link.get("title"), lang) if collection_link else ""
                label = label or name
        elif i in (0, 2, 4) and seg in _SEGMENT_LABELS:
            label = labels[_SEGMENT_LABELS[seg]]
        else:
            label = name
        crumbs.append({"label": label, "href": with_format(path, "html")})
    crumbs[-1]["href"] = None
    return crumbs


def _bbox_features(doc: dict) -> list[dict]:
    """The collection's extent boxes as GeoJSON polygons (for the extent map)."""
    try:
        boxes = doc["extent"]["spatial"]["bbox"]
    except (KeyError, TypeError):
        return []
    features = []
    for box in boxes if isinstance(boxes, list) else []:
        if not isinstance(box, list) or len(box) not in (4, 6):
            continue
        w, s, e, n = (box[0], box[1], box[2], box[3]) if len(box) == 4 else (box[0], box[1], box[3], box[4])
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (w, s, e, n)):
            continue
        ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
        features.append({"type": "Feature", "id": f"bbox-{len(features)}",
                         "geometry": {"type": "Polygon", "coordinates": [ring]},
                         "properties": {"W": w, "S": s, "E": e, "N": n}})
    return features


def _item_href(feature: dict, items_base: str | None) -> str | None:
    own = html_href(feature, "self", "alternate")
    if own:
        return own
    fid = feature.get("id")
    if fid is None or not items_base:
        return None
    return with_format(f"{items_base}/{quote(str(fid), safe='')}", "html")


def _items_context(doc: dict) -> dict:
    features = [f for f in doc.get("features") or [] if isinstance(f, dict)]
    self_link = find_link(doc, "self")
    items_base = _strip_query(self_link["href"]) if self_link else None
    if not items_base:
        coll = find_link(doc, "collection")
        items_base = _strip_query(coll["href"]) + "/items" if coll else None
    columns: list[str] = []
    for f in features:
        for key in f.get("properties") if isinstance(f.get("properties"), dict) else {}:
            if key not in columns:
                columns.append(key)
    rows, embedded = [], []
    for f in features:
        href = _item_href(f, items_base)
        props = f.get("properties") if isinstance(f.get("properties"), dict) else {}
        rows.append({"id": f.get("id"), "href": href, "properties": props})
        embedded.append({"type": "Feature", "id": f.get("id"), "geometry": f.get("geometry"),
                         "properties": props, **({"href": href} if href else {})})
    return {
        "number_matched": doc.get("numberMatched"),
        "number_returned": doc.get("numberReturned", len(features)),
        "features": rows,
        "columns": columns,
        "data": {"type": "FeatureCollection", "features": embedded},
        "next_href": html_href(doc, "next"),
        "prev_href": html_href(doc, "prev", "previous"),
    }


def _diff(before: object, after: object) -> list[dict]:
    """Changed fields between two versions (properties flattened, geometry as one field)."""

    def flat(v: object) -> dict:
        if not isinstance(v, dict):
            return {}
        if isinstance(v.get("properties"), dict):
            out = dict(v["properties"])
            if "geometry" in v:
                out["geometry"] = v["geometry"]
            return out
        return v

    b, a = flat(before), flat(after)
    keys = list(b) + [k for k in a if k not in b]
    return [{"key": k, "before": b.get(k), "after": a.get(k)} for k in keys if b.get(k) != a.get(k)]


def _collection_rows(doc: dict, lang: str, base: str) -> list[dict]:
    rows = []
    for c in doc.get("collections") or []:
        if not isinstance(c, dict):
            continue
        href = html_href(c, "self", "alternate")
        if not href and c.get("id") is not None:
                    href = with_format(f"{base}/collections/{quote(str(c['id']), safe='')}", "html")
        rows.append({
            "id": c.get("id"),
            "title": localized(c.get("title"), lang) or str(c.get("id", "")),
            "description": localized(c.get("description"), lang),
            "href": href,
            "items_href": html_href(c, "items"),
            "illustrative": c.get("illustrative") is True,
            "item_type": c.get("itemType"),
        })
    return rows


# --- render ----------------------------------------------------------------------------------------------------


def render(page: str, doc: dict, *, title: str, lang: str = "id", base_url: str = "", city: str | None = None) -> str:
    """The HTML page `page` (one of PAGES) for `doc`, the endpoint's f=json document; `city`, the page's `?city=`,
    is kept by its links."""
    if page not in PAGES:
        raise ValueError(f"unknown page {page!r}; expected one of {', '.join(PAGES)}")
    lang = lang_of(lang)
    labels = catalogue(lang)
    doc = doc if isinstance(doc, dict) else {}
    base = (base_url or "").rstrip("/")
    base_parts = urlsplit(base)
    base_origin = f"{base_parts.scheme}://{base_parts.netloc}" if base_parts.scheme and base_parts.netloc else ""
    title = localized(title, lang)

    ctx: dict = {
        "page": page,
        "doc": doc,
        "title": title,
        "lang": lang,
        "L": SimpleNamespace(**labels),  # attribute access: L.items must not resolve to dict.items
        "static": f"{base}/static",
        "origin": base_origin,
        "nonce": secrets.token_urlsafe(16),
        "crumbs": _crumbs(page, doc, labels, base, lang, title),
        "json_href": json_href(doc),
        "links": [dict(lk, href=safe_href(lk.get("href")), title=localized(lk.get("title"), lang),
                       rel=short_uri(lk.get("rel", ""))) for lk in _links(doc)],
        "fmt": _formatter(labels, lang),
        "locale": LOCALES[lang],
        "tr": lambda v: localized(v, lang),
        "use_map": page in MAP_PAGES,
        "description": localized(doc.get("description"), lang),
    }
    if page == "landing":
        ctx["cities"] = city_rows(doc)
        ctx["main_links"] = [{"label": labels[_LANDING_RELS[lk["rel"]]], "href": html_href(doc, lk["rel"])
                              if lk["rel"] in ("data", "conformance") else safe_href(lk.get("href"))}
                             for lk in ctx["links"] if lk.get("rel") in _LANDING_RELS and lk.get("href")]
    elif page == "conformance":
        ctx["classes"] = [str(c) for c in doc.get("conformsTo") or []]
    elif page == "collections":
        ctx["rows"] = _collection_rows(doc, lang, base)
    elif page == "collection":
        boxes = _bbox_features(doc)
        ctx["boxes"] = [b["properties"] for b in boxes]
        ctx["data"] = {"type": "FeatureCollection", "features": boxes}
        ctx["items_href"] = html_href(doc, "items")
        ctx["queryables_href"] = html_href(doc, _QUERYABLES_REL, "queryables")
        extent = doc.get("extent") if isinstance(doc.get("extent"), dict) else {}
        temporal = extent.get("temporal") if isinstance(extent.get("temporal"), dict) else {}
        ctx["intervals"] = temporal.get("interval") or []
        crs = doc.get("crs")
        ctx["crs"] = [short_uri(c) for c in (crs if isinstance(crs, list) else [crs] if crs else [])]
    elif page == "items":
        ctx.update(_items_context(doc))
    elif page == "item":
        props = doc.get("properties") if isinstance(doc.get("properties"), dict) else {}
        ctx["properties"] = props
        geometry = doc.get("geometry")
        ctx["geometry_type"] = geometry.get("type") if isinstance(geometry, dict) else None
        ctx["data"] = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": doc.get("id"), "geometry": doc.get("geometry"), "properties": props}]}
        ctx["collection_href"] = html_href(doc, "collection")
    elif page == "queryables":
        props = doc.get("properties") if isinstance(doc.get("properties"), dict) else {}
        ctx["queryables"] = [{"name": name, **(spec if isinstance(spec, dict) else {})} for name, spec in props.items()]
    elif page == "history":
        entries = doc.get("history") if isinstance(doc.get("history"), list) else []
        ctx["entries"] = [dict(e, changes=_diff(e.get("before"), e.get("after")))
                          for e in entries if isinstance(e, dict)]
    if page in MAP_PAGES:
        keep_city(ctx, city)
    if "data" in ctx:
        ctx["data_json"] = embed_json(ctx["data"])
    return _env.get_template(f"{page}.html").render(ctx)
