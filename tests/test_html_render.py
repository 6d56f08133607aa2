"""The HTML views (api/html.py) rendered from small hand-made OGC API - Features documents, and the vendored
Leaflet they use. No database and no server: pure rendering."""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path

import pytest

from api.html import PAGES, embed_json, render, with_format

ROOT = Path(__file__).resolve().parents[1]
LEAFLET = ROOT / "gis" / "render" / "static" / "vendor" / "leaflet"
BASE = "http://127.0.0.1:8000"
HOSTILE = "<script>alert(1)</script>"
BREAKOUT = "</script><img src=x onerror=alert(2)>"
URL_RE = re.compile(r"""https?://[^\s"'<>;)]+""")
DATA_RE = re.compile(r'<script type="application/json" id="data">(.*?)</script>', re.S)


def link(href: str, rel: str, type_: str = "application/json", title: str | None = None) -> dict:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def items_doc() -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": 1,
             "geometry": {"type": "Polygon",
                          "coordinates": [[[98.48, 3.60], [98.50, 3.60], [98.50, 3.62], [98.48, 3.62], [98.48, 3.60]]]},
             "properties": {"nama": HOSTILE, "catatan": BREAKOUT, "luas_ha": 12.5, HOSTILE: "key"}},
            {"type": "Feature", "id": 2, "geometry": {"type": "Point", "coordinates": [98.49, 3.58]},
             "properties": {"nama": "Taman Kota & Alun-alun", "luas_ha": 1.25}},
            {"type": "Feature", "id": 3, "geometry": None, "properties": {"nama": "tanpa geometri"}},
        ],
        "numberMatched": 30,
        "numberReturned": 3,
        "links": [
            link(f"{BASE}/collections/parks/items?f=json&limit=3&offset=3", "self", "application/geo+json"),
            link(f"{BASE}/collections/parks/items?f=html&limit=3&offset=3", "alternate", "text/html"),
            link(f"{BASE}/collections/parks?f=json", "collection", title="Taman (RTH)"),
            link(f"{BASE}/collections/parks/items?f=json&limit=3&offset=6", "next", "application/geo+json"),
            link(f"{BASE}/collections/parks/items?f=json&limit=3&offset=0", "prev", "application/geo+json"),
        ],
    }


def collection_doc(cid: str = "parks", illustrative: bool = True) -> dict:
    return {
        "id": cid,
        "title": f"Koleksi {cid}",
        "description": f"Deskripsi {cid}",
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "illustrative": illustrative,
        "extent": {"spatial": {"bbox": [[98.45, 3.55, 98.53, 3.66]]}},
        "links": [
            link(f"{BASE}/collections/{cid}?f=json", "self"),
            link(f"{BASE}/collections/{cid}/items?f=json", "items", "application/geo+json"),
            link(f"{BASE}/collections/{cid}/queryables?f=json", "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                 "application/schema+json"),
        ],
    }


def item_doc() -> dict:
    return {
        "type": "Feature",
        "id": 7,
        "geometry": {"type": "Point", "coordinates": [98.49, 3.6]},
        "properties": {"nama": HOSTILE, "catatan": BREAKOUT},
        "links": [
            link(f"{BASE}/collections/parks/items/7?f=json", "self", "application/geo+json"),
            link(f"{BASE}/collections/parks?f=json", "collection", title="Taman (RTH)"),
        ],
    }


def doc_hrefs(doc: dict) -> set[str]:
    """Every link href of a document, nested ones included."""
    found: set[str] = set()

    def walk(v: object) -> None:
        if isinstance(v, dict):
            if isinstance(v.get("href"), str):
                found.add(v["href"])
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(doc)
    return found


def foreign_urls(page_html: str, doc: dict) -> list[str]:
    """http(s) URLs in the page that are neither under BASE nor one of the document's own links."""
    allowed = doc_hrefs(doc)
    urls = [htmllib.unescape(u) for u in URL_RE.findall(page_html)]
    return [u for u in urls if u != BASE and not u.startswith(BASE + "/") and u not in allowed]


def embedded(page_html: str):
    blocks = DATA_RE.findall(page_html)
    assert len(blocks) == 1, "exactly one data element"
    return json.loads(blocks[0])


# --- escaping ---------------------------------------------------------------------------------------------------


def test_items_page_escapes_hostile_properties():
    doc = items_doc()
    page = render("items", doc, title="Taman <b>RTH</b>", base_url=BASE)
    # no raw markup from the data survives anywhere in the page
    assert HOSTILE not in page
    assert "<img src=x" not in page
    assert "<b>RTH</b>" not in page and "Taman &lt;b&gt;RTH&lt;/b&gt;" in page
    # the properties table shows them as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # only our own script elements: data, leaflet.js, the inline map script
    assert page.count("<script") == 3
    # the embedded GeoJSON cannot be closed early and round-trips exactly
    data = embedded(page)
    assert "<" not in DATA_RE.search(page).group(1)
    assert data["features"][0]["properties"] == doc["features"][0]["properties"]
    assert [f["id"] for f in data["features"]] == [1, 2, 3]


def test_item_page_escapes_hostile_properties():
    page = render("item", item_doc(), title="Fitur 7", base_url=BASE)
    assert HOSTILE not in page and "<img src=x" not in page
    assert page.count("<script") == 3
    assert embedded(page)["features"][0]["properties"]["catatan"] == BREAKOUT


def test_embed_json_escapes_markup_characters():
    text = embed_json({"a": "</script>&<!--", "n": float("nan")})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script>&<!--", "n": None}


def test_unsafe_link_schemes_are_not_linked():
    doc = items_doc()
    doc["links"].append({"href": "javascript:alert(3)", "rel": "related", "title": "x"})
    page = render("items", doc, title="t", base_url=BASE)
    assert "javascript:" not in page


# --- no other host ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page, doc", [
    ("items", items_doc()),
    ("item", item_doc()),
    ("collection", collection_doc()),
    ("collections", {"collections": [collection_doc()], "links": [link(f"{BASE}/collections?f=json", "self")]}),
    ("landing", {"title": "PetaKota", "description": "Kota Binjai",
                 "links": [link(f"{BASE}/?f=json", "self"), link(f"{BASE}/collections?f=json", "data")]}),
])
def test_no_urls_to_other_hosts(page, doc):
    html = render(page, doc, title="t", base_url=BASE)
    assert foreign_urls(html, doc) == []
    html = re.sub(r"""nonce(-|=")[\w-]+""", "", html)  # random; could spell anything
    assert "//unpkg" not in html and "cdn" not in html.lower() and "googleapis" not in html
    assert "tile" not in html.lower()  # no basemap


def test_foreign_url_check_can_fail():
    """The check above does notice a URL that is not from base_url or the document."""
    html = render("items", items_doc(), title="t", base_url=BASE)
    assert foreign_urls(html + '<link href="https://unpkg.com/leaflet.css">', items_doc()) == [
        "https://unpkg.com/leaflet.css"]


def test_map_pages_use_vendored_leaflet():
    for page, doc in (("items", items_doc()), ("item", item_doc()), ("collection", collection_doc())):
        html = render(page, doc, title="t", base_url=BASE)
        assert f'<script src="{BASE}/static/vendor/leaflet/leaflet.js"></script>' in html
        assert f'href="{BASE}/static/vendor/leaflet/leaflet.css"' in html
        assert 'id="map"' in html and "L.geoJSON(" in html
        assert "JSON.parse(document.getElementById(\"data\").textContent)" in html
        assert "window.petakotaReady = true" in html and "window.petakotaFeatureCount = count" in html
    # without base_url the assets are root-relative
    assert '<script src="/static/vendor/leaflet/leaflet.js">' in render("items", items_doc(), title="t")


def test_non_map_pages_do_not_load_leaflet():
    html = render("conformance", {"conformsTo": ["x"], "links": []}, title="t", base_url=BASE)
    assert "leaflet" not in html.lower()
    assert "window.petakotaReady = true" in html


# --- content ----------------------------------------------------------------------------------------------------


def test_items_page_paging_and_json_links():
    html = render("items", items_doc(), title="t", base_url=BASE)
    nxt = re.search(r'<a rel="next" href="([^"]+)">([^<]+)</a>', html)
    prev = re.search(r'<a rel="prev" href="([^"]+)">([^<]+)</a>', html)
    assert nxt and prev
    assert htmllib.unescape(nxt.group(1)) == f"{BASE}/collections/parks/items?limit=3&offset=6&f=html"
    assert htmllib.unescape(prev.group(1)) == f"{BASE}/collections/parks/items?limit=3&offset=0&f=html"
    assert "Berikutnya" in nxt.group(2) and "Sebelumnya" in prev.group(2)
    json_link = re.search(r'<a href="([^"]+)" type="application/json" id="json-link">', html)
    assert json_link
    assert htmllib.unescape(json_link.group(1)) == f"{BASE}/collections/parks/items?f=json&limit=3&offset=3"
    assert "Jumlah cocok: 30" in html  # numberMatched
    # last page: no next link
    last = items_doc()
    last["links"] = [lk for lk in last["links"] if lk["rel"] != "next"]
    assert 'rel="next"' not in render("items", last, title="t", base_url=BASE)


def test_items_page_breadcrumbs_and_item_links():
    html = render("items", items_doc(), title="t", base_url=BASE)
    crumbs = re.search(r'<nav class="crumbs"[^>]*>(.*?)</nav>', html, re.S).group(1)
    assert [htmllib.unescape(h) for h in re.findall(r'href="([^"]+)"', crumbs)] == [
        f"{BASE}/?f=html", f"{BASE}/collections?f=html", f"{BASE}/collections/parks?f=html"]
    assert "Taman (RTH)" in crumbs and "Fitur" in crumbs
    assert f'href="{BASE}/collections/parks/items/2?f=html"' in html


def test_english():
    html = render("items", items_doc(), title="Parks", lang="en", base_url=BASE)
    assert '<html lang="en">' in html
    assert "Next" in html and "Previous" in html and "Home" in html and "Collections" in html
    assert "Berikutnya" not in html and "Beranda" not in html
    html_id = render("items", items_doc(), title="Taman", base_url=BASE)
    assert '<html lang="id">' in html_id and "Beranda" in html_id and "Next" not in html_id
    # localized titles given as {"id": ..., "en": ...}
    coll = dict(collection_doc(), title={"id": "Taman", "en": "Parks"})
    assert ">Parks<" in render("collection", coll, title="x", lang="en")
    assert ">Taman<" in render("collection", coll, title="x", lang="id")


def test_collections_marks_illustrative():
    doc = {"collections": [collection_doc("parks", True), collection_doc("kelurahan", False)],
           "links": [link(f"{BASE}/collections?f=json", "self")]}
    html = render("collections", doc, title="Koleksi", base_url=BASE)
    rows = re.findall(r"<tr>(.*?)</tr>", html.split('<table class="collections">')[1].split("</table>")[0], re.S)
    body = [r for r in rows if "<td>" in r]
    assert len(body) == 2
    assert "Ilustratif" in body[0] and 'href="http://127.0.0.1:8000/collections/parks?f=html"' in body[0]
    assert "Ilustratif" not in body[1] and "<code>kelurahan</code>" in body[1]
    assert html.count('class="badge illustrative"') == 1
    assert "Illustrative" in render("collections", doc, title="Collections", lang="en", base_url=BASE)


def test_collection_extent_map():
    html = render("collection", collection_doc(), title="Taman", base_url=BASE)
    box = embedded(html)["features"][0]["geometry"]
    assert box["type"] == "Polygon"
    assert box["coordinates"][0][0] == [98.45, 3.55] and box["coordinates"][0][2] == [98.53, 3.66]
    assert "98,45; 3,55; 98,53; 3,66" in html  # Bahasa Indonesia: decimal comma, so the list uses semicolons
    assert "98.45, 3.55, 98.53, 3.66" in render("collection", collection_doc(), title="Parks", lang="en",
                                                base_url=BASE)
    assert f'href="{BASE}/collections/parks/items?f=html"' in html
    assert f'href="{BASE}/collections/parks/queryables?f=html"' in html
    assert "<code>OGC:CRS84</code>" in html  # CRS identifiers shown short, not as URLs
    assert 'class="badge illustrative"' in html
    assert 'class="badge illustrative"' not in render("collection", collection_doc("kota", False), title="t")


def test_item_queryables_history_and_landing():
    html = render("item", item_doc(), title="Fitur 7", base_url=BASE)
    assert "Point" in html and "catatan" in html
    q = {"type": "object", "properties": {"nama": {"type": "string", "title": "Nama taman"},
                                          "jenis": {"type": "string", "enum": ["kota", "kecamatan"]}},
         "links": [link(f"{BASE}/collections/parks/queryables?f=json", "self", "application/schema+json")]}
    html = render("queryables", q, title="Queryables", base_url=BASE)
    assert "<code>nama</code>" in html and "Nama taman" in html and "kota, kecamatan" in html
    hist = {"history": [
        {"version": 1, "action": "create", "actor": "ani", "at": "2024-05-01T10:00:00Z", "before": None,
         "after": {"nama": "A"}},
        {"version": 2, "action": "update", "actor": "budi", "at": "2024-05-02T10:00:00Z",
         "before": {"nama": "A", "tetap": 1}, "after": {"nama": HOSTILE, "tetap": 1}}]}
    html = render("history", hist, title="Riwayat", base_url=BASE)
    assert "budi" in html and "update" in html and HOSTILE not in html
    assert "<th>tetap</th>" not in html  # unchanged fields are not listed
    landing = {"title": "PetaKota", "description": "Kota Binjai",
               "links": [link(f"{BASE}/?f=json", "self"), link(f"{BASE}/collections?f=json", "data")]}
    html = render("landing", landing, title="PetaKota", base_url=BASE)
    assert f'href="{BASE}/collections?f=html">Koleksi</a>' in html and "Kota Binjai" in html


def test_all_pages_render_and_unknown_page_is_refused():
    for page in PAGES:
        assert "<h1>x</h1>" in render(page, {}, title="x")
    with pytest.raises(ValueError):
        render("nope", {}, title="x")


def test_with_format_keeps_other_parameters():
    assert with_format("http://h/c/items?f=json&bbox=1%2C2&limit=5", "html") == "http://h/c/items?bbox=1%2C2&limit=5&f=html"
    assert with_format("/c/items", "json") == "/c/items?f=json"
    assert with_format("javascript:alert(1)", "html") is None


# --- vendored Leaflet -------------------------------------------------------------------------------------------


def test_vendored_leaflet_is_complete_and_offline():
    js = (LEAFLET / "leaflet.js").read_text(encoding="utf-8")
    css = (LEAFLET / "leaflet.css").read_text(encoding="utf-8")
    assert js.startswith("/* @preserve") and "Leaflet 1.9." in js[:200] and len(js) > 100_000
    assert ".leaflet-container" in css
    for name in ("layers.png", "layers-2x.png", "marker-icon.png", "marker-icon-2x.png", "marker-shadow.png"):
        assert (LEAFLET / "images" / name).stat().st_size > 0
    assert "BSD" in (LEAFLET / "LICENSE").read_text(encoding="utf-8") or "Redistribution" in (
        LEAFLET / "LICENSE").read_text(encoding="utf-8")
    for text in (js, css):
        assert "//unpkg" not in text and "cdn" not in text.lower()
    # CSS assets are relative to the vendored directory
    assert all(not u.startswith(("http:", "https:", "//")) for u in re.findall(r"url\(([^)]+)\)", css))


def test_items_page_keeps_the_city_in_its_links_and_drops_what_is_not_a_city():
    page = render("items", items_doc(), title="Taman", base_url=BASE, city="12.06,12.75")
    hrefs = [htmllib.unescape(h) for h in re.findall(r'href="([^"]+)"', page)]
    features = [h for h in hrefs if re.search(r"/collections/parks/items/\d+\?", h)]
    assert len(features) == 3 and all(h.endswith("&city=12.06,12.75") for h in features)
    embedded = json.loads(DATA_RE.search(page).group(1))["features"]
    assert all(f["href"].endswith("city=12.06,12.75") for f in embedded)
    assert f"{BASE}/collections/parks?f=html&city=12.06,12.75" in hrefs  # the breadcrumb back to the collection
    assert f"{BASE}/?f=html" in hrefs  # home takes no city
    for hostile in (HOSTILE, '12.75"><b>x</b>', "javascript:alert(1)"):
        assert "city=" not in render("items", items_doc(), title="Taman", base_url=BASE, city=hostile)
    assert "city=" not in render("items", items_doc(), title="Taman", base_url=BASE)


def test_landing_lists_the_cities_with_their_data_and_map():
    doc = {"title": "PetaKota", "links": [link(f"{BASE}/?f=json", "self")], "cities": [
        {"code": "12.07", "name": "Kabupaten Deli Serdang", "kind": "kabupaten", "links": [
            link(f"{BASE}/cities/12.07", "describedby"), link(f"{BASE}/map?city=12.07", "alternate", "text/html")]},
        {"code": "12.99", "name": HOSTILE, "kind": None, "links": [
            link("javascript:alert(1)", "describedby"), link("//evil.example/map", "alternate", "text/html")]}]}
    page = render("landing", doc, title="PetaKota", base_url=BASE)
    section = page.split('<section id="cities">', 1)[1].split("</section>", 1)[0]
    assert f'href="{BASE}/cities/12.07"' in section and f'href="{BASE}/map?city=12.07"' in section
    assert "Kabupaten Deli Serdang" in section and "kabupaten" in section
    assert HOSTILE not in page and "javascript:" not in section and "evil.example" not in section
    assert '<section id="cities">' not in render("landing", {"title": "PetaKota"}, title="PetaKota", base_url=BASE)
