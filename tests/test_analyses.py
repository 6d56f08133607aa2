"""Siting, conformity and monitoring analyses on small hand-built inputs, every number checked against an
independent computation."""

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from pydantic import ValidationError
from shapely.geometry import LineString, Point, box

from gis.analyses import rules
from gis.analyses.conformity import zoning_conformity
from gis.analyses.grid import Raster
from gis.analyses.monitoring import change_detection, project_progress
from gis.analyses.suitability import Criteria, SitingData, build_surface, evaluate_site, site_suitability
from gis.core.errors import InvalidInput

X0, Y0, SIZE, RES = 445_000.0, 398_000.0, 200, 10.0  # a 2 km x 2 km grid in UTM 47N
TRANSFORM = Affine(RES, 0, X0, 0, -RES, Y0 + SIZE * RES)
STEEP = box(X0, Y0 + 1500, X0 + 2000, Y0 + 2000)  # the northern quarter is steep (20 %)


def gdf(geoms, crs=32647, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=crs).to_crs(4326)


def to4326(geom):
    return gpd.GeoSeries([geom], crs=32647).to_crs(4326).iloc[0]


@pytest.fixture(scope="module")
def data():
    slope = np.full((SIZE, SIZE), 5.0, dtype="float32")
    slope[:50, :] = 20.0  # rows 0-49 are the northern 500 m
    grid = Raster(slope, TRANSFORM, 32647)
    return SitingData(
        slope=grid,
        flood=grid.like(np.ones((SIZE, SIZE), dtype="uint8")),
        land_cover=grid.like(np.full((SIZE, SIZE), 2, dtype="uint8")),
        roads=gdf([LineString([(X0, Y0 + 200), (X0 + 2000, Y0 + 200)])], road_class=["arterial"]),
        toll_gates=gdf([Point(X0, Y0)], nama=["Gerbang uji"]),
        zoning=gdf([box(X0 + 1500, Y0 + 1000, X0 + 2000, Y0 + 1500), box(X0, Y0, X0 + 1500, Y0 + 1500)],
                   kodszn=["R-2", "P-1"], namszn=["Perumahan kepadatan tinggi", "Tanaman pangan"]),
        parks=gdf([box(X0 + 200, Y0 + 1000, X0 + 300, Y0 + 1100)], kelas=["taman rw"]),
        rivers=gdf([LineString([(X0 + 1000, Y0), (X0 + 1000, Y0 + 2000)])], depth_class=["<=3m"]),
        city=gdf([box(X0, Y0, X0 + 2000, Y0 + 2000)], kode=["99.99"]),
    )


def test_a_square_site_on_a_known_slope(data):
    site = to4326(box(X0 + 300, Y0 + 300, X0 + 800, Y0 + 800))  # 25 ha, all on the 5 % slope
    result = evaluate_site(data, site, Criteria(target_ha=25))
    assert result["area_ha"] == pytest.approx(25, abs=0.05)
    assert result["mean_slope_pct"] == pytest.approx(5.0)
    assert result["criteria"]["slope"] == pytest.approx(1 - 5 / 15, abs=1e-4)
    assert result["excluded_share"] == {}
    assert result["meets_target"] and not result["meets_minimum"]  # 25 ha < the 50 ha estate minimum


def test_the_steep_part_of_a_site_is_excluded_by_its_exact_share(data):
    site_m = box(X0 + 100, Y0 + 1300, X0 + 600, Y0 + 1800)  # 200 m below the steep edge, 300 m above it
    result = evaluate_site(data, to4326(site_m), Criteria(target_ha=25))
    assert result["excluded_share"]["steep_slope"] == pytest.approx(300 / 500, abs=0.02)
    assert result["mean_slope_pct"] == pytest.approx((200 * 5 + 300 * 20) / 500, abs=0.2)


def test_the_score_of_a_pixel_is_the_weighted_sum_of_its_criteria(data):
    c = Criteria(target_ha=25)
    surface = build_surface(data, c)
    row, col = 150, 40  # centre at (X0 + 405, Y0 + 495)
    x, y = X0 + (col + 0.5) * RES, Y0 + SIZE * RES - (row + 0.5) * RES
    d_gate = Point(x, y).distance(Point(X0, Y0))
    d_road = abs(y - (Y0 + 200))
    d_housing = Point(x, y).distance(box(X0 + 1500, Y0 + 1000, X0 + 2000, Y0 + 1500))
    parts = {"slope": 1 - 5 / 15, "flood": 1.0, "land_cover": 1.0,
             "access": 0.6 * max(1 - d_gate / c.gate_reach_m, 0) + 0.4 * max(1 - d_road / c.arterial_reach_m, 0),
             "housing_distance": min(d_housing / c.housing_buffer_m, 1)}
    expected = sum(c.weights[k] * v for k, v in parts.items()) / sum(c.weights.values())
    assert surface.score[row, col] == pytest.approx(expected, abs=0.005)


def test_candidate_sites_meet_the_target_avoid_exclusions_and_are_deterministic(data):
    c = Criteria(target_ha=25, n_candidates=3)
    score, sites = site_suitability(data, c)
    again = site_suitability(data, c)[1]
    assert len(sites) == 3
    assert list(sites.score) == sorted(sites.score, reverse=True)
    assert all(sites.geometry.geom_equals(again.geometry))
    metric = sites.to_crs(32647)
    river_setback = LineString([(X0 + 1000, Y0), (X0 + 1000, Y0 + 2000)]).buffer(10)
    for geom, area_ha, mean in zip(metric.geometry, sites.area_ha, sites.score, strict=True):
        assert geom.area / 1e4 == pytest.approx(area_ha, abs=0.01) and area_ha >= 25
        assert geom.geom_type == "Polygon"  # contiguous
        assert geom.intersection(STEEP).area < 1 and geom.intersection(river_setback).area < 1
        mask = score.mask([geom])
        assert mean == pytest.approx(float(np.nanmean(score.array[mask])), abs=1e-3)
    assert not metric.geometry.iloc[0].intersects(metric.geometry.iloc[1].buffer(-1))


def test_siting_where_there_is_no_toll_gate_or_housing_says_so(data):
    # a kabupaten without a toll road (Karo): no distance to report, and no "inf km" (JSON has no infinity)
    bare = SitingData(**{**data.__dict__, "toll_gates": data.toll_gates.iloc[0:0],
                         "zoning": data.zoning[~data.zoning.kodszn.str.startswith("R")]})
    sites = site_suitability(bare, Criteria(target_ha=25, n_candidates=2))[1]
    assert len(sites) == 2 and sites.gate_distance_m.isna().all() and sites.housing_distance_m.isna().all()
    assert all("tidak ada gerbang tol" in t and "tidak ada zona perumahan" in t for t in sites.explanation_id)
    assert all("no toll gate" in t and "no housing zones" in t for t in sites.explanation_en)
    assert (sites.score_access <= 0.4 + 1e-9).all()  # the gate's 0.6 of access is 0, as far from a gate
    assert (sites.score_housing_distance == 1).all()  # nothing to keep away from
    result = evaluate_site(bare, to4326(box(X0 + 300, Y0 + 300, X0 + 800, Y0 + 800)), Criteria(target_ha=25))
    assert result["gate_distance_m"] is None
    with_gate = site_suitability(data, Criteria(target_ha=25, n_candidates=2))[1]
    assert with_gate.gate_distance_m.notna().all() and all("km dari gerbang tol" in t for t in with_gate.explanation_id)


def test_siting_refuses_a_target_that_cannot_fit(data):
    with pytest.raises(InvalidInput, match="no contiguous feasible area"):
        site_suitability(data, Criteria(target_ha=390))
    with pytest.raises(ValidationError, match="target_ha"):
        Criteria(target_ha=0)


def test_criteria_are_checked_when_built_and_left_out_weights_keep_their_default():
    default = rules.SuitabilityWeights()
    weights = Criteria(weights={"access": 1.0}).weights
    assert weights == {"slope": default.slope, "flood": default.flood, "access": 1.0,
                       "housing_distance": default.housing_distance, "land_cover": default.land_cover}
    for bad, name in (({"weights": {"view": 1}}, "view"), ({"n_candidates": 21}, "n_candidates"),
                      ({"weights": dict.fromkeys(weights, 0)}, "weights"),
                      ({"max_slope_pct": float("nan")}, "max_slope_pct")):
        with pytest.raises(ValidationError, match=name):
            Criteria(**bad)


ITBX = pd.DataFrame([
    {"kodszn": "KI", "kbli": None, "kegiatan": "industri besar", "ketentuan": "I", "syarat": None},
    {"kodszn": "RTH-2", "kbli": None, "kegiatan": "industri besar", "ketentuan": "X", "syarat": None},
    {"kodszn": "KI", "kbli": None, "kegiatan": "taman", "ketentuan": "T", "syarat": "terbatas"},
    {"kodszn": "RTH-2", "kbli": None, "kegiatan": "taman", "ketentuan": "I", "syarat": None},
])
ZONES = gdf([box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)],
            kodszn=["KI", "RTH-2"], namszn=["Kawasan industri", "Taman kota"], kodzon=["KPI", "RTH"])


def conformity(site, activity, **kw):
    return zoning_conformity(site, zoning=ZONES, itbx=ITBX, activity=activity, **kw)


def test_two_zones_split_70_30_and_the_most_restrictive_verdict():
    site = to4326(box(X0 + 300, Y0 + 100, X0 + 1300, Y0 + 200))  # 700 m in KI, 300 m in RTH-2: 10 ha
    result = conformity(site, "industri besar")
    shares = {z["kodszn"]: z["share"] for z in result["zones"]}
    areas = {z["kodszn"]: z["area_ha"] for z in result["zones"]}
    assert shares == pytest.approx({"KI": 0.7, "RTH-2": 0.3}, abs=1e-3)
    assert areas == pytest.approx({"KI": 7.0, "RTH-2": 3.0}, abs=0.01)
    assert result["verdict"] == "X"
    assert "tidak diizinkan" in result["explanation"]["id"] and "not permitted" in result["explanation"]["en"]
    assert conformity(site, "taman")["verdict"] == "T"


def test_inside_ki_is_permitted_and_inside_rth_is_not():
    inside_ki = to4326(box(X0 + 100, Y0 + 100, X0 + 400, Y0 + 400))
    inside_rth = to4326(box(X0 + 1100, Y0 + 100, X0 + 1400, Y0 + 400))
    assert conformity(inside_ki, "industri besar")["verdict"] == "I"
    assert conformity(inside_rth, "industri besar")["verdict"] == "X"
    # a sliver under the significance share does not decide the verdict
    sliver = to4326(box(X0 + 100, Y0 + 100, X0 + 1010, Y0 + 400))
    assert conformity(sliver, "industri besar")["verdict"] == "I"
    river = gdf([LineString([(X0 + 200, Y0), (X0 + 200, Y0 + 1000)]).buffer(10)])
    touched = conformity(inside_ki, "industri besar", overlays={"sempadan": river})["overlays"]
    assert touched[0]["area_ha"] == pytest.approx(20 * 300 / 1e4, abs=1e-3)


def test_conformity_bad_inputs_say_what_is_wrong():
    site = to4326(box(X0 + 100, Y0 + 100, X0 + 400, Y0 + 400))
    with pytest.raises(InvalidInput, match="unknown activity 'pabrik nuklir'.*'industri besar', 'taman'"):
        conformity(site, "pabrik nuklir")
    with pytest.raises(InvalidInput, match="outside the city"):
        conformity(site, "taman", city=to4326(box(X0 + 5000, Y0, X0 + 6000, Y0 + 1000)))


def test_project_progress_on_four_parcels():
    parcels = gpd.GeoDataFrame({"id": [1, 2, 3, 4], "parcel_id": ["A", "B", "C", "D"],
                                "status": ["certified", "compensated", "agreed", "identified"],
                                "area_ha": [10.0, 12.0, 8.0, 10.0], "kompensasi_rp": [7.0e9, 8.5e9, 5.6e9, None]},
                               geometry=[box(0, 0, 1, 1)] * 4, crs=4326)
    events = pd.DataFrame([(1, date(2024, 1, 10), "identified"), (2, date(2024, 1, 15), "identified"),
                           (3, date(2024, 2, 1), "identified"), (4, date(2024, 2, 2), "identified"),
                           (1, date(2024, 2, 20), "compensated"), (2, date(2024, 3, 5), "compensated"),
                           (1, date(2024, 3, 25), "certified"), (3, date(2024, 3, 30), "agreed")],
                          columns=["feature_id", "date", "status"])
    milestones = pd.DataFrame([("A", date(2024, 1, 31), date(2024, 1, 20)), ("B", date(2024, 2, 28), date(2024, 3, 10)),
                               ("C", date(2024, 3, 1), None), ("D", date(2025, 1, 1), None)],
                              columns=["nama", "planned_date", "actual_date"])
    project = {"slug": "uji", "nama": "Uji", "target_ha": 40.0, "harga_satuan_rp_m2": 70_800}
    r = project_progress(project, parcels, events, milestones, today=date(2024, 4, 15))
    assert r["acquired_ha"] == 22.0 and r["acquired_share"] == pytest.approx(0.55)
    assert {s["status"]: s["area_ha"] for s in r["by_status"]}["agreed"] == 8.0
    months = {t["month"]: t for t in r["timeline"]}
    assert list(months) == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert months["2024-01"]["identified_ha"] == 22.0 and months["2024-01"]["acquired_ha"] == 0
    assert months["2024-02"]["acquired_ha"] == 10.0 and months["2024-02"]["identified_ha"] == 30.0
    assert months["2024-03"]["certified_ha"] == 10.0 and months["2024-03"]["compensated_ha"] == 12.0
    assert [m["state"] for m in r["milestones"]] == ["done_on_time", "done_late", "late", "upcoming"]
    assert r["milestones"][1]["days_late"] == 11 and r["milestones"][2]["days_late"] == 45
    assert r["compensation"]["paid_rp"] == int(7.0e9 + 8.5e9)
    assert r["compensation"]["estimated_rp"] == int(40 * 1e4 * 70_800)


def test_change_detection_counts_transitions_inside_the_footprint():
    before = np.full((SIZE, SIZE), 2, dtype="uint8")
    after = before.copy()
    after[100:150, 20:60] = 6  # 50 x 40 pixels cleared = 20 ha...
    after[100:150, 100:110] = 1  # ...and 5 ha built, of which the footprint holds the part with col < 80
    footprint = to4326(box(X0, Y0, X0 + 800, Y0 + 1000))  # cols 0-79, rows 100-199
    table, change, summary = change_detection(Raster(before, TRANSFORM, 32647), Raster(after, TRANSFORM, 32647),
                                              footprint, {2: ("Perkebunan",), 6: ("Lahan terbuka",)})
    assert summary["changed_ha"] == pytest.approx(20.0)
    assert summary["footprint_ha"] == pytest.approx(80.0)
    assert table.to_dict("records") == [{"from_class": 2, "to_class": 6, "from_label": "Perkebunan",
                                         "to_label": "Lahan terbuka", "pixels": 2000, "area_ha": 20.0}]
    assert int((change.array == 206).sum()) == 2000 and int((change.array == 201).sum()) == 0



def test_explanations_write_numbers_as_their_language_does():
    """The Indonesian sentence of a verdict says `10,00 ha` and `70 %`, the English one `10.00 ha`."""
    from gis.analyses.suitability import _n

    assert (_n(0.6734, "id", 2), _n(0.6734, "en", 2)) == ("0,67", "0.67")
    assert (_n(1350.4, "id", 0), _n(1350.4, "en", 0)) == ("1.350", "1,350")
    site = to4326(box(X0 + 300, Y0 + 100, X0 + 1300, Y0 + 200))  # 10 ha: 7 in KI, 3 in RTH-2
    text = conformity(site, "industri besar")["explanation"]
    assert "10,00 ha" in text["id"] and "Kawasan industri (KI, 70 %: I" in text["id"], text["id"]
    assert "10.00 ha" in text["en"] and "Taman kota (RTH-2, 30 %: X" in text["en"], text["en"]


def test_rasters_of_several_cities_are_placed_on_one_grid():
    """A city's own raster is copied onto an aligned grid cell for cell; another CRS is resampled; where two
    overlap the first wins, and where none has a value the grid says so."""
    from gis.analyses.grid import aligned_grid, mosaic, place

    a = Raster(np.arange(20, dtype="float32").reshape(4, 5), Affine(10, 0, X0, 0, -10, Y0), 32647)
    b = Raster(np.full((4, 5), 99, dtype="float32"), Affine(10, 0, X0 + 30, 0, -10, Y0 - 20), 32647)
    grid = aligned_grid((X0 + 3, Y0 - 62, X0 + 77, Y0 - 1), a)
    assert (grid.transform.c, grid.transform.f, grid.shape) == (X0, Y0, (7, 8))
    values, covered = place(a, grid, "float32")
    assert (values[:4, :5] == a.array).all() and covered[:4, :5].all() and covered.sum() == 20
    both, has = mosaic([a, b], grid, "float32")
    assert (both[:4, :5] == a.array).all()  # a first: its cells kept where b overlaps
    assert (both[4:6, 5:8] == 99).all() and (both[2:4, 5:8] == 99).all()
    assert has.sum() == 20 + 20 - 2 * 2 and not has[6, 0]
    # the same raster described in another CRS lands on the same places (nearest neighbour)
    lonlat = gpd.GeoSeries([Point(X0 + 25, Y0 - 15)], crs=32647).to_crs(4326).iloc[0]
    ll_transform = Affine(0.00005, 0, lonlat.x - 0.0001, 0, -0.00005, lonlat.y + 0.0001)  # ~22 m square
    c = Raster(np.full((4, 4), 7, dtype="uint8"), ll_transform, 4326)
    resampled, hit = place(c, grid, "uint8")
    assert hit[1, 2] and resampled[1, 2] == 7 and not hit[6, 7]


def test_a_candidate_site_reports_the_cities_it_touches(data):
    """Two cities side by side: a site across their border reports both, with its hectares in each."""
    from gis.analyses.suitability import cities_touched

    west, east = box(X0, Y0, X0 + 1000, Y0 + 2000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 2000)
    cities = gpd.GeoDataFrame({"kode": ["99.01", "99.02"]}, geometry=[west, east], crs=32647)
    site = box(X0 + 700, Y0 + 100, X0 + 1200, Y0 + 600)  # 300 m west, 200 m east, 500 m tall
    assert cities_touched(site, cities) == pytest.approx({"99.01": 15.0, "99.02": 10.0})
    assert cities_touched(box(X0 + 500, Y0, X0 + 1000, Y0 + 500), cities) == {"99.01": 25.0}  # an edge: no touch
    region = SitingData(**{**data.__dict__, "city": cities.to_crs(4326)})
    _, sites = site_suitability(region, Criteria(target_ha=25, n_candidates=3))
    for geom, touched, by_city in zip(sites.to_crs(32647).geometry, sites.cities, sites.area_ha_by_city,
                                      strict=True):
        expected = {k: geom.intersection(g).area / 1e4 for k, g in (("99.01", west), ("99.02", east))}
        assert touched == sorted(k for k, ha in expected.items() if ha > 1e-4)
        assert by_city == pytest.approx({k: ha for k, ha in expected.items() if ha > 1e-4}, abs=1e-3)


def test_a_cropped_raster_holds_the_same_pixels_where_they_are():
    full = Raster(np.arange(100 * 80, dtype="int32").reshape(100, 80), Affine(10, 0, 400_000, 0, -10, 400_000), 32647)
    bounds = (400_205, 399_395, 400_301, 399_501)
    part = full.crop(bounds)
    # every pixel of the crop is the full raster's pixel at the same place
    for r in range(part.shape[0]):
        for c in range(part.shape[1]):
            x, y = part.transform * (c + 0.5, r + 0.5)
            fc, fr = ~full.transform * (x, y)
            assert part.array[r, c] == full.array[int(fr), int(fc)]
    # and it covers the bounds with a pixel to spare on each side
    x0, y1 = part.transform * (0, 0)
    x1, y0 = part.transform * (part.shape[1], part.shape[0])
    assert x0 <= bounds[0] - 10 and y0 <= bounds[1] - 10 and x1 >= bounds[2] + 10 and y1 >= bounds[3] + 10
    assert x1 - x0 <= bounds[2] - bounds[0] + 40 and y1 - y0 <= bounds[3] - bounds[1] + 40
    assert full.crop((500_000, 500_000, 500_100, 500_100)).array.size == 0  # outside: nothing
