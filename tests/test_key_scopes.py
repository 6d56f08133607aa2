"""API keys limited to cities and layers, over the real HTTP server: "Dinas PUPR Binjai edits zoning in 12.75
only; a Deli Serdang analyst reads 12.07 only". Whether a feature lies in Binjai is checked here independently,
with shapely against the stored `kota` boundary."""

import uuid

import geopandas as gpd
import mapbox_vector_tile
import morecantile
import pytest
import shapely
from shapely.geometry import box, mapping
from sqlalchemy import text

from gis.data.auth import create_key
from gis.data.boundaries import add_city, remove_city
from layers import CATALOG
from tests.conftest import ROOT, problem_of
from tests.test_processes import run

MERGE = {"Content-Type": "application/merge-patch+json"}
# 100 m x 100 m in UTM 47N inside Binjai, and a square near 98.70, 3.55 in Deli Serdang (outside Binjai).
IN_BINJAI = gpd.GeoSeries([box(445000, 398000, 445100, 398100)], crs=32647).to_crs(4326).iloc[0]
# A small square well inside Kabupaten Deli Serdang (real boundary), away from Binjai
_DS = gpd.read_file(ROOT / "layers" / "sample" / "data" / "kabkota_deli_serdang.geojson").geometry.iloc[0]
_P = _DS.buffer(-0.01).representative_point()
IN_DELI_SERDANG = box(_P.x, _P.y, _P.x + 0.001, _P.y + 0.001)
PARCEL_PRIVATE = {f.name for f in CATALOG["project_parcels"].private_fields}
PARCEL_PUBLIC = {f.name for f in CATALOG["project_parcels"].public_fields} | {"kabkota"}  # each feature says its city


@pytest.fixture(scope="module")
def deli_serdang(engine):
    """Kabupaten Deli Serdang held beside Binjai for this module (real boundaries), removed afterwards."""
    data = ROOT / "layers" / "sample" / "data"
    add_city(engine, data / "desa_kelurahan_deli_serdang.geojson", "desa",
             kecamatan=data / "kecamatan_deli_serdang.geojson", kabkota=data / "kabkota_deli_serdang.geojson")
    try:
        with engine.connect() as conn:
            inside = conn.execute(text("SELECT ST_Within(ST_GeomFromText(:w, 4326), geom) FROM kota "
                                       "WHERE kode = '12.07'"), {"w": IN_DELI_SERDANG.wkt}).scalar_one()
        assert inside, "the test square must lie in Deli Serdang"
        yield
    finally:
        remove_city(engine, "12.07")


@pytest.fixture(scope="module")
def scoped(engine, deli_serdang) -> dict[str, str]:
    limits = {
        "pupr_binjai": ("planner", ["12.75"], ["zoning"]),
        "binjai_analyst": ("analyst", ["12.75"], None),
        "deli_serdang_analyst": ("analyst", ["12.07"], None),
        "zoning_analyst": ("analyst", None, ["zoning"]),
    }
    with engine.begin() as conn:
        return {who: create_key(conn, f"Uji {who}", role, cities, layers)[1]
                for who, (role, cities, layers) in limits.items()}


@pytest.fixture(scope="module")
def binjai(engine):
    with engine.connect() as conn:
        wkb = conn.execute(text("SELECT ST_AsBinary(geom) FROM kota WHERE kode = '12.75'")).scalar_one()
    return shapely.from_wkb(bytes(wkb))


def _key(key: str) -> dict:
    return {"X-API-Key": key}


def _zone(geometry, name: str) -> dict:
    return {"type": "Feature", "geometry": mapping(geometry),
            "properties": {"kodsbl": "R2.9", "kodszn": "R-2", "namszn": name}}


def _parcel(geometry, parcel_id: str) -> dict:
    return {"type": "Feature", "geometry": mapping(geometry),
            "properties": {"project_slug": "kawasan-industri-binjai", "parcel_id": parcel_id, "pemilik": "Uji Pemilik",
                           "nik": "1207000000000001", "status": "identified", "kompensasi_rp": 1000}}


def _state(engine, layer: str) -> tuple:
    """Everything a refused write must leave as it was: the rows, their versions and the layer's history."""
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT count(*), coalesce(sum(version), 0), md5(string_agg(ST_AsText(geom) "
                                 f"|| coalesce(row_to_json({layer})::text, ''), ',' ORDER BY id)) FROM {layer}")).one()
        history = conn.execute(text("SELECT count(*) FROM feature_history WHERE layer = :l"), {"l": layer}).scalar()
    return (*rows, history)


def _create(http, key: str, layer: str, feature: dict) -> int:
    r = http.post(f"/collections/{layer}/items", json=feature, headers=_key(key))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _delete(http, key: str, layer: str, fid: int) -> None:
    assert http.delete(f"/collections/{layer}/items/{fid}", headers={**_key(key), "If-Match": "*"}).status_code == 204


# --- writes --------------------------------------------------------------------------------------------------

def test_a_key_limited_to_binjai_zoning_edits_zoning_in_binjai(http, engine, scoped, binjai):
    assert binjai.contains(IN_BINJAI)
    fid = _create(http, scoped["pupr_binjai"], "zoning", _zone(IN_BINJAI, "Uji PUPR"))
    r = http.patch(f"/collections/zoning/items/{fid}", content=b'{"properties": {"namszn": "Uji PUPR 2"}}',
                   headers={**MERGE, **_key(scoped["pupr_binjai"]), "If-Match": '"1"'})
    assert r.status_code == 204, r.text
    with engine.connect() as conn:
        row = conn.execute(text("SELECT namszn, version FROM zoning WHERE id = :id"), {"id": fid}).one()
        actors = conn.execute(text("SELECT actor FROM feature_history WHERE layer = 'zoning' AND feature_id = :id"),
                              {"id": fid}).scalars().all()
    assert tuple(row) == ("Uji PUPR 2", 2)
    assert actors == ["Uji pupr_binjai (planner)"] * 2
    _delete(http, scoped["pupr_binjai"], "zoning", fid)


def test_a_new_feature_outside_the_keys_cities_is_refused_and_nothing_is_written(http, engine, scoped, binjai):
    assert not binjai.intersects(IN_DELI_SERDANG)
    before = _state(engine, "zoning")
    r = http.post("/collections/zoning/items", json=_zone(IN_DELI_SERDANG, "Uji luar"),
                  headers=_key(scoped["pupr_binjai"]))
    problem = problem_of(r)
    assert problem["status"] == 403 and "12.75" in problem["detail"] and "12.07" in problem["detail"], problem
    # and the other way round: a key limited to Deli Serdang may not write in Binjai
    with engine.begin() as conn:
        ds_planner = create_key(conn, "Uji pupr_deli_serdang", "planner", ["12.07"], ["zoning"])[1]
    r = http.post("/collections/zoning/items", json=_zone(IN_BINJAI, "Uji luar"), headers=_key(ds_planner))
    problem = problem_of(r)
    assert problem["status"] == 403 and "12.07" in problem["detail"] and "12.75" in problem["detail"], problem
    assert _state(engine, "zoning") == before


def test_moving_a_feature_out_of_the_keys_cities_is_refused(http, engine, scoped):
    fid = _create(http, scoped["pupr_binjai"], "zoning", _zone(IN_BINJAI, "Uji pindah"))
    before = _state(engine, "zoning")
    moved = {"geometry": mapping(IN_DELI_SERDANG)}
    r = http.patch(f"/collections/zoning/items/{fid}", json=moved,
                   headers={**MERGE, **_key(scoped["pupr_binjai"]), "If-Match": '"1"'})
    assert problem_of(r)["status"] == 403 and "12.75" in problem_of(r)["detail"]
    assert _state(engine, "zoning") == before
    _delete(http, scoped["pupr_binjai"], "zoning", fid)


def test_a_stored_feature_outside_the_keys_cities_cannot_be_changed_deleted_or_restored(http, engine, scoped,
                                                                                        keys):
    fid = _create(http, keys["planner"], "zoning", _zone(IN_DELI_SERDANG, "Uji Deli Serdang"))  # no limits
    pupr = _key(scoped["pupr_binjai"])
    before = _state(engine, "zoning")
    patch = http.patch(f"/collections/zoning/items/{fid}", content=b'{"properties": {"namszn": "x"}}',
                       headers={**MERGE, **pupr, "If-Match": '"1"'})
    put = http.put(f"/collections/zoning/items/{fid}", json=_zone(IN_BINJAI, "x"), headers={**pupr, "If-Match": '"1"'})
    delete = http.delete(f"/collections/zoning/items/{fid}", headers={**pupr, "If-Match": '"1"'})
    for r in (patch, put, delete):
        problem = problem_of(r)
        assert problem["status"] == 403 and "12.75" in problem["detail"] and str(fid) in problem["detail"]
    assert _state(engine, "zoning") == before
    _delete(http, keys["planner"], "zoning", fid)
    before = _state(engine, "zoning")
    restore = http.post(f"/collections/zoning/items/{fid}/history/1/restore", headers=pupr)
    assert problem_of(restore)["status"] == 403
    assert _state(engine, "zoning") == before


def test_a_key_limited_to_zoning_cannot_edit_parks(http, engine, scoped):
    with engine.connect() as conn:
        fid = conn.execute(text("SELECT min(id) FROM parks")).scalar_one()
    before = _state(engine, "parks")
    r = http.patch(f"/collections/parks/items/{fid}", content=b'{"properties": {"nama": "Uji"}}',
                   headers={**MERGE, **_key(scoped["pupr_binjai"]), "If-Match": "*"})
    problem = problem_of(r)
    assert problem["status"] == 403 and "zoning" in problem["detail"] and "parks" in problem["detail"]
    assert _state(engine, "parks") == before


# --- reads ---------------------------------------------------------------------------------------------------

def _parcels(http, headers: dict) -> dict[int, dict]:
    r = http.get("/collections/project_parcels/items", params={"limit": 1000}, headers=headers)
    assert r.status_code == 200, r.text
    return {f["id"]: f["properties"] for f in r.json()["features"]}


def test_an_analyst_limited_to_deli_serdang_sees_no_private_fields_of_binjai_parcels(http, scoped, keys):
    everything = _parcels(http, _key(keys["analyst"]))
    assert any(set(p) >= PARCEL_PRIVATE for p in everything.values())  # the unlimited analyst sees them
    limited = _parcels(http, _key(scoped["deli_serdang_analyst"]))
    assert limited.keys() == everything.keys()
    assert all(set(p) == PARCEL_PUBLIC for p in limited.values())
    assert limited == _parcels(http, {})  # exactly what anonymous callers see
    fid = next(iter(everything))
    one = http.get(f"/collections/project_parcels/items/{fid}", headers=_key(scoped["deli_serdang_analyst"])).json()
    assert set(one["properties"]) == PARCEL_PUBLIC
    csv = http.get("/collections/project_parcels/items", params={"f": "csv", "limit": 1000},
                   headers=_key(scoped["deli_serdang_analyst"])).text
    assert not any(p.get("nik") and p["nik"] in csv for p in everything.values())
    history = http.get(f"/collections/project_parcels/items/{fid}/history",
                       headers=_key(scoped["deli_serdang_analyst"])).json()["history"]
    assert all(not PARCEL_PRIVATE & set(entry["after"] or {}) for entry in history)
    filtered = http.get("/collections/project_parcels/items", params={"filter": "nik = '1'"},
                        headers=_key(scoped["deli_serdang_analyst"]))
    assert problem_of(filtered)["status"] == 400  # a filter on hidden values would reveal them


def test_an_analyst_limited_to_binjai_sees_private_fields_only_in_binjai(http, engine, scoped, keys, binjai):
    outside = _create(http, keys["planner"], "project_parcels", _parcel(IN_DELI_SERDANG, f"UJI-{uuid.uuid4().hex[:6]}"))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, ST_AsBinary(geom) FROM project_parcels")).all()
        in_binjai = {fid for fid, wkb in rows if binjai.contains(shapely.from_wkb(bytes(wkb)).representative_point())}
        assert outside not in in_binjai and len(in_binjai) == len(rows) - 1
        everything = _parcels(http, _key(keys["analyst"]))
        limited = _parcels(http, _key(scoped["binjai_analyst"]))
        assert {fid for fid, p in limited.items() if PARCEL_PRIVATE <= set(p)} == in_binjai
        assert {fid: limited[fid] for fid in in_binjai} == {fid: everything[fid] for fid in in_binjai}
        assert set(limited[outside]) == PARCEL_PUBLIC
        single = http.get(f"/collections/project_parcels/items/{outside}", headers=_key(scoped["binjai_analyst"]))
        assert set(single.json()["properties"]) == PARCEL_PUBLIC
        history = http.get(f"/collections/project_parcels/items/{outside}/history",
                           headers=_key(scoped["binjai_analyst"])).json()["history"]
        assert "nik" not in history[0]["after"]
        csv = http.get("/collections/project_parcels/items", params={"f": "csv", "limit": 1000},
                       headers=_key(scoped["binjai_analyst"])).text
        assert "1207000000000001" not in csv and everything[min(in_binjai)]["nik"] in csv
    finally:
        _delete(http, keys["planner"], "project_parcels", outside)


def test_a_key_limited_to_zoning_reads_other_layers_as_anonymous(http, keys, scoped):
    layer_id = f"uji_rahasia_{uuid.uuid4().hex[:6]}"
    declaration = {"id": layer_id, "title": {"id": "Uji rahasia", "en": "Secret test"}, "geometry_type": "Point",
                   "source": "uji", "illustrative": True, "public": False,
                   "fields": [{"name": "nama", "type": "text", "title": {"id": "Nama", "en": "Name"}}]}
    assert http.post("/admin/layers", json=declaration, headers=_key(keys["admin"])).status_code == 201
    zoning_only = _key(scoped["zoning_analyst"])
    assert http.get(f"/collections/{layer_id}", headers=_key(keys["analyst"])).status_code == 200
    for headers in ({}, zoning_only):
        assert problem_of(http.get(f"/collections/{layer_id}/items", headers=headers))["status"] == 404
        listed = {c["id"] for c in http.get("/collections", headers=headers).json()["collections"]}
        assert layer_id not in listed and "zoning" in listed and "project_parcels" in listed
    assert _parcels(http, zoning_only) == _parcels(http, {})  # a public layer: public fields only
    queryables = http.get("/collections/project_parcels/queryables", headers=zoning_only).json()["properties"]
    assert not PARCEL_PRIVATE & set(queryables)
    own = http.get("/collections/zoning/items", params={"limit": 5}, headers=zoning_only)
    assert own.status_code == 200 and own.json()["numberReturned"] == 5


def test_tiles_for_a_key_limited_to_cities_carry_public_fields_only(http, scoped, keys):
    with_limits, without = _key(scoped["binjai_analyst"]), _key(keys["analyst"])
    tile = morecantile.tms.get("WebMercatorQuad").tile(98.528, 3.601, 14)  # Binjai's industrial estate
    path = f"/collections/project_parcels/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
    full = mapbox_vector_tile.decode(http.get(path, headers=without).content)["project_parcels"]["features"]
    limited = mapbox_vector_tile.decode(http.get(path, headers=with_limits).content)["project_parcels"]["features"]
    assert any(PARCEL_PRIVATE & set(f["properties"]) for f in full)
    assert len(limited) == len(full) and not any(PARCEL_PRIVATE & set(f["properties"]) for f in limited)


def test_processes_for_a_limited_key_use_public_fields_only(http, scoped, keys):
    binjai = {"city": "12.75"}  # two cities are held here: a process is told which
    assert "compensation" in run(http, "project-progress", binjai, **_key(keys["analyst"]))
    for limited in ("deli_serdang_analyst", "zoning_analyst"):
        assert "compensation" not in run(http, "project-progress", binjai, **_key(scoped[limited]))


def test_the_planners_map_of_a_limited_key_lists_public_fields_only(http, scoped, keys):
    assert "kompensasi_rp" in http.get("/map", headers=_key(keys["analyst"])).text
    assert "kompensasi_rp" not in http.get("/map", headers=_key(scoped["binjai_analyst"])).text
