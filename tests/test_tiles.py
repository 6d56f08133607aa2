"""Vector tiles over real HTTP: decoded with mapbox_vector_tile and checked against the database; cache
invalidation on edits; no private field in any anonymous tile; metadata; PMTiles export."""

import gzip
import json
import os
import subprocess
import sys
import time

import mapbox_vector_tile
import morecantile
import pytest
import shapely
from pmtiles.reader import MmapSource, Reader, all_tiles
from shapely.geometry import box
from sqlalchemy import text

from gis.tiles.vector import BUFFER, EXTENT, render_tile
from layers import CATALOG
from tests.conftest import problem_of

TMS = morecantile.tms.get("WebMercatorQuad")
ESTATE_TILE = TMS.tile(98.528, 3.601, 14)  # the industrial estate in Tunggurono
CITY_TILE = TMS.tile(98.49, 3.60, 11)
PRIVATE = {"pemilik", "nik", "kompensasi_rp", "kontak_nama", "kontak_telepon"}


def _tile(http, path, **headers):
    r = http.get(path, headers=headers)
    assert r.status_code == 200, r.text[:200]
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    return r, mapbox_vector_tile.decode(r.content)


def _features_in_tile(engine, layer, tile, buffered=True):
    """Ids of features intersecting the (buffered) tile, computed with shapely from the stored geometry."""
    b = TMS.xy_bounds(tile)
    margin = (b.right - b.left) * BUFFER / EXTENT if buffered else 0
    area = box(b.left - margin, b.bottom - margin, b.right + margin, b.top + margin)
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, ST_AsBinary(ST_Transform(geom, 3857)) FROM {layer}")).all()
    return {fid for fid, wkb in rows if shapely.from_wkb(wkb).intersects(area)}


def test_parcel_tile_has_the_features_and_public_properties_of_the_database(http, engine):
    r, tile = _tile(http, f"/collections/project_parcels/tiles/WebMercatorQuad/{ESTATE_TILE.z}/{ESTATE_TILE.x}/"
                          f"{ESTATE_TILE.y}")
    features = tile["project_parcels"]["features"]
    assert {f["id"] for f in features} == _features_in_tile(engine, "project_parcels", ESTATE_TILE)
    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT id, status FROM project_parcels")).all())
    for f in features:
        assert f["properties"]["status"] == statuses[f["id"]]
        # the public fields and the city the feature lies in
        assert set(f["properties"]) == {fl.name for fl in CATALOG["project_parcels"].public_fields} | {"kabkota"}
    assert tile["project_parcels"]["extent"] == EXTENT


def test_multi_layer_tile_and_the_feature_cap(http, engine):
    path = f"/tiles/WebMercatorQuad/{CITY_TILE.z}/{CITY_TILE.x}/{CITY_TILE.y}?collections=zoning,parks,roads"
    _, tile = _tile(http, path)
    assert set(tile) == {"zoning", "parks", "roads"}
    assert len(tile["roads"]["features"]) == len(_features_in_tile(engine, "roads", CITY_TILE))
    with engine.connect() as conn:
        capped = render_tile(conn, [CATALOG["zoning"]], CITY_TILE.z, CITY_TILE.x, CITY_TILE.y, False, cap=25)
        full = render_tile(conn, [CATALOG["zoning"]], CITY_TILE.z, CITY_TILE.x, CITY_TILE.y, False, cap=10_000)
    # the cap holds (a capped feature too small to draw at this zoom is left out, so it may be fewer)
    n_capped = len(mapbox_vector_tile.decode(capped.data)["zoning"]["features"])
    n_full = len(mapbox_vector_tile.decode(full.data)["zoning"]["features"])
    assert 20 <= n_capped <= 25 < n_full
    assert capped.truncated == ("zoning",) and full.truncated == ()


def test_a_low_zoom_tile_is_smaller_than_the_features_at_full_detail(http, engine):
    tile = TMS.tile(98.49, 3.60, 10)
    r, decoded = _tile(http, f"/collections/zoning/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}")
    with engine.connect() as conn:
        full_bytes, full_vertices = conn.execute(text(
            "SELECT sum(length(ST_AsBinary(geom))), sum(ST_NPoints(geom)) FROM zoning")).one()
    tile_vertices = sum(len(shapely.geometry.shape(f["geometry"]).exterior.coords)
                        if f["geometry"]["type"] == "Polygon" else 0 for f in decoded["zoning"]["features"])
    assert len(r.content) < full_bytes / 2
    assert tile_vertices < full_vertices


def test_cached_tile_answers_304_and_an_api_edit_shows_in_the_next_tile(http, engine, keys):
    with engine.connect() as conn:
        fid, version = conn.execute(text(
            "SELECT p.id, p.version FROM project_parcels p ORDER BY p.id LIMIT 1")).one()
        lon, lat = conn.execute(text(
            "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM project_parcels "
            "WHERE id = :i"), {"i": fid}).one()
    t = TMS.tile(lon, lat, 15)
    path = f"/collections/project_parcels/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
    first, tile = _tile(http, path)
    assert http.get(path, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    before = next(f for f in tile["project_parcels"]["features"] if f["id"] == fid)["properties"]["status"]
    new_status = "certified" if before != "certified" else "identified"
    r = http.patch(f"/collections/project_parcels/items/{fid}", json={"type": "Feature",
                   "properties": {"status": new_status}},
                   headers={"X-API-Key": keys["planner"], "If-Match": f'"{version}"'})
    assert r.status_code == 204, r.text
    second, tile = _tile(http, path)
    assert second.headers["etag"] != first.headers["etag"]
    assert next(f for f in tile["project_parcels"]["features"] if f["id"] == fid)["properties"]["status"] == new_status


def test_an_edit_made_directly_in_the_database_reaches_the_tile_cache(http, engine):
    with engine.connect() as conn:
        fid, lon, lat = conn.execute(text(
            "SELECT id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM parks "
            "WHERE kelas = 'taman kota'")).one()
    t = TMS.tile(lon, lat, 15)
    path = f"/collections/parks/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
    _tile(http, path)  # now cached
    with engine.begin() as conn:  # like a planner editing in QGIS straight on PostGIS
        conn.execute(text("UPDATE parks SET nama = 'Taman Kota Binjai (diubah)' WHERE id = :i"), {"i": fid})
    deadline, name = time.time() + 5, None
    while time.time() < deadline:
        _, tile = _tile(http, path)
        name = next(f for f in tile["parks"]["features"] if f["id"] == fid)["properties"]["nama"]
        if name.endswith("(diubah)"):
            break
        time.sleep(0.1)
    assert name == "Taman Kota Binjai (diubah)"


def _private_values(engine):
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT pemilik, nik FROM project_parcels UNION ALL "
                                 "SELECT kontak_nama, kontak_telepon FROM business_centers")).all()
    return {str(v) for row in rows for v in row if v}


def _leaks(decoded: dict, private_values: set) -> list:
    found = []
    for layer in decoded.values():
        for f in layer["features"]:
            found += [k for k in f["properties"] if k in PRIVATE]
            found += [v for v in f["properties"].values() if str(v) in private_values]
    return found


def test_no_anonymous_tile_carries_a_private_field(http, engine, keys):
    values = _private_values(engine)
    tiles = [TMS.tile(98.528, 3.601, z) for z in (11, 13, 15)] + list(TMS.tiles(98.44, 3.53, 98.54, 3.67, [12]))
    for t in tiles:
        _, decoded = _tile(http, f"/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}")
        assert _leaks(decoded, values) == []
    # the same tile with an analyst key does carry them: the check above can fail
    t = TMS.tile(98.528, 3.601, 13)
    _, decoded = _tile(http, f"/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}", **{"X-API-Key": keys["analyst"]})
    assert _leaks(decoded, values)


def test_tile_metadata_tilejson_and_style(http):
    assert http.get("/tileMatrixSets/WebMercatorQuad").json()["id"] == "WebMercatorQuad"
    tileset = http.get("/collections/parks/tiles/WebMercatorQuad").json()
    assert tileset["links"][1]["href"].endswith("/collections/parks/tiles/WebMercatorQuad/{tileMatrix}/{tileCol}/"
                                                "{tileRow}")
    tj = http.get("/tiles/WebMercatorQuad/tilejson.json", params={"collections": "parks,zoning"}).json()
    assert tj["tilejson"] == "3.0.0" and [v["id"] for v in tj["vector_layers"]] == ["parks", "zoning"]
    assert tj["tiles"][0].endswith("?collections=parks,zoning")
    style = http.get("/styles/default/style.json", params={"collections": "parks,roads"}).json()
    assert style["version"] == 8
    fill = next(layer for layer in style["layers"] if layer["id"] == "parks-fill")
    assert fill["paint"]["fill-color"][:2] == ["match", ["get", "kelas"]]
    assert "#416900" in fill["paint"]["fill-color"]  # taman kota, RDTR colour
    assert problem_of(http.get("/tiles/WebMercatorQuad/3/9/0"))["status"] == 400
    assert problem_of(http.get("/tiles/OtherQuad/3/1/1"))["status"] == 404
    assert problem_of(http.get("/tiles/WebMercatorQuad/3/1/1?collections=api_keys"))["status"] == 404


def test_export_pmtiles_public_is_readable_and_has_no_private_field(settings, engine, tmp_path):
    out = tmp_path / "binjai.pmtiles"
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    result = subprocess.run([sys.executable, "-m", "gis", "export-pmtiles", "--public", "--out", str(out),
                             "--minzoom", "11", "--maxzoom", "13"], capture_output=True, text=True, env=env,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    with open(out, "rb") as f:
        source = MmapSource(f)
        reader = Reader(source)
        header, metadata = reader.header(), reader.metadata()
        tiles = list(all_tiles(source))
    assert header["tile_type"].name == "MVT" and (header["min_zoom"], header["max_zoom"]) == (11, 13)
    assert {v["id"] for v in metadata["vector_layers"]} >= {"kelurahan", "parks", "project_parcels"}
    assert not PRIVATE & {k for v in metadata["vector_layers"] for k in v["fields"]}
    assert len(tiles) >= 6
    values = _private_values(engine)
    layers_seen = set()
    for _, data in tiles:
        decoded = mapbox_vector_tile.decode(gzip.decompress(data))
        layers_seen |= set(decoded)
        assert _leaks(decoded, values) == []
    assert {"kelurahan", "project_parcels", "business_centers"} <= layers_seen
    assert json.loads(metadata["petakota"])["public_fields_only"] is True


@pytest.mark.parametrize("z", [11, 14])
def test_feature_ids_are_unique_per_layer(http, z):
    t = TMS.tile(98.5, 3.6, z)
    _, decoded = _tile(http, f"/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}?collections=zoning,parks")
    for layer in decoded.values():
        ids = [f["id"] for f in layer["features"]]
        assert len(ids) == len(set(ids))


def test_vector_tile_routes_solve_one_dependency_and_still_document_city_and_if_none_match(settings):
    """A cached tile is mostly framework overhead: each FastAPI dependency is solved separately, so the tile routes
    gather the caller, the services, `?city=` and If-None-Match in one."""
    from api.app import create_app
    from api.routers.tiles import router

    app = create_app(settings)
    tile_routes = {"/collections/{collection_id}/tiles/{tms}/{z}/{x}/{y}", "/tiles/{tms}/{z}/{x}/{y}"}
    routes = [r for r in router.routes if r.path in tile_routes]
    assert len(routes) == 2
    for route in routes:
        assert len(route.dependant.dependencies) == 1, route.path
        params = {(p["name"], p["in"]) for p in app.openapi()["paths"][route.path]["get"]["parameters"]}
        assert {("city", "query"), ("if-none-match", "header"), ("z", "path")} <= params
