"""Cities as scope, on a region database (Binjai sample + Kabupaten Deli Serdang + Kabupaten Karo, real boundaries)
served by its own HTTP server: per-city counts and areas, every row placed in its city, writes outside every city
refused, and `?city=` on items, extents, exports and vector tiles checked against the database."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import geopandas as gpd
import httpx
import mapbox_vector_tile
import morecantile
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import box, mapping
from sqlalchemy import text

from gis.data.registry import load_catalog
from gis.data.sample import load_sample
from tests.conftest import problem_of

DATA = Path(__file__).resolve().parents[1] / "layers" / "sample" / "data"
FILES = {"12.75": ("kota_binjai", "kecamatan_binjai", "kelurahan_binjai"),
         "12.07": ("kabkota_deli_serdang", "kecamatan_deli_serdang", "desa_kelurahan_deli_serdang"),
         "12.06": ("kabkota_karo", "kecamatan_karo", "desa_kelurahan_karo")}
COUNTS = {"12.75": (5, 37), "12.07": (22, 394), "12.06": (17, 269)}  # kecamatan, kelurahan/desa
TMS = morecantile.tms.get("WebMercatorQuad")
GEOD = Geod(ellps="WGS84")


@pytest.fixture()
def api(region):
    with httpx.Client(base_url=region[1], timeout=30) as client:
        yield client


def _count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def _geodesic_ha(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e4


def test_each_city_holds_its_kecamatan_and_kelurahan_or_desa(region):
    engine = region[0]
    for code, (n_kec, n_kel) in COUNTS.items():
        assert _count(engine, "SELECT count(*) FROM kecamatan WHERE kabkota = :c", c=code) == n_kec
        assert _count(engine, "SELECT count(*) FROM kelurahan WHERE kabkota = :c", c=code) == n_kel
    desa = gpd.read_file(DATA / "desa_kelurahan_deli_serdang.geojson")
    assert _count(engine, "SELECT count(*) FROM kelurahan WHERE kabkota = '12.07' AND jenis = 'desa'") == \
        (desa.jenis == "desa").sum() == 380


def test_areas_equal_an_independent_geodesic_computation_from_the_source_files(region):
    engine = region[0]
    for code, files in FILES.items():
        for table, name in zip(("kota", "kecamatan", "kelurahan"), files, strict=True):
            source = gpd.read_file(DATA / f"{name}.geojson")
            expected = {k: _geodesic_ha(g) for k, g in zip(source.kode, source.geometry, strict=True)}
            with engine.connect() as conn:
                stored = dict(conn.execute(text(f"SELECT kode, area_ha FROM {table} WHERE kabkota = :c"),
                                           {"c": code}).all())
            assert set(stored) == set(expected), (code, table)
            for k, area in stored.items():
                assert area == pytest.approx(expected[k], rel=1e-3), (table, k)


def test_every_row_of_every_layer_has_its_city(region):
    engine = region[0]
    with engine.connect() as conn:
        for layer_id in load_catalog(conn):
            assert conn.execute(text(f"SELECT count(*) FROM {layer_id} WHERE kabkota IS NULL")).scalar() == 0, \
                layer_id
        for table in ("kecamatan", "kelurahan"):
            assert conn.execute(text(f"SELECT count(*) FROM {table} WHERE kabkota <> kota_kode")).scalar() == 0
        # geometry-placed rows: the city containing each park's point on surface, computed here with shapely
        cities = {c: shapely.make_valid(gpd.read_file(DATA / f"{f[0]}.geojson").geometry.iloc[0])
                  for c, f in FILES.items()}
        for kabkota, wkb in conn.execute(text("SELECT kabkota, ST_AsBinary(ST_PointOnSurface(geom)) FROM parks")):
            point = shapely.from_wkb(wkb)
            assert [c for c, g in cities.items() if g.intersects(point)] == [kabkota]


def _park(lon: float, lat: float, nama: str) -> dict:
    square = box(lon, lat, lon + 0.001, lat + 0.001)
    return {"type": "Feature", "geometry": mapping(square),
            "properties": {"nama": nama, "kelas": "taman kelurahan", "publik": True}}


def test_a_write_is_placed_in_its_city_and_one_outside_every_city_is_refused(region, api):
    engine = region[0]
    from gis.data.auth import create_key

    with engine.begin() as conn:
        key = create_key(conn, "Uji kota", "planner")[1]
    # Lubuk Pakam, in Deli Serdang
    r = api.post("/collections/parks/items", json=_park(98.87, 3.55, "Taman Uji Lubuk Pakam"),
                 headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    assert api.get(f"/collections/parks/items/{r.json()['id']}").json()["properties"]["kabkota"] == "12.07"
    before = _count(engine, "SELECT count(*) FROM parks")
    history = _count(engine, "SELECT count(*) FROM feature_history")
    for lon, lat in ((106.82, -6.18), (98.90, 3.95)):  # Jakarta; the Strait of Malacca off Deli Serdang
        problem = problem_of(api.post("/collections/parks/items", json=_park(lon, lat, "Taman Uji Luar"),
                                      headers={"X-API-Key": key}))
        assert problem["status"] == 400
        assert "outside every city held" in problem["detail"]
        assert "12.07 Kabupaten Deli Serdang" in problem["detail"]
    assert _count(engine, "SELECT count(*) FROM parks") == before
    assert _count(engine, "SELECT count(*) FROM feature_history") == history
    # a client sending the city back (as GET shows it) cannot move a feature to another city
    fid = r.json()["id"]
    feature = api.get(f"/collections/parks/items/{fid}")
    change = {"properties": {"kabkota": "12.75", "nama": "Taman Uji"}}
    patched = api.patch(f"/collections/parks/items/{fid}", json=change,
                        headers={"X-API-Key": key, "If-Match": feature.headers["ETag"],
                                 "Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 204, patched.text
    assert _count(engine, "SELECT count(*) FROM parks WHERE id = :i AND kabkota = '12.07' AND nama = 'Taman Uji'",
                  i=fid) == 1


def test_cities_lists_each_city_held_with_its_figures(api):
    doc = api.get("/cities").json()
    by_code = {c["code"]: c for c in doc["cities"]}
    assert list(by_code) == ["12.06", "12.07", "12.75"]
    assert [by_code[c]["kind"] for c in ("12.06", "12.07", "12.75")] == ["kabupaten", "kabupaten", "kota"]
    assert by_code["12.75"]["population"] == 315_609 and by_code["12.07"]["population"] is None
    for code, city in by_code.items():
        source = gpd.read_file(DATA / f"{FILES[code][0]}.geojson")
        assert city["area_ha"] == pytest.approx(_geodesic_ha(source.geometry.iloc[0]), rel=1e-3)
        assert city["bbox"] == pytest.approx(list(source.total_bounds), abs=1e-6)
        assert city["metric_crs"] == "EPSG:32647"
        west, south, east, north = city["bbox"]
        lon, lat = city["default_view"]["center"]
        assert west <= lon <= east and south <= lat <= north
        items = next(link["href"] for link in city["links"] if link["rel"] == "items" and "kelurahan" in link["href"])
        assert api.get(items).json()["numberMatched"] == COUNTS[code][1]
    assert api.get("/cities/12.06").json()["name"] == "Kabupaten Karo"
    assert problem_of(api.get("/cities/12.99"))["status"] == 404
    assert any(link["href"].endswith("/cities") for link in api.get("/").json()["links"])


@pytest.mark.parametrize("scope", ["12.75", "12.07", "12.06", "12.06,12.75"])
def test_city_scopes_items_and_number_matched_follows_exactly(region, api, scope):
    engine = region[0]
    codes = scope.split(",")
    expected = _count(engine, "SELECT count(*) FROM kelurahan WHERE kabkota = ANY(:c)", c=codes)
    page = api.get("/collections/kelurahan/items", params={"city": scope, "limit": 50}).json()
    assert page["numberMatched"] == expected
    assert {f["properties"]["kabkota"] for f in page["features"]} <= set(codes)
    assert page["numberReturned"] == min(50, expected)
    # with another filter too, and for a geometry-placed layer
    desa = api.get("/collections/kelurahan/items", params={"city": scope, "jenis": "desa", "limit": 1}).json()
    assert desa["numberMatched"] == _count(
        engine, "SELECT count(*) FROM kelurahan WHERE kabkota = ANY(:c) AND jenis = 'desa'", c=codes)
    parks = api.get("/collections/parks/items", params={"city": scope, "limit": 1}).json()
    assert parks["numberMatched"] == _count(engine, "SELECT count(*) FROM parks WHERE kabkota = ANY(:c)", c=codes)


def test_an_unknown_city_is_refused_naming_the_choices(api):
    for path in ("/collections/kelurahan/items", "/collections/kelurahan",
                 "/collections/kelurahan/tiles/WebMercatorQuad/10/792/505"):
        problem = problem_of(api.get(path, params={"city": "12.75,12.71"}))
        assert problem["status"] == 400
        assert "'12.71'" in problem["detail"] and "12.06 (Kabupaten Karo)" in problem["detail"]


def test_collection_extent_and_exports_follow_the_city(api):
    karo = gpd.read_file(DATA / "desa_kelurahan_karo.geojson")
    extent = api.get("/collections/kelurahan", params={"city": "12.06"}).json()["extent"]["spatial"]["bbox"][0]
    assert extent == pytest.approx(list(karo.total_bounds), abs=1e-6)
    whole = api.get("/collections/kelurahan").json()["extent"]["spatial"]["bbox"][0]
    assert whole[3] > extent[3] + 0.3  # Deli Serdang reaches far north of Karo
    r = api.get("/collections/kelurahan/items", params={"city": "12.06", "f": "csv", "limit": 1000})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 269 and {row["kabkota"] for row in rows} == {"12.06"}
    assert {row["kode"] for row in rows} == set(karo.kode)


def _tile_ids(api, path: str, **params) -> dict[int, str]:
    r = api.get(path, params=params)
    assert r.status_code == 200, r.text[:200]
    layers = mapbox_vector_tile.decode(r.content)
    return {f["id"]: f["properties"]["kabkota"] for layer in layers.values() for f in layer["features"]}


def test_scoped_vector_tiles_hold_only_the_city_features(region, api):
    """A tile across the Binjai - Deli Serdang border: unscoped it holds both cities, scoped only one, the same
    features as the database's in that tile and city (the tile cache keeps the scopes apart)."""
    engine = region[0]
    tile = TMS.tile(98.53, 3.60, 11)
    b = TMS.bounds(tile)
    with engine.connect() as conn:
        in_tile = dict(conn.execute(text(
            "SELECT id, kabkota FROM kelurahan WHERE ST_Intersects(geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326))"),
            {"w": b.left, "s": b.bottom, "e": b.right, "n": b.top}).all())
    assert {"12.75", "12.07"} <= set(in_tile.values())
    path = f"/collections/kelurahan/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
    unscoped = _tile_ids(api, path)
    assert set(unscoped.values()) >= {"12.75", "12.07"}
    for code in ("12.75", "12.07"):
        scoped = _tile_ids(api, path, city=code)
        assert set(scoped.values()) == {code}
        expected = {fid for fid, kab in in_tile.items() if kab == code}
        assert expected - set(scoped) == set()  # every feature of the city in the tile (the buffer may add some)
        assert set(scoped) <= {fid for fid, kab in unscoped.items() if kab == code}
    multi = f"/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
    both = _tile_ids(api, multi, collections="kelurahan,kecamatan", city="12.07")
    assert set(both.values()) == {"12.07"}
    tilejson = api.get("/tiles/WebMercatorQuad/tilejson.json", params={"collections": "kelurahan",
                                                                      "city": "12.06"}).json()
    assert tilejson["tiles"][0].endswith("city=12.06")
    assert tilejson["bounds"] == pytest.approx(list(gpd.read_file(DATA / "desa_kelurahan_karo.geojson")
                                                    .total_bounds), abs=1e-6)


def test_reloading_the_sample_city_leaves_the_other_cities_alone(region):
    engine, _, settings = region
    with engine.begin() as conn:  # a park someone added in Deli Serdang
        conn.execute(text("INSERT INTO parks (nama, kelas, publik, geom) VALUES ('Taman Uji Tanjung Morawa', "
                          "'taman kota', true, ST_Multi(ST_Expand(ST_SetSRID(ST_Point(98.78, 3.52), 4326), 0.001)))"))
        before = conn.execute(text("SELECT kabkota, count(*) FROM kelurahan GROUP BY 1 ORDER BY 1")).all()
    load_sample(engine, settings)  # neither refused as overwriting edits nor deleting what is not Binjai's
    with engine.connect() as conn:
        assert conn.execute(text("SELECT kabkota, count(*) FROM kelurahan GROUP BY 1 ORDER BY 1")).all() == before
        assert conn.execute(text("SELECT kabkota FROM parks WHERE nama = 'Taman Uji Tanjung Morawa'")).scalar() == \
            "12.07"


def test_scoped_pages_use_the_city_index(region):
    engine = region[0]
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # the tables are small: ask whether it can
        plan = "\n".join(r[0] for r in conn.execute(text(
            "EXPLAIN SELECT id FROM kelurahan WHERE kabkota = '12.06' ORDER BY id LIMIT 11")))
    assert "idx_kelurahan_kabkota" in plan and "Sort" not in plan
