"""A layer added at runtime (POST /admin/layers) works everywhere a built-in layer does: items and CQL2, writes
with history and restore, vector tiles, CSV and GeoPackage, the store, the web map, explore(), the health
count and the PMTiles export."""

import gzip
import io
import json
import re
import time

import geopandas as gpd
import httpx
import mapbox_vector_tile
import morecantile
import pandas as pd
import pytest
from pmtiles.reader import MmapSource, Reader, all_tiles
from shapely.geometry import box, mapping, shape
from sqlalchemy import text

from gis.client import Client
from gis.data import store
from gis.render.explore import explore
from layers import CATALOG
from tests.cli_inprocess import run_cli
from tests.conftest import problem_of
from tests.test_sample_city import utm_area_ha

TMS = morecantile.tms.get("WebMercatorQuad")
LAYER = "kebun_warga"
HIDDEN = "kebun_rahasia"
COLORS = {"sayur": "#2a9d3c", "buah": "#e07b00"}


def declaration(layer_id: str, public: bool = True) -> dict:
    def field(name, kind, **more):
        return {"name": name, "type": kind, "title": {"id": name, "en": name}, **more}

    return {
        "id": layer_id, "title": {"id": "Kebun warga", "en": "Community gardens"}, "geometry_type": "MultiPolygon",
        "source": "Dinas Pertanian (uji)", "illustrative": True, "public": public, "key": "kode",
        "fields": [field("kode", "text", required=True), field("nama", "text", required=True),
                   field("jenis", "text", choices=list(COLORS)), field("luas_rencana", "number"),
                   field("pengelola_hp", "text", public=False), field("area_ha", "number", computed=True)],
        "style": {"color": "#7a5c3e", "fill_opacity": 0.6, "weight": 1.0, "by": "jenis"},
        "legend": [{"label": {"id": k, "en": k}, "color": c, "value": k} for k, c in COLORS.items()],
    }


def garden(i: int, width_m: float, kind: str) -> dict:
    """A width x 100 m rectangle in UTM 47N inside Binjai, sent in lon/lat."""
    utm = box(445000 + 400 * i, 398000, 445000 + 400 * i + width_m, 398100)
    geom = gpd.GeoSeries([utm], crs=32647).to_crs(4326).iloc[0]
    return {"type": "Feature", "geometry": mapping(geom),
            "properties": {"kode": f"KW-{i}", "nama": f"Kebun {i}", "jenis": kind, "luas_rencana": width_m / 100,
                           "pengelola_hp": f"08120000{i:04d}"}}


GARDENS = [garden(0, 100, "sayur"), garden(1, 200, "buah"), garden(2, 150, "sayur")]


@pytest.fixture(scope="module")
def gardens(server, keys):
    """The runtime layers (one public, one not), added over HTTP; the public one holds GARDENS."""
    with httpx.Client(base_url=server, timeout=30) as client:
        admin, planner = {"X-API-Key": keys["admin"]}, {"X-API-Key": keys["planner"]}
        for layer_id, public in ((LAYER, True), (HIDDEN, False)):
            r = client.post("/admin/layers", json=declaration(layer_id, public), headers=admin)
            assert r.status_code == 201, r.text
        ids = {}
        for feature in GARDENS:
            r = client.post(f"/collections/{LAYER}/items", json=feature, headers=planner)
            assert r.status_code == 201, r.text
            ids[feature["properties"]["kode"]] = r.json()["id"]
        r = client.post(f"/collections/{HIDDEN}/items", json=garden(3, 100, "buah"), headers=planner)
        assert r.status_code == 201, r.text
    return ids


@pytest.fixture()
def planner(http, keys):
    http.headers["X-API-Key"] = keys["planner"]
    yield http
    http.headers.pop("X-API-Key", None)


def test_items_read_anonymously_with_computed_area_and_no_private_field(http, gardens):
    body = http.get(f"/collections/{LAYER}/items").json()
    got = {f["properties"]["kode"]: f for f in body["features"]}
    assert set(got) == {g["properties"]["kode"] for g in GARDENS}
    for g in GARDENS:
        props = got[g["properties"]["kode"]]["properties"]
        assert "pengelola_hp" not in props
        assert props["area_ha"] == pytest.approx(utm_area_ha(shape(g["geometry"])), rel=1e-6)
    assert problem_of(http.get(f"/collections/{HIDDEN}/items"))["status"] == 404


@pytest.mark.parametrize(("cql", "keep"), [
    ("area_ha > 1.2", lambda g: utm_area_ha(shape(g["geometry"])) > 1.2),
    ("jenis = 'sayur' AND luas_rencana < 1.2", lambda g: g["properties"]["jenis"] == "sayur"
     and g["properties"]["luas_rencana"] < 1.2),
])
def test_cql2_filters_a_runtime_layer(http, gardens, cql, keep):
    body = http.get(f"/collections/{LAYER}/items", params={"filter": cql}).json()
    expected = sorted(g["properties"]["kode"] for g in GARDENS if keep(g))
    assert expected and sorted(f["properties"]["kode"] for f in body["features"]) == expected


def _edit_cycle(client, layer: str, feature: dict, replace: dict, patch: dict) -> tuple[dict, dict, list]:
    """POST, PUT, PATCH, DELETE, restore version 2; then delete again (leaving the layer as it was).
    Returns the feature after the PATCH, after the restore, and the actions of its history."""
    r = client.post(f"/collections/{layer}/items", json=feature)
    assert r.status_code == 201, r.text
    url = f"/collections/{layer}/items/{r.json()['id']}"
    replaced = {**feature, "properties": {**feature["properties"], **replace}}
    r = client.put(url, json=replaced, headers={"If-Match": r.headers["etag"]})
    assert r.status_code == 204, r.text
    r = client.patch(url, json={"type": "Feature", "properties": patch}, headers={"If-Match": r.headers["etag"]})
    assert r.status_code == 204, r.text
    patched = client.get(url).json()["properties"]
    assert client.delete(url, headers={"If-Match": r.headers["etag"]}).status_code == 204
    assert client.get(url).status_code == 404
    assert client.post(f"{url}/history/2/restore").status_code == 204
    restored = client.get(url)
    actions = [h["action"] for h in client.get(f"{url}/history").json()["history"]]
    assert client.delete(url, headers={"If-Match": restored.headers["etag"]}).status_code == 204
    return patched, restored.json()["properties"], actions


def test_put_patch_delete_history_and_restore_as_on_a_built_in_layer(planner, engine, gardens):
    new = garden(5, 100, "buah")
    patched, restored, actions = _edit_cycle(planner, LAYER, new, {"nama": "Kebun Lima", "luas_rencana": 3.0},
                                             {"jenis": "sayur"})
    assert (patched["nama"], patched["jenis"], patched["luas_rencana"], patched["pengelola_hp"]) == (
        "Kebun Lima", "sayur", 3.0, new["properties"]["pengelola_hp"])
    assert (restored["nama"], restored["jenis"], restored["luas_rencana"]) == ("Kebun Lima", "buah", 3.0)
    park = {"type": "Feature", "geometry": new["geometry"],
            "properties": {"nama": "Taman Uji", "kelas": "taman rw", "publik": True}}
    _, _, park_actions = _edit_cycle(planner, "parks", park, {"nama": "Taman Lima"}, {"kelas": "taman rt"})
    assert actions == park_actions and len(actions) == 5
    bad = planner.post(f"/collections/{LAYER}/items", json=garden(6, 100, "bunga"))
    assert problem_of(bad)["status"] == 400 and "jenis" in problem_of(bad)["detail"]
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {LAYER} WHERE kode = 'KW-6'")).scalar() == 0


def _tile(http, z: int, g: dict) -> tuple[str, dict]:
    c = shape(g["geometry"]).centroid
    t = TMS.tile(c.x, c.y, z)
    r = http.get(f"/collections/{LAYER}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}")
    assert r.status_code == 200, r.text[:200]
    return r.headers["etag"], mapbox_vector_tile.decode(r.content)


def _tile_name(http, g: dict, fid: int) -> str:
    _, tile = _tile(http, 16, g)
    return next(f for f in tile[LAYER]["features"] if f["id"] == fid)["properties"]["nama"]


def test_vector_tiles_carry_the_features_and_follow_api_and_database_edits(planner, engine, gardens):
    g = GARDENS[1]
    fid = gardens[g["properties"]["kode"]]
    etag, _ = _tile(planner, 16, g)
    assert _tile_name(planner, g, fid) == g["properties"]["nama"]
    version = planner.get(f"/collections/{LAYER}/items/{fid}").headers["etag"]
    r = planner.patch(f"/collections/{LAYER}/items/{fid}", headers={"If-Match": version},
                      json={"type": "Feature", "properties": {"nama": "Kebun Dua"}})
    assert r.status_code == 204, r.text
    assert _tile(planner, 16, g)[0] != etag and _tile_name(planner, g, fid) == "Kebun Dua"
    # an edit straight in the database (QGIS) reaches the cache through the table's NOTIFY trigger
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {LAYER} SET nama = :n WHERE id = :i"), {"n": g["properties"]["nama"], "i": fid})
    deadline = time.time() + 5
    while _tile_name(planner, g, fid) != g["properties"]["nama"] and time.time() < deadline:
        time.sleep(0.1)
    assert _tile_name(planner, g, fid) == g["properties"]["nama"]


def test_csv_and_geopackage_exports(http, gardens):
    r = http.get(f"/collections/{LAYER}/items", params={"f": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(r.text))
    assert sorted(table["kode"]) == sorted(g["properties"]["kode"] for g in GARDENS)
    assert "pengelola_hp" not in table.columns
    r = http.get(f"/collections/{LAYER}/items", params={"f": "gpkg"})
    frame = gpd.read_file(io.BytesIO(r.content))
    assert len(frame) == len(GARDENS) and frame.crs.to_epsg() == 4326
    assert frame.to_crs(32647).area.sum() / 1e4 == pytest.approx(
        sum(utm_area_ha(shape(g["geometry"])) for g in GARDENS), rel=1e-3)


def test_store_reads_it_and_explore_draws_it_with_its_own_legend(engine, server, gardens):
    with engine.connect() as conn:
        frame = store.read_layer(conn, LAYER)
        private = store.read_layer(conn, LAYER, include_private=True)
        assert store.count(conn, HIDDEN) == 1
    assert sorted(frame["kode"]) == sorted(g["properties"]["kode"] for g in GARDENS)
    assert "pengelola_hp" not in frame.columns and "pengelola_hp" in private.columns
    for source in (frame, Client(server).read(LAYER)):
        page = explore(source).get_root().render()
        assert "Kebun warga" in page and all(color in page for color in COLORS.values())


def _map_config(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="petakota-config">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def test_web_map_and_health_list_it(http, keys, engine, gardens):
    layers = {c["id"]: c for c in _map_config(http.get("/map").text)["layers"]}
    assert LAYER in layers and HIDDEN not in layers
    assert layers[LAYER]["tiles"].endswith(f"/collections/{LAYER}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}")
    assert [e["color"] for e in layers[LAYER]["style"]["legend"]] == list(COLORS.values())
    private = _map_config(http.get("/map", headers={"X-API-Key": keys["analyst"]}).text)
    assert HIDDEN in {c["id"] for c in private["layers"]}
    with engine.connect() as conn:
        registered = conn.execute(text("SELECT count(*) FROM layer_registry")).scalar()
    assert http.get("/healthz").json()["layers"] == len(CATALOG) + registered


def _export(settings, out, *flags) -> tuple[dict, dict]:
    """Layers in a PMTiles export at zoom 12 (its metadata's fields, and the features its tiles carry); the
    command runs in this process (test_tiles runs export-pmtiles through python -m gis)."""
    result = run_cli("export-pmtiles", "--out", str(out), "--minzoom", "12", "--maxzoom", "12", *flags,
                     env={"DATABASE_URL": settings.database_url})
    assert result.returncode == 0, result.stderr
    with open(out, "rb") as f:
        source = MmapSource(f)
        fields = {v["id"]: set(v["fields"]) for v in Reader(source).metadata()["vector_layers"]}
        features: dict = {}
        for _, data in all_tiles(source):
            for name, layer in mapbox_vector_tile.decode(gzip.decompress(data)).items():
                features.setdefault(name, {}).update({f["id"]: f["properties"] for f in layer["features"]})
    return fields, features


def test_export_pmtiles_includes_it_when_public(settings, gardens, tmp_path):
    started = time.time()
    fields, features = _export(settings, tmp_path / "public.pmtiles", "--public")
    assert LAYER in fields and HIDDEN not in fields and "pengelola_hp" not in fields[LAYER]
    assert {p["kode"] for p in features[LAYER].values()} == {g["properties"]["kode"] for g in GARDENS}
    fields, features = _export(settings, tmp_path / "all.pmtiles", "--all-fields")
    assert {LAYER, HIDDEN} <= set(fields) and "pengelola_hp" in fields[HIDDEN]
    assert [p["kode"] for p in features[HIDDEN].values()] == ["KW-3"]
    assert time.time() - started < 300
