"""HTTP protocol over the real server: HEAD on every kind of GET resource (RFC 9110 9.3.2), and the typed query
parameters and documented writes that /api (OpenAPI) shows to client generators."""

import morecantile
import pytest
from sqlalchemy import text

from gis.core import crs as crs_mod
from tests.conftest import problem_of

TMS = morecantile.tms.get("WebMercatorQuad")
TILE = TMS.tile(98.49, 3.60, 14)
RASTER_TILE = TMS.tile(98.49, 3.60, 13)
# Headers that describe the representation and must be the same for HEAD as for GET.
SAME_HEADERS = ("content-type", "etag", "content-crs", "content-encoding", "cache-control", "accept-patch",
                "content-disposition", "vary", "location", "allow")


@pytest.fixture(scope="module")
def park_id(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT min(id) FROM parks")).scalar()


GET_RESOURCES = [
    ("/", {}),
    ("/", {"f": "html"}),
    ("/healthz", {}),
    ("/conformance", {}),
    ("/api", {}),
    ("/collections", {}),
    ("/collections/parks", {}),
    ("/collections/parks", {"f": "html"}),
    ("/collections/parks/queryables", {}),
    ("/collections/parks/schema", {}),
    ("/collections/parks/items", {"limit": 3}),
    ("/collections/parks/items", {"limit": 3, "f": "html"}),
    ("/collections/parks/items", {"limit": 3, "f": "csv"}),
    ("/collections/parks/items/{park}", {}),
    ("/collections/parks/items/{park}", {"f": "html"}),
    ("/collections/parks/items/{park}/history", {}),
    ("/collections/parks/tiles", {}),
    (f"/collections/parks/tiles/WebMercatorQuad/{TILE.z}/{TILE.x}/{TILE.y}", {}),
    (f"/tiles/WebMercatorQuad/{TILE.z}/{TILE.x}/{TILE.y}", {"collections": "parks,roads"}),
    ("/tileMatrixSets", {}),
    ("/styles/default/style.json", {"collections": "parks"}),
    ("/rasters", {}),
    ("/rasters/slope", {}),
    (f"/rasters/landcover_2024/tiles/WebMercatorQuad/{RASTER_TILE.z}/{RASTER_TILE.x}/{RASTER_TILE.y}.png", {}),
    ("/processes", {}),
    ("/layers", {}),
    ("/kbli", {"q": "roti"}),
    ("/cities/12.75/rdtr", {}),
    ("/cities/12.75/itbx", {"kbli": "68130"}),
    ("/map", {}),
    ("/static/petakota/map.js", {}),
    # Errors too: HEAD answers what GET answers.
    ("/collections/nope", {}),
    ("/collections/parks/items/99999999", {}),
    ("/collections/parks/items", {"f": "xml"}),
    ("/processes/nope/execution", {}),
]


@pytest.mark.parametrize("path, params", GET_RESOURCES)
def test_head_answers_like_get_without_a_body(http, park_id, path, params):
    path = path.replace("{park}", str(park_id))
    get = http.get(path, params=params)
    head = http.head(path, params=params)
    assert head.status_code == get.status_code, (path, head.status_code, get.status_code)
    assert head.content == b""
    assert get.status_code == 204 or get.content  # the GET did carry a body (so dropping it is what HEAD did)
    assert {h: head.headers.get(h) for h in SAME_HEADERS} == {h: get.headers.get(h) for h in SAME_HEADERS}


def test_head_of_an_item_has_its_etag_and_the_length_of_its_get(http, park_id, engine):
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version FROM parks WHERE id = :id"), {"id": park_id}).scalar()
    url = f"/collections/parks/items/{park_id}"
    plain = {"Accept-Encoding": "identity"}
    get, head = http.get(url, headers=plain), http.head(url, headers=plain)
    assert head.status_code == 200 and head.headers["etag"] == get.headers["etag"] == f'"{version}"'
    assert int(head.headers["content-length"]) == len(get.content) > 0
    assert head.headers["content-type"] == "application/geo+json"


# --- typed parameters in /api --------------------------------------------------------------------------------

def _enum(schema: dict) -> set:
    for option in schema.get("anyOf", [schema]):
        if "enum" in option:
            return set(option["enum"])
    return set()


def test_api_lists_the_allowed_values_of_the_items_parameters(http, settings):
    paths = http.get("/api").json()["paths"]
    items = {p["name"]: p["schema"] for p in paths["/collections/{collection_id}/items"]["get"]["parameters"]}
    item = {p["name"]: p["schema"]
            for p in paths["/collections/{collection_id}/items/{feature_id}"]["get"]["parameters"]}
    offered = {c.uri for c in crs_mod.supported(settings.city.metric_crs)}
    assert _enum(items["f"]) == {"json", "geojson", "html", "csv", "gpkg"}
    assert _enum(item["f"]) == {"json", "geojson", "html"}
    assert _enum(items["filter-lang"]) == {"cql2-text", "cql2-json"}
    for schema in (items["crs"], items["bbox-crs"], items["filter-crs"], item["crs"]):
        assert offered <= _enum(schema)
    # A bad value is answered 400 problem+json (api/errors.py), and that is what /api says, not a 422.
    for route in (paths["/collections/{collection_id}/items"]["get"],
                  paths["/collections/{collection_id}/items/{feature_id}"]["get"]):
        assert "422" not in route["responses"]
        assert list(route["responses"]["400"]["content"]) == ["application/problem+json"]


def test_api_documents_the_write_bodies_answers_and_preconditions(http):
    paths = http.get("/api").json()["paths"]
    one = paths["/collections/{collection_id}/items/{feature_id}"]
    assert set(one["patch"]["requestBody"]["content"]) == {"application/merge-patch+json", "application/geo+json"}
    for method in ("put", "patch", "delete"):
        assert {"204", "400", "412", "428"} <= set(one[method]["responses"])
        assert "422" not in one[method]["responses"]
        assert list(one[method]["responses"]["412"]["content"]) == ["application/problem+json"]
        assert any(p["name"] == "If-Match" and p["in"] == "header" for p in one[method]["parameters"])
    assert "ETag" in one["patch"]["responses"]["204"]["headers"]
    created = paths["/collections/{collection_id}/items"]["post"]["responses"]["201"]
    assert {"Location", "ETag"} <= set(created["headers"])
    schema = created["content"]["application/json"]["schema"]
    assert schema.get("$ref", "").endswith("/Created")


@pytest.mark.parametrize("params, words", [
    ({"f": "xml"}, ["f", "gpkg"]),
    ({"filter-lang": "cql2-xml"}, ["filter-lang", "cql2-json"]),
    ({"crs": "EPSG:1; DROP TABLE kelurahan"}, ["crs", "EPSG/0/32647"]),
    ({"bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/9999"}, ["bbox-crs"]),
    ({"filter-crs": "nope"}, ["filter-crs"]),
])
def test_a_value_outside_the_listed_ones_is_a_400_problem_naming_the_parameter(http, params, words):
    r = http.get("/collections/kelurahan/items", params=params)
    detail = problem_of(r)["detail"]
    assert r.status_code == 400
    for word in words:
        assert word in detail, (word, detail)


def test_a_listed_crs_that_this_city_does_not_offer_is_a_400_naming_the_offered_ones(http, settings):
    offered = {c.srid for c in crs_mod.supported(settings.city.metric_crs)}
    other = next(z for z in range(32746, 32755) if z not in offered)
    r = http.get("/collections/kelurahan/items", params={"crs": f"http://www.opengis.net/def/crs/EPSG/0/{other}"})
    assert "is not supported; use one of" in problem_of(r)["detail"]
    assert problem_of(r)["status"] == 400


@pytest.mark.parametrize("short, srid", [("EPSG:32647", 32647), ("urn:ogc:def:crs:EPSG::3857", 3857),
                                         ("CRS84", 4326)])
def test_crs_short_forms_keep_working(http, short, srid):
    """Planners type `crs=EPSG:32647`; the typed parameter must not refuse what the service always took."""
    r = http.get("/collections/kelurahan/items", params={"crs": short, "limit": 1})
    assert r.status_code == 200, r.text[:300]
    x = r.json()["features"][0]["geometry"]["coordinates"][0][0][0]
    x = x[0] if isinstance(x, list) else x
    assert (abs(x) > 1000) == (srid != 4326)
    bbox = {4326: "98.45,3.55,98.55,3.65", 3857: "10959000,395000,10971000,407000",
            32647: "440000,390000,460000,410000"}[srid]
    r = http.get("/collections/kelurahan/items", params={"bbox": bbox, "bbox-crs": short, "limit": 1})
    assert r.status_code == 200 and r.json()["numberReturned"] == 1, r.text[:300]
