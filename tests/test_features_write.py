"""OGC API - Features Part 4 over real HTTP: validation, ETags, concurrency, history, restore, roles."""

import json
import threading

import geopandas as gpd
import httpx
import pytest
from shapely.geometry import box, mapping, shape
from sqlalchemy import text

from tests.conftest import problem_of
from tests.test_sample_city import utm_area_ha

# A 100 m x 100 m square in UTM 47N inside Binjai: exactly 1 ha.
SQUARE_UTM = box(445000, 398000, 445100, 398100)
SQUARE = gpd.GeoSeries([SQUARE_UTM], crs=32647).to_crs(4326).iloc[0]


def park(name="Taman Uji", geometry=None, **props):
    return {"type": "Feature", "geometry": mapping(geometry or SQUARE),
            "properties": {"nama": name, "kelas": "taman rw", "publik": True, **props}}


@pytest.fixture()
def planner(http, keys):
    http.headers["X-API-Key"] = keys["planner"]
    yield http
    http.headers.pop("X-API-Key", None)


def _create(client, feature) -> tuple[int, str]:
    r = client.post("/collections/parks/items", json=feature)
    assert r.status_code == 201, r.text
    return r.json()["id"], r.headers["etag"]


def _db_state(engine):
    with engine.connect() as conn:
        return (conn.execute(text("SELECT count(*), coalesce(sum(version), 0) FROM parks")).one(),
                conn.execute(text("SELECT count(*) FROM feature_history")).scalar())


def test_create_read_and_history(planner, engine):
    fid, etag = _create(planner, park())
    r = planner.get(f"/collections/parks/items/{fid}")
    assert r.headers["etag"] == etag == '"1"'
    props = r.json()["properties"]
    assert props["nama"] == "Taman Uji"
    assert props["area_ha"] == pytest.approx(utm_area_ha(SQUARE), rel=1e-6)
    assert props["area_ha"] == pytest.approx(1.0, rel=1e-3)
    hist = planner.get(f"/collections/parks/items/{fid}/history").json()["history"]
    assert [h["action"] for h in hist] == ["insert"]
    assert hist[0]["actor"] == "Uji planner (planner)"


def test_content_crs_utm_is_reprojected(planner, engine):
    r = planner.post("/collections/parks/items", json=park(geometry=SQUARE_UTM),
                     headers={"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/32647>"})
    assert r.status_code == 201, r.text
    with engine.connect() as conn:
        lon, lat, area = conn.execute(text(
            "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)), area_ha FROM parks WHERE id = :id"),
            {"id": r.json()["id"]}).one()
    assert lon == pytest.approx(SQUARE.centroid.x, abs=1e-6) and lat == pytest.approx(SQUARE.centroid.y, abs=1e-6)
    assert area == pytest.approx(1.0, rel=1e-4)


def test_get_put_round_trip_in_epsg_4326_keeps_the_geometry_in_place(planner, engine):
    fid, _ = _create(planner, park())
    epsg4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
    got = planner.get(f"/collections/parks/items/{fid}", params={"crs": epsg4326})
    feature = got.json()
    feature["properties"]["nama"] = "Taman Uji Diubah"
    r = planner.put(f"/collections/parks/items/{fid}", json=feature,
                    headers={"If-Match": got.headers["etag"], "Content-Crs": f"<{epsg4326}>"})
    assert r.status_code == 204, r.text
    assert r.headers["etag"] == '"2"'
    after = planner.get(f"/collections/parks/items/{fid}").json()
    assert shape(after["geometry"]).hausdorff_distance(SQUARE) < 1e-6
    assert after["properties"]["nama"] == "Taman Uji Diubah"


def test_put_takes_the_id_from_the_url_not_the_body(planner, engine):
    a, etag_a = _create(planner, park("A"))
    b, _ = _create(planner, park("B"))
    body = park("A2")
    body["id"] = b
    assert planner.put(f"/collections/parks/items/{a}", json=body, headers={"If-Match": etag_a}).status_code == 204
    assert planner.get(f"/collections/parks/items/{b}").json()["properties"]["nama"] == "B"
    assert planner.get(f"/collections/parks/items/{a}").json()["properties"]["nama"] == "A2"


def test_if_match_is_required_and_a_stale_tag_is_refused(planner):
    fid, etag = _create(planner, park())
    patch = {"type": "Feature", "properties": {"nama": "X"}}
    assert problem_of(planner.patch(f"/collections/parks/items/{fid}", json=patch))["status"] == 428
    assert planner.patch(f"/collections/parks/items/{fid}", json=patch, headers={"If-Match": etag}).status_code == 204
    stale = planner.patch(f"/collections/parks/items/{fid}", json=patch, headers={"If-Match": etag})
    assert problem_of(stale)["status"] == 412
    assert problem_of(planner.delete(f"/collections/parks/items/{fid}", headers={"If-Match": etag}))["status"] == 412


def test_two_planners_patching_with_the_same_etag_one_wins(planner, server, keys):
    fid, etag = _create(planner, park())
    results, barrier = [], threading.Barrier(2)

    def edit(name):
        with httpx.Client(base_url=server, headers={"X-API-Key": keys["planner"]}) as client:
            barrier.wait()
            r = client.patch(f"/collections/parks/items/{fid}", headers={"If-Match": etag},
                             json={"type": "Feature", "properties": {"nama": name}})
            results.append((r.status_code, name))

    threads = [threading.Thread(target=edit, args=(n,)) for n in ("Taman Ani", "Taman Budi")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(code for code, _ in results) == [204, 412]
    winner = next(name for code, name in results if code == 204)
    assert planner.get(f"/collections/parks/items/{fid}").json()["properties"]["nama"] == winner
    hist = planner.get(f"/collections/parks/items/{fid}/history").json()["history"]
    assert [h["action"] for h in hist] == ["insert", "update"]
    assert hist[1]["after"]["nama"] == winner


def test_delete_then_restore_a_deleted_feature_and_an_earlier_version(planner, engine):
    fid, etag = _create(planner, park("Asli"))
    r = planner.patch(f"/collections/parks/items/{fid}", json={"type": "Feature", "properties": {"nama": "Ubah"}},
                      headers={"If-Match": etag})
    assert planner.delete(f"/collections/parks/items/{fid}", headers={"If-Match": r.headers["etag"]}).status_code == 204
    assert planner.get(f"/collections/parks/items/{fid}").status_code == 404
    r = planner.post(f"/collections/parks/items/{fid}/history/1/restore")
    assert r.status_code == 204, r.text
    restored = planner.get(f"/collections/parks/items/{fid}")
    assert restored.json()["properties"]["nama"] == "Asli"
    assert shape(restored.json()["geometry"]).hausdorff_distance(SQUARE) < 1e-6
    r = planner.post(f"/collections/parks/items/{fid}/history/2/restore",
                     headers={"If-Match": restored.headers["etag"]})
    assert r.status_code == 204, r.text
    assert planner.get(f"/collections/parks/items/{fid}").json()["properties"]["nama"] == "Ubah"
    actions = [h["action"] for h in planner.get(f"/collections/parks/items/{fid}/history").json()["history"]]
    assert actions == ["insert", "update", "delete", "restore", "restore"]


BOWTIE = {"type": "Polygon", "coordinates": [[[98.50, 3.60], [98.51, 3.61], [98.51, 3.60], [98.50, 3.61],
                                              [98.50, 3.60]]]}
BAD_FEATURES = [
    (park(geometry=shape(BOWTIE)), "Self-intersection[98.505 3.605]"),
    ({**park(), "geometry": {"type": "Point", "coordinates": [98.5, 3.6]}}, "holds MultiPolygon geometries"),
    ({**park(), "geometry": {"type": "Polygon", "coordinates": [[[198, 3], [199, 3], [199, 4], [198, 3]]]}},
     "out of range"),
    ({**park(), "geometry": {"type": "Polygon", "coordinates": "nope"}}, "nested arrays of numbers"),
    ({**park(), "geometry": {"type": "Polygon", "coordinates": [[[98.5, 3.6], [98.51, 3.6], [98.51, 3.61]]]}},
     "ring must be closed"),
    ({**park(), "geometry": {"type": "Point", "coordinates": ["98.5", "3.6"]}}, "must be 2 or 3 numbers"),
    (park(warna="merah"), "unknown properties 'warna'"),
    (park(publik="ya"), "'publik' must be a boolean"),
    (park(kelas="kebun binatang"), "'kelas' must be one of"),
    ({"type": "Feature", "geometry": mapping(SQUARE), "properties": {"kelas": "taman rt", "publik": True}},
     "'nama' is required"),
    ({"type": "FeatureCollection", "features": []}, "must be a GeoJSON Feature"),
]


@pytest.mark.parametrize("feature, message", BAD_FEATURES)
def test_bad_features_are_400_problems_and_nothing_is_written(planner, engine, feature, message):
    before = _db_state(engine)
    r = planner.post("/collections/parks/items", json=feature)
    assert r.status_code == 400
    assert message in problem_of(r)["detail"]
    assert _db_state(engine) == before


def test_repair_is_done_only_when_asked(planner, engine):
    r = planner.post("/collections/parks/items", params={"repair": "true"}, json=park(geometry=shape(BOWTIE)))
    assert r.status_code == 201, r.text
    with engine.connect() as conn:
        valid, kind = conn.execute(text("SELECT ST_IsValid(geom), GeometryType(geom) FROM parks WHERE id = :id"),
                                   {"id": r.json()["id"]}).one()
    assert valid and kind == "MULTIPOLYGON"


def test_malformed_json_and_a_50_mb_body_are_refused(planner, engine):
    before = _db_state(engine)
    r = planner.post("/collections/parks/items", content=b"{not json", headers={"Content-Type": "application/json"})
    assert "not valid JSON" in problem_of(r)["detail"]
    big = json.dumps(park(padding="x" * 50_000_000)).encode()
    r = planner.post("/collections/parks/items", content=big, headers={"Content-Type": "application/json"})
    assert problem_of(r)["status"] == 413
    assert _db_state(engine) == before


def test_roles_anonymous_and_analyst_cannot_write(http, keys, engine):
    before = _db_state(engine)
    assert problem_of(http.post("/collections/parks/items", json=park()))["status"] == 401
    r = http.post("/collections/parks/items", json=park(), headers={"X-API-Key": keys["analyst"]})
    assert problem_of(r)["status"] == 403
    assert _db_state(engine) == before
