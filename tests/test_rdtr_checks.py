"""RDTR plan validation: each problem code planted in a clean generated plan is found, names the planted feature
and points inside the planted area; areas are compared with shapely measures in EPSG:32647 made here."""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.affinity import translate
from shapely.geometry import Point, Polygon, box

from gis.analyses.rdtr_checks import check_plan, report_lines, summary
from gis.core.errors import InvalidInput
from layers.rdtr import NATIONAL_ZONES
from layers.sample.rdtr_synthetic import city_boundary, synthetic_itbx, synthetic_plan

METRIC = 32647


@pytest.fixture(scope="module")
def clean():
    return synthetic_plan(40, seed=7)


@pytest.fixture(scope="module")
def city():
    return city_boundary()


@pytest.fixture
def plan(clean):
    return clean.copy()


def to_m(geom):
    return gpd.GeoSeries([geom], crs=4326).to_crs(METRIC).iloc[0]


def to_ll(geom_m):
    return gpd.GeoSeries([geom_m], crs=METRIC).to_crs(4326).iloc[0]


def at(problem):
    """The problem's location, in metres."""
    return to_m(Point(problem["location"]))


def run(plan, city=None, **kw):
    if "itbx_codes" not in kw:
        kw["itbx_codes"] = set(NATIONAL_ZONES)  # an ITBX table with a row for every national code
    return check_plan(plan, metric_crs=METRIC, city=city, **kw)


def of(problems, code):
    return [p for p in problems if p["code"] == code]


def fids(problem):
    return {f["fid"] for f in problem["features"]}


def interior_pair(plan, city):
    """An inner zone (well inside the city) and a neighbour sharing a long edge with it: row indexes."""
    city_m = to_m(city)
    geoms = plan.geometry.to_crs(METRIC)
    for i, g in enumerate(geoms):
        if not city_m.contains(g.buffer(300)):
            continue
        for j, h in enumerate(geoms):
            if j != i and g.intersection(h).length > 100:
                return i, j
    raise AssertionError("the plan has no inner zone")


def set_geom(plan, i, geom_m):
    plan.loc[plan.index[i], "geometry"] = to_ll(geom_m)


def assert_names(problem, plan, i):
    row = plan.iloc[i]
    feature = next(f for f in problem["features"] if f["fid"] == row["fid"])
    assert feature == {"fid": int(row["fid"]), "kodszn": row["kodszn"], "kodblk": row["kodblk"]}


def test_a_clean_plan_has_no_problems_and_without_itbx_every_code_is_reported_once(plan, city):
    assert run(plan, city) == []
    problems = run(plan, city, itbx_codes=None)
    assert {p["code"] for p in problems} == {"itbx_missing_zone"}
    assert sorted(p["kodszn"] for p in problems) == sorted(plan["kodszn"].unique())
    for p in problems:
        members = plan[plan["kodszn"] == p["kodszn"]]
        assert p["count"] == len(members) and fids(p) == set(members["fid"])
        assert p["severity"] == "warning"
        assert members.geometry.to_crs(METRIC).buffer(0.01).contains(at(p)).any()


def test_overlap_reports_both_zones_the_area_and_a_point_inside_it(plan, city):
    i, j = interior_pair(plan, city)
    grown = to_m(plan.geometry.iloc[i]).buffer(25)
    set_geom(plan, i, grown)
    inter = to_m(plan.geometry.iloc[i]).intersection(to_m(plan.geometry.iloc[j]))
    found = [p for p in of(run(plan, city), "overlap") if fids(p) == {plan.fid.iloc[i], plan.fid.iloc[j]}]
    assert len(found) == 1
    p = found[0]
    assert p["severity"] == "error"
    assert_names(p, plan, i)
    assert_names(p, plan, j)
    assert p["area_m2"] == pytest.approx(inter.area, rel=0.01)
    assert inter.buffer(0.01).contains(at(p))


def test_overlaps_below_the_threshold_are_not_reported(plan, city):
    i, j = interior_pair(plan, city)
    inner_j = to_m(plan.geometry.iloc[j]).representative_point()
    zone_i = to_m(plan.geometry.iloc[i])
    small = box(inner_j.x, inner_j.y, inner_j.x + 0.7, inner_j.y + 0.7)  # 0.49 m2 inside zone j
    set_geom(plan, i, shapely.MultiPolygon([*shapely.get_parts(zone_i), small]))
    assert of(run(plan, city), "overlap") == []
    large = box(inner_j.x, inner_j.y, inner_j.x + 1.5, inner_j.y + 1.5)  # 2.25 m2: over the 1 m2 threshold
    set_geom(plan, i, shapely.MultiPolygon([*shapely.get_parts(zone_i), large]))
    [p] = of(run(plan, city), "overlap")
    assert fids(p) == {plan.fid.iloc[i], plan.fid.iloc[j]}
    assert p["area_m2"] == pytest.approx(to_m(plan.geometry.iloc[i]).intersection(
        to_m(plan.geometry.iloc[j])).area, rel=0.01)


def test_a_removed_zone_leaves_a_gap_named_by_its_neighbours(plan, city):
    i, j = interior_pair(plan, city)
    removed = to_m(plan.geometry.iloc[i])
    rest = plan.drop(index=plan.index[i])
    [p] = of(run(rest, city), "gap")
    assert p["severity"] == "warning"
    assert p["area_m2"] == pytest.approx(removed.area, rel=0.01)
    assert removed.contains(at(p))
    neighbours = {f for f, g in zip(rest.fid, rest.geometry.to_crs(METRIC), strict=True) if g.distance(removed) < 0.5}
    assert fids(p) == neighbours and plan.fid.iloc[j] in fids(p)


def test_a_hole_in_the_city_boundary_itself_is_not_a_gap_of_the_plan(plan, city):
    i, _ = interior_pair(plan, city)
    removed = plan.geometry.iloc[i]
    rest = plan.drop(index=plan.index[i])
    assert len(of(run(rest, city), "gap")) == 1
    assert of(run(rest, city.difference(removed)), "gap") == []  # the city has no land there to plan


def test_a_shrunk_zone_leaves_a_gap_and_small_holes_are_not_reported(plan, city):
    i, _ = interior_pair(plan, city)
    zone = to_m(plan.geometry.iloc[i])
    set_geom(plan, i, zone.buffer(-15))
    uncovered = zone.difference(to_m(plan.geometry.iloc[i]))
    [p] = of(run(plan, city), "gap")
    assert plan.fid.iloc[i] in fids(p)
    assert_names(p, plan, i)
    assert p["area_m2"] == pytest.approx(uncovered.area, rel=0.01)
    assert uncovered.buffer(0.01).contains(at(p))

    c = zone.representative_point()
    set_geom(plan, i, zone.difference(box(c.x - 4, c.y - 4, c.x + 4, c.y + 4)))  # a 64 m2 hole: under 100 m2
    assert of(run(plan, city), "gap") == []
    set_geom(plan, i, zone.difference(box(c.x - 6, c.y - 6, c.x + 6, c.y + 6)))  # 144 m2
    [p] = of(run(plan, city), "gap")
    assert p["area_m2"] == pytest.approx(144, rel=0.01) and fids(p) == {plan.fid.iloc[i]}
    assert c.buffer(6 * 2 ** 0.5).contains(at(p))


def test_a_zone_moved_outside_the_city_is_reported_with_its_share_outside(plan, city):
    i, _ = interior_pair(plan, city)
    zone = to_m(plan.geometry.iloc[i])
    city_m = to_m(city)
    moved = translate(zone, xoff=city_m.bounds[2] - zone.centroid.x)  # its centre on the city's eastern extent
    set_geom(plan, i, moved)
    moved = to_m(plan.geometry.iloc[i])
    share = moved.difference(city_m).area / moved.area
    assert 0.05 < share
    found = [p for p in of(run(plan, city), "outside_city") if fids(p) == {plan.fid.iloc[i]}]
    assert len(found) == 1
    p = found[0]
    assert_names(p, plan, i)
    assert p["share"] == pytest.approx(share, abs=1e-3)
    assert moved.difference(city_m).buffer(0.01).contains(at(p)) and not city_m.contains(at(p))
    assert of(run(plan, None), "outside_city") == []  # no city boundary given: not checked


def test_luasha_off_by_5_percent_is_reported_and_off_by_half_a_percent_is_not(plan, city):
    area_ha = plan.geometry.to_crs(METRIC).area / 1e4
    plan.loc[plan.index[3], "luasha"] = round(area_ha.iloc[3] * 1.05, 4)
    plan.loc[plan.index[5], "luasha"] = round(area_ha.iloc[5] * 1.005, 4)
    [p] = of(run(plan, city), "area_mismatch")
    assert_names(p, plan, 3) and fids(p) == {plan.fid.iloc[3]}
    assert p["declared_ha"] == pytest.approx(area_ha.iloc[3] * 1.05, abs=1e-4)
    assert p["computed_ha"] == pytest.approx(area_ha.iloc[3], rel=1e-6)
    assert to_m(plan.geometry.iloc[3]).contains(at(p))


def test_a_bowtie_is_reported_at_its_crossing_and_its_overlap_is_still_found(plan, city):
    i, j = interior_pair(plan, city)
    edge = to_m(plan.geometry.iloc[i]).intersection(to_m(plan.geometry.iloc[j]))
    c = edge.interpolate(0.5, normalized=True)
    bowtie = Polygon([(c.x - 30, c.y - 30), (c.x + 30, c.y + 30), (c.x + 30, c.y - 30), (c.x - 30, c.y + 30)])
    set_geom(plan, i, bowtie)
    problems = run(plan, city)
    [p] = of(problems, "invalid_geometry")
    assert fids(p) == {plan.fid.iloc[i]} and p["severity"] == "error"
    assert_names(p, plan, i)
    assert "Self-intersection" in p["reason"]
    assert at(p).distance(c) < 0.5
    repaired = shapely.make_valid(to_m(plan.geometry.iloc[i]))
    inter = repaired.intersection(to_m(plan.geometry.iloc[j]))
    assert inter.area > 1
    [o] = [o for o in of(problems, "overlap") if fids(o) == {plan.fid.iloc[i], plan.fid.iloc[j]}]
    assert o["area_m2"] == pytest.approx(inter.area, rel=0.01)
    assert inter.buffer(0.01).contains(at(o))


def test_an_empty_geometry_is_invalid_without_a_location(plan, city):
    plan.loc[plan.index[2], "geometry"] = None
    [p] = of(run(plan, city), "invalid_geometry")
    assert fids(p) == {plan.fid.iloc[2]} and p["location"] is None


def test_a_duplicated_sub_block_names_both_zones(plan, city):
    plan.loc[plan.index[9], ["kodblk", "kodsbl"]] = plan.loc[plan.index[4], ["kodblk", "kodsbl"]].to_list()
    [p] = of(run(plan, city), "duplicate_id")
    assert p["severity"] == "error" and fids(p) == {plan.fid.iloc[4], plan.fid.iloc[9]}
    assert (p["kodblk"], p["kodsbl"]) == (plan.kodblk.iloc[4], plan.kodsbl.iloc[4])
    assert_names(p, plan, 9)
    assert to_m(plan.geometry.iloc[4]).contains(at(p))


def test_an_unknown_code_is_reported_once_with_all_its_zones_unless_the_itbx_has_it(plan, city):
    plan.loc[plan.index[[6, 11]], "kodszn"] = "ZZ-9"
    [p] = of(run(plan, city), "unknown_zone_code")
    assert p["kodszn"] == "ZZ-9" and p["count"] == 2 and fids(p) == set(plan.fid.iloc[[6, 11]])
    assert_names(p, plan, 6)
    assert plan.geometry.iloc[[6, 11]].to_crs(METRIC).buffer(0.01).contains(at(p)).any()
    assert of(run(plan, city, itbx_codes={"ZZ-9", *plan.kodszn}), "unknown_zone_code") == []


def test_a_code_on_many_zones_lists_at_most_50_of_them():
    big = synthetic_plan(120, seed=3)
    big.loc[big.index[:60], "kodszn"] = "ZZ-9"
    [p] = of(run(big), "unknown_zone_code")
    assert p["count"] == 60 and len(p["features"]) == 50 and fids(p) <= set(big.fid.iloc[:60])


def test_missing_fields_are_reported_and_the_checks_needing_them_skipped(plan, city):
    plan.loc[plan.index[1], "luasha"] = plan.luasha.iloc[1] * 2
    plan.loc[plan.index[9], ["kodblk", "kodsbl"]] = plan.loc[plan.index[4], ["kodblk", "kodsbl"]].to_list()
    problems = run(plan.drop(columns=["kodblk", "luasha"]), city)
    missing = {p["field"]: p for p in of(problems, "missing_field")}
    assert set(missing) == {"KODBLK", "LUASHA"}
    assert all(p["severity"] == "warning" and p["features"] == [] for p in missing.values())
    assert of(problems, "area_mismatch") == [] and of(problems, "duplicate_id") == []
    assert "declared areas are not checked" in missing["LUASHA"]["message"]["en"]
    problems = run(plan.drop(columns=["kodszn", "namszn"]), city, itbx_codes=None)
    missing = {p["field"]: p["severity"] for p in of(problems, "missing_field")}
    assert missing == {"KODSZN": "error", "NAMSZN": "error"}
    assert of(problems, "unknown_zone_code") == [] and of(problems, "itbx_missing_zone") == []


def test_an_itbx_table_missing_a_code_reports_that_code(plan, city):
    code = plan.kodszn.value_counts().index[0]
    itbx = synthetic_itbx(set(plan.kodszn) - {code})
    [p] = of(run(plan, city, itbx_codes=set(itbx.kodszn)), "itbx_missing_zone")
    members = plan[plan.kodszn == code]
    assert p["kodszn"] == code and p["count"] == len(members) and fids(p) == set(members.fid)
    assert members.geometry.to_crs(METRIC).buffer(0.01).contains(at(p)).any()


def test_zones_in_a_metric_crs_are_checked_and_located_in_lon_lat(plan, city):
    i, j = interior_pair(plan, city)
    set_geom(plan, i, to_m(plan.geometry.iloc[i]).buffer(10))
    inter = to_m(plan.geometry.iloc[i]).intersection(to_m(plan.geometry.iloc[j]))
    problems = run(plan.to_crs(METRIC), city)
    [p] = [p for p in of(problems, "overlap") if fids(p) == {plan.fid.iloc[i], plan.fid.iloc[j]}]
    assert inter.buffer(0.01).contains(at(p))
    with pytest.raises(InvalidInput, match="coordinate reference system"):
        run(plan.set_crs(None, allow_override=True), city)


def test_progress_advances_to_the_end(plan, city):
    seen = []
    run(plan, city, progress=lambda step, fraction: seen.append((step, fraction)))
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {"overlaps", "gaps", "city"} <= {s for s, _ in seen}


def test_summary_and_report_lines_count_and_locate_the_problems(plan, city):
    plan.loc[plan.index[[6, 11]], "kodszn"] = "ZZ-9"
    area_ha = plan.geometry.to_crs(METRIC).area / 1e4
    plan.loc[plan.index[3], "luasha"] = area_ha.iloc[3] * 2
    problems = run(plan, city)
    s = summary(problems)
    # ZZ-9 is unknown (error) and, having no ITBX row, also itbx_missing_zone (warning)
    assert s["counts"] == {"unknown_zone_code": 1, "area_mismatch": 1, "itbx_missing_zone": 1}
    assert (s["errors"], s["warnings"], s["ok"]) == (1, 2, False)
    assert summary(of(problems, "area_mismatch"))["ok"] is True  # warnings do not block
    lines = report_lines(problems, lang="en")
    assert lines[0] == "3 problems: 1 errors, 2 warnings"
    text = "\n".join(lines)
    assert f"fid {plan.fid.iloc[3]} {plan.kodszn.iloc[3]} {plan.kodblk.iloc[3]}" in text
    lon, lat = of(problems, "area_mismatch")[0]["location"]
    assert f"{lon:.6f}, {lat:.6f}" in text
    assert lines.index(next(x for x in lines if "unknown_zone_code" in x and "[E]" in x)) < \
        lines.index(next(x for x in lines if "area_mismatch" in x and "[W]" in x))
    short = report_lines(problems, lang="id", limit=1)
    assert short[0] == "3 masalah: 1 galat, 2 peringatan" and short[-1] == "  ... 2 lainnya"
    assert sum("@ " in x for x in short) == 1
    assert report_lines([], lang="id") == ["Rencana bersih: tidak ada masalah."]


def test_numbers_in_messages_follow_the_language(plan, city):
    i, _ = interior_pair(plan, city)
    plan.loc[plan.index[i], "luasha"] = 1234.5
    [p] = of(run(plan, city), "area_mismatch")
    assert "1.234,5 ha" in p["message"]["id"] and "1,234.5 ha" in p["message"]["en"]
    assert np.isfinite(p["computed_ha"])
