"""What is at a clicked point (GET /identify): the features of the visible layers there, most specific first, with
values written for the language and private fields only for a key that reads them."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point
from sqlalchemy import text

from gis.data.auth import create_key
from layers import CATALOG
from tests.conftest import problem_of

UTM = 32647
MONTHS = {"id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
                 "Oktober", "November", "Desember"),
          "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                 "October", "November", "December")}


def written(value: float, lang: str, decimals: int = 2) -> str:
    """A number as Bahasa Indonesia (1.350,51) or English (1,350.51) writes it, trailing zeros dropped."""
    s = f"{value:,.{decimals}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s.translate(str.maketrans(",.", ".,")) if lang == "id" else s


def frame(engine, layer: str) -> gpd.GeoDataFrame:
    with engine.connect() as conn:
        return gpd.read_postgis(text(f"SELECT * FROM {layer}"), conn, geom_col="geom")


def at(http, lon, lat, layers, headers=None, **params):
    r = http.get("/identify", params={"lon": lon, "lat": lat, "layers": ",".join(layers), **params},
                 headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()["features"]


def props(feature) -> dict:
    return {p["name"]: p for p in feature["properties"]}


@pytest.fixture(scope="module")
def city_keys(engine):
    with engine.begin() as conn:
        return {"binjai": create_key(conn, "Analis Binjai (klik)", "analyst", cities=["12.75"])[1],
                "medan": create_key(conn, "Analis Medan (klik)", "analyst", cities=["12.71"])[1]}


@pytest.fixture(scope="module")
def overlap(engine):
    """A point inside a park, its zone and its kelurahan, where the park and the zone differ in area."""
    parks, zones, kel = (frame(engine, n) for n in ("parks", "zoning", "kelurahan"))
    zones_m = zones.to_crs(UTM)
    for park in parks.itertuples():
        spot = park.geom.representative_point()
        holding = zones[zones.contains(spot)]
        if len(holding) and abs(zones_m.area.loc[holding.index[0]] -
                                gpd.GeoSeries([park.geom], crs=4326).to_crs(UTM).area.iloc[0]) > 100:
            return spot
    raise AssertionError("no park in the sample lies inside a zone of another size")


def test_overlapping_polygons_come_smallest_first_as_shapely_measures_them(http, engine, overlap):
    layers = ["kelurahan", "zoning", "parks"]
    expected = []
    for name in layers:
        gdf = frame(engine, name)
        inside = gdf[gdf.intersects(overlap)]
        for fid, area in zip(inside.id, inside.to_crs(UTM).area, strict=True):
            expected.append((area, name, fid))
    expected.sort()
    assert {name for _, name, _ in expected} == set(layers)
    found = at(http, overlap.x, overlap.y, layers, zoom=18)
    assert [(f["layer"], f["id"]) for f in found] == [(name, fid) for _, name, fid in expected]
    assert [f["area_m2"] for f in found] == pytest.approx([a for a, _, _ in expected], rel=1e-6)
    assert found[0]["layer"] == "parks" and found[-1]["layer"] == "kelurahan"  # the park, not the kelurahan
    assert [f["layer_title"] for f in found] == [CATALOG[n].title_id for _, n, _ in expected]


def test_a_point_comes_before_the_polygons_around_it_within_a_few_pixels(http, engine):
    centres = frame(engine, "business_centers")
    centre = centres.iloc[0]
    utm = gpd.GeoSeries([centre.geom], crs=4326).to_crs(UTM).iloc[0]

    def shifted(metres: float) -> Point:
        return gpd.GeoSeries([Point(utm.x + metres, utm.y)], crs=UTM).to_crs(4326).iloc[0]

    # 5 px at zoom 16 near the equator: about 12 m
    near, far = shifted(5), shifted(40)
    found = at(http, near.x, near.y, ["kelurahan", "business_centers"], zoom=16)
    assert [f["layer"] for f in found] == ["business_centers", "kelurahan"]
    assert found[0]["id"] == centre.id and found[0]["distance_m"] == pytest.approx(5, abs=0.1)
    assert [f["layer"] for f in at(http, far.x, far.y, ["kelurahan", "business_centers"], zoom=16)] == ["kelurahan"]
    # zoomed out, a pixel covers more ground: 40 m is within reach at zoom 13
    assert at(http, far.x, far.y, ["business_centers"], zoom=13)[0]["id"] == centre.id


def test_a_line_comes_between_points_and_polygons(http, engine):
    roads, kelurahan = frame(engine, "roads"), frame(engine, "kelurahan").union_all()
    on = next(p for p in (g.interpolate(0.5, normalized=True) for g in roads.geom) if kelurahan.contains(p))
    found = at(http, on.x, on.y, ["kelurahan", "roads"], zoom=17)
    assert found[0]["layer"] == "roads" and found[0]["distance_m"] < 1
    assert found[-1]["layer"] == "kelurahan"


@pytest.mark.parametrize("lang", ["id", "en"])
def test_values_are_written_for_the_language_with_declared_labels(http, engine, keys, lang):
    with engine.connect() as conn:
        parcel = conn.execute(text("SELECT id, status_date, area_ha, kompensasi_rp, ST_X(ST_PointOnSurface(geom)) "
                                   "x, ST_Y(ST_PointOnSurface(geom)) y FROM project_parcels WHERE status = 'agreed' "
                                   "AND kompensasi_rp > 1000000 ORDER BY id LIMIT 1")).one()
        centre = conn.execute(text("SELECT id, ST_X(geom) x, ST_Y(geom) y FROM business_centers "
                                   "WHERE status = 'active' ORDER BY id LIMIT 1")).one()
        park = conn.execute(text("SELECT id, publik, ST_X(ST_PointOnSurface(geom)) x, ST_Y(ST_PointOnSurface(geom)) "
                                 "y FROM parks ORDER BY id LIMIT 1")).one()
        district = conn.execute(text("SELECT id, area_ha, ST_X(ST_PointOnSurface(geom)) x, "
                                     "ST_Y(ST_PointOnSurface(geom)) y FROM kecamatan WHERE area_ha > 1000 "
                                     "ORDER BY id LIMIT 1")).one()
    analyst = {"X-API-Key": keys["analyst"]}
    got = props(next(f for f in at(http, parcel.x, parcel.y, ["project_parcels"], analyst, lang=lang)
                     if f["id"] == parcel.id))
    assert got["status"]["text"] == {"id": "Sepakat", "en": "Agreed"}[lang] and got["status"]["value"] == "agreed"
    assert got["status"]["label"] == {"id": "Status pengadaan", "en": "Acquisition status"}[lang]
    d = parcel.status_date
    assert got["status_date"]["text"] == f"{d.day} {MONTHS[lang][d.month - 1]} {d.year}"
    assert got["status_date"]["value"] == d.isoformat()
    assert got["area_ha"]["text"] == written(parcel.area_ha, lang)
    assert got["kompensasi_rp"]["text"] == written(parcel.kompensasi_rp, lang, 0)
    assert got["kompensasi_rp"]["private"] is True
    found = at(http, centre.x, centre.y, ["business_centers"], lang=lang)[0]
    assert props(found)["status"]["text"] == {"id": "Aktif", "en": "Active"}[lang]
    found = at(http, park.x, park.y, ["parks"], lang=lang, zoom=19)[0]
    assert props(found)["publik"]["text"] == {"id": ("Ya", "Tidak"), "en": ("Yes", "No")}[lang][not park.publik]
    area = props(at(http, district.x, district.y, ["kecamatan"], lang=lang)[0])["area_ha"]
    assert area["text"] == written(district.area_ha, lang)
    assert area["text"].count({"id": ".", "en": ","}[lang]) == 1 and area["value"] == pytest.approx(district.area_ha)


def test_private_fields_only_for_a_key_that_reads_them(http, engine, keys, city_keys):
    with engine.connect() as conn:
        parcel = conn.execute(text("SELECT id, pemilik, nik, kompensasi_rp, ST_X(ST_PointOnSurface(geom)) x, "
                                   "ST_Y(ST_PointOnSurface(geom)) y FROM project_parcels WHERE pemilik IS NOT NULL "
                                   "AND nik IS NOT NULL ORDER BY id LIMIT 1")).one()
    private = {f.name for f in CATALOG["project_parcels"].private_fields}

    def answer(headers):
        r = http.get("/identify", params={"lon": parcel.x, "lat": parcel.y, "layers": "project_parcels"},
                     headers=headers)
        assert r.status_code == 200
        found = next(f for f in r.json()["features"] if f["id"] == parcel.id)
        return r.text, props(found)

    for headers in ({}, {"X-API-Key": city_keys["medan"]}):  # the public; a key of another city
        body, got = answer(headers)
        assert not private & set(got)
        assert parcel.pemilik not in body and parcel.nik not in body
        assert "status" in got
    for key in (keys["analyst"], city_keys["binjai"]):
        body, got = answer({"X-API-Key": key})
        assert got["pemilik"]["value"] == parcel.pemilik and got["nik"]["value"] == parcel.nik
        assert private <= set(got)


def test_private_layers_are_unknown_to_the_public_and_known_to_a_key(http, engine, keys):
    with engine.connect() as conn:
        spot = conn.execute(text("SELECT id, ST_X(geom) x, ST_Y(geom) y FROM programme_points ORDER BY id "
                                 "LIMIT 1")).one()
    r = http.get("/identify", params={"lon": spot.x, "lat": spot.y, "layers": "kelurahan,programme_points"})
    assert r.status_code == 400 and "'programme_points'" in problem_of(r)["detail"]
    found = at(http, spot.x, spot.y, ["kelurahan", "programme_points"], {"X-API-Key": keys["analyst"]})
    assert (found[0]["layer"], found[0]["id"]) == ("programme_points", spot.id)


@pytest.mark.parametrize(("params", "named"), [
    ({"lat": 3.6, "layers": "kelurahan"}, "lon"),
    ({"lon": 98.5, "layers": "kelurahan"}, "lat"),
    ({"lon": 98.5, "lat": 95, "layers": "kelurahan"}, "lat"),
    ({"lon": 198.5, "lat": 3.6, "layers": "kelurahan"}, "lon"),
    ({"lon": "east", "lat": 3.6, "layers": "kelurahan"}, "lon"),
    ({"lon": 98.5, "lat": 3.6}, "layers"),
    ({"lon": 98.5, "lat": 3.6, "layers": "kelurahan,sawah"}, "'sawah'"),
    ({"lon": 98.5, "lat": 3.6, "layers": "kelurahan", "zoom": 30}, "zoom"),
    ({"lon": 98.5, "lat": 3.6, "layers": "kelurahan", "city": "99.99"}, "99.99"),
])
def test_bad_parameters_are_problems_naming_them(http, params, named):
    r = http.get("/identify", params=params)
    assert r.status_code == 400
    assert named in problem_of(r)["detail"]


def test_nothing_there_is_an_empty_list(http):
    assert at(http, 10.0, 10.0, ["kelurahan", "parks"]) == []
