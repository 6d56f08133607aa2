"""Feature writes over real HTTP, protocol details: JSON Merge Patch (RFC 7396, OGC API - Features Part 4),
If-Match per RFC 9110 (lists, *, strong comparison, malformed fields) and PUT that cannot erase private fields."""

import uuid

import geopandas as gpd
import pytest
from shapely.geometry import box, mapping, shape
from sqlalchemy import text

from tests.conftest import problem_of
from tests.test_sample_city import utm_area_ha

MERGE = {"Content-Type": "application/merge-patch+json"}
# Two squares in UTM 47N inside Binjai: 100 m x 100 m (1 ha) and 200 m x 150 m (3 ha).
SQUARE = gpd.GeoSeries([box(445000, 398000, 445100, 398100)], crs=32647).to_crs(4326).iloc[0]
WIDER = gpd.GeoSeries([box(446000, 399000, 446200, 399150)], crs=32647).to_crs(4326).iloc[0]


@pytest.fixture()
def planner(http, keys):
    http.headers["X-API-Key"] = keys["planner"]
    yield http
    http.headers.pop("X-API-Key", None)


def _park(name: str) -> dict:
    return {"type": "Feature", "geometry": mapping(SQUARE),
            "properties": {"nama": name, "kelas": "taman rw", "publik": True, "kelurahan_kode": "12.75.01.1001"}}


def _create(client, layer: str, feature: dict) -> int:
    r = client.post(f"/collections/{layer}/items", json=feature)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _row(engine, layer: str, fid: int) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(text(f"SELECT *, ST_AsBinary(geom) AS wkb FROM {layer} WHERE id = :id"),
                           {"id": fid}).mappings().one_or_none()
    return None if row is None else {k: v for k, v in row.items() if k not in ("geom", "updated_at")}


def _history(engine, layer: str, fid: int) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT version, action, after->>'nama' FROM feature_history WHERE layer = :l AND feature_id = :id "
            "ORDER BY id"), {"l": layer, "id": fid})]


# --- JSON Merge Patch ----------------------------------------------------------------------------------------

def test_merge_patch_changes_only_the_named_property_and_is_recorded(planner, engine):
    fid = _create(planner, "parks", _park("Taman Lama"))
    before = _row(engine, "parks", fid)
    r = planner.patch(f"/collections/parks/items/{fid}", content=b'{"properties": {"nama": "Taman Baru"}}',
                      headers={**MERGE, "If-Match": '"1"'})
    assert r.status_code == 204, r.text
    assert r.headers["etag"] == '"2"'
    after = _row(engine, "parks", fid)
    assert after["nama"] == "Taman Baru" and after["version"] == 2
    unchanged = {k: v for k, v in before.items() if k not in ("nama", "version")}
    assert {k: after[k] for k in unchanged} == unchanged  # kelas, publik, kelurahan_kode, geometry, area
    assert _history(engine, "parks", fid) == [(1, "insert", "Taman Lama"), (2, "update", "Taman Baru")]
    assert planner.get(f"/collections/parks/items/{fid}").headers["etag"] == '"2"'


def test_merge_patch_null_clears_a_property(planner, engine):
    fid = _create(planner, "parks", _park("Taman Kosong"))
    assert _row(engine, "parks", fid)["kelurahan_kode"] == "12.75.01.1001"
    r = planner.patch(f"/collections/parks/items/{fid}", content=b'{"properties": {"kelurahan_kode": null}}',
                      headers={**MERGE, "If-Match": '"1"'})
    assert r.status_code == 204, r.text
    row = _row(engine, "parks", fid)
    assert row["kelurahan_kode"] is None and row["nama"] == "Taman Kosong"
    assert planner.get(f"/collections/parks/items/{fid}").json()["properties"]["kelurahan_kode"] is None


def test_merge_patch_geometry_replaces_the_geometry_and_the_area_follows(planner, engine):
    fid = _create(planner, "parks", _park("Taman Lebar"))
    r = planner.patch(f"/collections/parks/items/{fid}", json={"geometry": mapping(WIDER)},
                      headers={**MERGE, "If-Match": '"1"'})
    assert r.status_code == 204, r.text
    got = planner.get(f"/collections/parks/items/{fid}").json()
    assert shape(got["geometry"]).hausdorff_distance(WIDER) < 1e-6
    assert got["properties"]["area_ha"] == pytest.approx(utm_area_ha(WIDER), rel=1e-6)
    assert got["properties"]["area_ha"] == pytest.approx(3.0, rel=1e-3)
    assert got["properties"]["nama"] == "Taman Lebar"


BAD_MERGE_PATCHES = [
    (b'{"nama": "x"}', "inside \\\"properties\\\""),
    (b'{"properties": {"publik": "ya"}}', "'publik' must be a boolean"),
    (b'{"properties": {"nama": null}}', "'nama' is required"),
    (b'{"properties": {"warna": "merah"}}', "unknown properties 'warna'"),
    (b'{"properties": null}', "'properties' in a merge patch must be an object"),
    (b'{"geometry": null}', "a feature needs a geometry"),
    (b'{"geometry": {"type": "Point", "coordinates": [98.5, 3.6]}}', "holds MultiPolygon geometries"),
    (b'{"type": "FeatureCollection"}', "cannot change the type"),
    (b'["properties"]', "must be a JSON object"),
    (b'{"properties": {}}', "nothing to change"),
]


@pytest.mark.parametrize("body, message", BAD_MERGE_PATCHES)
def test_invalid_merge_patches_are_400_and_nothing_is_written(planner, engine, body, message):
    fid = _create(planner, "parks", _park("Taman Tetap"))
    before, history = _row(engine, "parks", fid), _history(engine, "parks", fid)
    r = planner.patch(f"/collections/parks/items/{fid}", content=body, headers={**MERGE, "If-Match": '"1"'})
    assert r.status_code == 400
    assert message.replace("\\", "") in problem_of(r)["detail"]
    assert _row(engine, "parks", fid) == before and _history(engine, "parks", fid) == history


def test_a_partial_feature_is_still_accepted_as_geojson_and_a_bare_object_is_refused(planner, engine):
    fid = _create(planner, "parks", _park("Taman Fitur"))
    r = planner.patch(f"/collections/parks/items/{fid}", json={"type": "Feature", "properties": {"nama": "B"}},
                      headers={"Content-Type": "application/geo+json", "If-Match": '"1"'})
    assert r.status_code == 204, r.text
    r = planner.patch(f"/collections/parks/items/{fid}", json={"properties": {"nama": "C"}},
                      headers={"If-Match": '"2"'})  # application/json: a Feature is expected
    assert "application/merge-patch+json" in problem_of(r)["detail"]
    assert _row(engine, "parks", fid)["nama"] == "B"


# --- If-Match (RFC 9110 13.1.1) -----------------------------------------------------------------------------

def _patch_name(client, fid: int, name: str, if_match: str | None):
    headers = {**MERGE, **({"If-Match": if_match} if if_match is not None else {})}
    return client.patch(f"/collections/parks/items/{fid}", json={"properties": {"nama": name}}, headers=headers)


@pytest.mark.parametrize("if_match", ['"abc"', '"99999999999"', 'W/"1"', '"7", W/"1"'])
def test_if_match_that_names_no_current_strong_etag_is_412_and_nothing_is_written(planner, engine, if_match):
    fid = _create(planner, "parks", _park("Taman Etag"))
    before = _row(engine, "parks", fid)
    r = _patch_name(planner, fid, "Lain", if_match)
    assert problem_of(r)["status"] == 412
    assert "version 1" in problem_of(r)["detail"]
    assert _row(engine, "parks", fid) == before


@pytest.mark.parametrize("if_match", ['1', '"1', '"1" "2"', "*, \"1\"", ",", 'w/"1"'])
def test_a_malformed_if_match_is_400_naming_the_header(planner, engine, if_match):
    fid = _create(planner, "parks", _park("Taman Rusak"))
    before = _row(engine, "parks", fid)
    r = _patch_name(planner, fid, "Lain", if_match)
    assert problem_of(r)["status"] == 400
    assert "If-Match" in problem_of(r)["detail"]
    assert _row(engine, "parks", fid) == before


def test_if_match_list_matches_when_any_etag_does(planner, engine):
    fid = _create(planner, "parks", _park("Taman Daftar"))
    r = _patch_name(planner, fid, "Dua", '"7", W/"9", "1"')
    assert r.status_code == 204, r.text
    assert r.headers["etag"] == '"2"' and _row(engine, "parks", fid)["nama"] == "Dua"


def test_if_match_star_needs_the_feature_to_exist(planner, engine):
    fid = _create(planner, "parks", _park("Taman Bintang"))
    assert _patch_name(planner, fid, "Bintang", "*").status_code == 204
    assert _row(engine, "parks", fid)["nama"] == "Bintang"
    assert problem_of(_patch_name(planner, fid, "X", None))["status"] == 428
    assert planner.delete(f"/collections/parks/items/{fid}", headers={"If-Match": "*"}).status_code == 204
    assert _row(engine, "parks", fid) is None
    history = _history(engine, "parks", fid)
    for r in (_patch_name(planner, fid, "Hantu", "*"),
              planner.put(f"/collections/parks/items/{fid}", json=_park("Hantu"), headers={"If-Match": "*"}),
              planner.delete(f"/collections/parks/items/{fid}", headers={"If-Match": "*"}),
              planner.post(f"/collections/parks/items/{fid}/history/1/restore", headers={"If-Match": "*"})):
        assert problem_of(r)["status"] == 412, r.text
    assert _row(engine, "parks", fid) is None and _history(engine, "parks", fid) == history
    # A known ETag on a feature that is gone stays a 404 (RFC 9110 13.2.1: no 2xx without the precondition).
    assert problem_of(_patch_name(planner, fid, "Hantu", '"3"'))["status"] == 404


# --- PUT and private fields ----------------------------------------------------------------------------------

def _parcel(parcel_id: str, **props) -> dict:
    return {"type": "Feature", "geometry": mapping(SQUARE),
            "properties": {"project_slug": "kib", "parcel_id": parcel_id, "status": "negotiating",
                           "pemilik": "Ibu Sari", "nik": "1275010101800001", "kompensasi_rp": 450_000_000,
                           **props}}


def test_put_without_the_private_fields_is_400_naming_them_and_changes_nothing(http, keys, engine):
    as_planner = {"X-API-Key": keys["planner"]}
    r = http.post("/collections/project_parcels/items", json=_parcel(f"P-{uuid.uuid4().hex[:8]}"), headers=as_planner)
    fid = r.json()["id"]
    public = http.get(f"/collections/project_parcels/items/{fid}")  # what an anonymous reader sees
    feature = public.json()
    assert not {"pemilik", "nik", "kompensasi_rp"} & set(feature["properties"])
    feature["properties"]["status"] = "agreed"
    before, history = _row(engine, "project_parcels", fid), _history(engine, "project_parcels", fid)
    r = http.put(f"/collections/project_parcels/items/{fid}", json=feature,
                 headers={**as_planner, "If-Match": public.headers["etag"]})
    assert problem_of(r)["status"] == 400
    detail = problem_of(r)["detail"]
    assert all(f"'{name}'" in detail for name in ("pemilik", "nik", "kompensasi_rp")), detail
    assert _row(engine, "project_parcels", fid) == before and _history(engine, "project_parcels", fid) == history
    kept = http.get(f"/collections/project_parcels/items/{fid}", headers=as_planner).json()["properties"]
    assert (kept["pemilik"], kept["nik"], kept["kompensasi_rp"], kept["status"]) == \
        ("Ibu Sari", "1275010101800001", 450_000_000, "negotiating")


def test_put_with_private_fields_sent_as_null_clears_them_and_history_keeps_both_versions(http, keys, engine):
    as_planner = {"X-API-Key": keys["planner"]}
    r = http.post("/collections/project_parcels/items", json=_parcel(f"P-{uuid.uuid4().hex[:8]}"), headers=as_planner)
    fid = r.json()["id"]
    feature = http.get(f"/collections/project_parcels/items/{fid}").json()
    feature["properties"].update(status="agreed", pemilik=None, nik=None, kompensasi_rp=None)
    r = http.put(f"/collections/project_parcels/items/{fid}", json=feature, headers={**as_planner, "If-Match": '"1"'})
    assert r.status_code == 204, r.text
    row = _row(engine, "project_parcels", fid)
    assert (row["status"], row["pemilik"], row["nik"], row["kompensasi_rp"]) == ("agreed", None, None, None)
    with engine.connect() as conn:
        snaps = conn.execute(text(
            "SELECT version, action, after->>'pemilik', after->>'status' FROM feature_history "
            "WHERE layer = 'project_parcels' AND feature_id = :id ORDER BY id"), {"id": fid}).all()
    assert [tuple(s) for s in snaps] == [(1, "insert", "Ibu Sari", "negotiating"), (2, "update", None, "agreed")]
