"""KKPR conformity by KBLI and siting that keeps out of forbidden zones, on a small hand-built plan: every verdict,
share and provision checked against shapely overlays and rules read off the table by hand in this file."""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import LineString, Point, Polygon, box

from gis.analyses import itbx
from gis.analyses.conformity import zoning_conformity
from gis.analyses.grid import Raster
from gis.analyses.suitability import Criteria, SitingData, build_surface, evaluate_site, site_suitability
from gis.core.errors import InvalidInput

X0, Y0 = 445_000.0, 398_000.0  # UTM 47N, near Binjai
ORDER = ["I", "T", "B", "unregulated", "X"]  # least to most restrictive, as the regulation reads


def to4326(geom):
    return gpd.GeoSeries([geom], crs=32647).to_crs(4326).iloc[0]


# The plan: KPI drawn as two polygons (one sub-zone), housing R-3, farmland P-1 flagged LP2B, trade K-2 flagged
# flood-prone; the strip x in [2000, 2500] is inside the city but unzoned.
ZONES_M = [
    ("KPI", "Kawasan peruntukan industri", box(X0, Y0, X0 + 500, Y0 + 1000), None, None),
    ("KPI", "Kawasan peruntukan industri", box(X0 + 500, Y0, X0 + 1000, Y0 + 1000), None, None),
    ("R-3", "Perumahan kepadatan sedang", box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000), None, "tidak"),
    ("P-1", "Tanaman pangan", box(X0, Y0 + 1000, X0 + 1000, Y0 + 2000), "LP2B", None),
    ("K-2", "Perdagangan dan jasa skala WP", box(X0 + 1000, Y0 + 1000, X0 + 2000, Y0 + 2000), "0", "Rawan banjir"),
]
ZONING = gpd.GeoDataFrame(
    {"kodszn": [z[0] for z in ZONES_M], "namszn": [z[1] for z in ZONES_M],
     "kodzon": [z[0].split("-")[0] for z in ZONES_M], "namzon": ["Zona " + z[1] for z in ZONES_M],
     "lp2b_2": [z[3] for z in ZONES_M], "krb_03": [z[4] for z in ZONES_M]},
    geometry=[z[2] for z in ZONES_M], crs=32647).to_crs(4326)
CITY_M = box(X0, Y0, X0 + 2500, Y0 + 2000)
ITBX = pd.DataFrame([
    ("KPI", "10750", "Industri makanan lainnya", "I", None), ("KPI", "24", None, "T", "T1: luas maksimum"),
    ("KPI", None, "industri besar", "I", None),
    ("R-3", "1075", None, "X", None), ("R-3", "47111", None, "I", None), ("R-3", None, "Industri Besar", "X", None),
    ("P-1", "10750", None, "B", "B: kajian dampak"), ("P-1", None, "industri besar", "X", None),
    ("K-2", "10750", None, "T", "T2"), ("K-2", "47111", None, "I", None), ("K-2", None, "industri besar", "B", "B1"),
], columns=["kodszn", "kbli", "kegiatan", "ketentuan", "syarat"])
# The rules read off the table above by hand: (sub-zone, query) -> (ketentuan, code of the row that answers).
BY_HAND = {
    ("KPI", "10750"): ("I", "10750"), ("R-3", "10750"): ("X", "1075"), ("P-1", "10750"): ("B", "10750"),
    ("K-2", "10750"): ("T", "10750"), ("KPI", "24100"): ("T", "24"), ("R-3", "47111"): ("I", "47111"),
    ("K-2", "47111"): ("I", "47111"), ("KPI", "industri besar"): ("I", None), ("R-3", "industri besar"): ("X", None),
    ("K-2", "industri besar"): ("B", None), ("P-1", "industri besar"): ("X", None),
}
CASES = [  # name, site (metric polygon, or (point, ha)), query, verdict expected by reading the map
    ("inside one zone", box(X0 + 100, Y0 + 100, X0 + 400, Y0 + 400), "10750", "I"),
    ("3 % in housing: does not decide", box(X0 + 30, Y0 + 100, X0 + 1030, Y0 + 200), "10750", "I"),
    ("7 % in housing: decides", box(X0 + 70, Y0 + 100, X0 + 1070, Y0 + 200), "10750", "X"),
    ("a point with 4 ha in housing", (Point(X0 + 1500, Y0 + 500), 4.0), "10750", "X"),
    ("40 % outside the city", box(X0 - 200, Y0 + 100, X0 + 300, Y0 + 300), "10750", "I"),
    ("half on LP2B farmland", box(X0 + 200, Y0 + 900, X0 + 500, Y0 + 1100), "10750", "B"),
    ("a KBLI answered by its 2-digit group", box(X0 + 100, Y0 + 100, X0 + 400, Y0 + 400), "24100", "T"),
    ("a KBLI with no row", box(X0 + 100, Y0 + 100, X0 + 400, Y0 + 400), "62010", "unregulated"),
    ("an activity, written loosely", box(X0 + 1200, Y0 + 800, X0 + 1400, Y0 + 1300), " INDUSTRI besar", "X"),
    ("half unzoned", box(X0 + 1900, Y0 + 100, X0 + 2100, Y0 + 300), "47111", "I"),
    ("flood-prone trade zone", box(X0 + 1200, Y0 + 1200, X0 + 1500, Y0 + 1500), "10750", "T"),
    ("four corners", box(X0 + 900, Y0 + 900, X0 + 1100, Y0 + 1100), "10750", "X"),
    ("a point with 2 ha on farmland", (Point(X0 + 500, Y0 + 1500), 2.0), "industri besar", "X"),
]


def run(site, query, **kw):
    geom, area = (site if isinstance(site, tuple) else (site, None))
    asked = {"activity": query} if not query.strip().isdigit() else {"kbli": query}
    kw.setdefault("city", to4326(CITY_M))
    return zoning_conformity(to4326(geom), zoning=ZONING, itbx=ITBX, metric_crs=32647, site_area_ha=area,
                             **asked, **kw)


def expected(site, query) -> dict:
    """The answer computed here: shapely overlays in EPSG:32647 and the hand-read rules."""
    if isinstance(site, tuple):
        point, ha = site
        site = point.buffer(math.sqrt(ha * 1e4 / math.pi), quad_segs=256)  # a near-perfect circle
    key = query.strip().lower()
    areas = {}
    for code, _, geom, _, _ in ZONES_M:
        areas[code] = areas.get(code, 0.0) + site.intersection(geom).area / 1e4
    site_ha = site.area / 1e4
    shares = {code: ha / site_ha for code, ha in areas.items() if ha > 0}
    rules = {code: BY_HAND.get((code, key), ("unregulated", None)) for code in shares}
    deciding = [rules[c][0] for c, s in shares.items() if s >= 0.05]
    flags = {}
    for _, _, geom, lp2b, krb in ZONES_M:
        for code, value in (("LP2B_2", lp2b), ("KRB_03", krb)):
            if value not in (None, "0", "tidak") and site.intersection(geom).area > 0:
                flags[code] = flags.get(code, 0.0) + site.intersection(geom).area / 1e4
    return {"verdict": max(deciding, key=ORDER.index), "site_ha": site_ha, "shares": shares, "rules": rules,
            "outside_ha": site.difference(CITY_M).area / 1e4,
            "unzoned_ha": site_ha - sum(areas.values()), "flags": flags}


@pytest.mark.parametrize(("name", "site", "query", "by_eye"), CASES, ids=[c[0] for c in CASES])
def test_conformity_verdicts_equal_an_independent_overlay(name, site, query, by_eye):
    result = run(site, query)
    want = expected(site, query)
    assert result["verdict"] == want["verdict"] == by_eye
    assert result["site_ha"] == pytest.approx(want["site_ha"], rel=1e-3)
    assert {z["kodszn"]: z["share"] for z in result["zones"]} == pytest.approx(want["shares"], abs=2e-3)
    for z in result["zones"]:
        assert (z["ketentuan"], z["kbli"] if z["matched"] != "activity" else None) == want["rules"][z["kodszn"]]
        assert z["area_ha"] == pytest.approx(want["shares"][z["kodszn"]] * want["site_ha"], rel=2e-3)
        assert z["namszn"] == dict((c, n) for c, n, *_ in ZONES_M)[z["kodszn"]]
    assert result["unzoned_ha"] == pytest.approx(want["unzoned_ha"], abs=1e-3)
    flags = {p["code"]: p["area_ha"] for p in result["special_provisions"] if p["source"] == "zoning"}
    assert flags == pytest.approx(want["flags"], rel=2e-3)
    codes = {w["code"] for w in result["warnings"]}
    assert ("outside_city" in codes) == (want["outside_ha"] > 0)
    assert ("unzoned" in codes) == (want["unzoned_ha"] > 1e-4)
    deciding_unregulated = any(want["rules"][c][0] == "unregulated" for c, s in want["shares"].items() if s >= 0.05)
    assert ("itbx_missing" in codes) == deciding_unregulated


def test_the_answer_names_zones_rules_and_provisions_in_both_languages():
    result = run(box(X0 + 900, Y0 + 900, X0 + 1100, Y0 + 1100), "10750", kbli_title="Industri makanan lainnya")
    text = result["explanation"]
    assert "Perumahan kepadatan sedang (R-3, 25 %: X, KBLI 10750 melalui kelompok 1075)" in text["id"], text["id"]
    assert "Perumahan kepadatan sedang (R-3, 25 %: X, KBLI 10750 via group 1075)" in text["en"], text["en"]
    assert "KBLI 10750 (Industri makanan lainnya) pada lokasi 4,00 ha: tidak diizinkan (X)" in text["id"]
    assert "4.00 ha site: not permitted (X)" in text["en"]
    assert "Lahan pertanian pangan berkelanjutan" in text["id"] and "Disaster-prone area" in text["en"]
    krb = next(p for p in result["special_provisions"] if p["code"] == "KRB_03")
    assert (krb["value"], krb["name"]["en"], krb["share"]) == ("Rawan banjir", "Disaster-prone area", 0.25)
    by_code = {z["kodszn"]: z for z in result["zones"]}
    assert by_code["P-1"]["syarat"] == "B: kajian dampak" and by_code["R-3"]["matched"] == "kbli_group"
    missing = run(box(X0 + 100, Y0 + 100, X0 + 400, Y0 + 400), "62010")
    assert "tidak diatur: perlu kajian" in missing["explanation"]["id"]
    assert "not regulated: needs assessment" in missing["explanation"]["en"]


def test_warnings_say_how_much_and_why():
    site_m = box(X0 - 200, Y0 + 100, X0 + 300, Y0 + 300)  # 10 ha, 4 of them west of the city
    result = run(site_m, "10750", min_area_ha=50)
    warnings = {w["code"]: w for w in result["warnings"]}
    assert warnings["outside_city"]["share"] == pytest.approx(site_m.difference(CITY_M).area / site_m.area, abs=1e-4)
    assert "40,0 %" in warnings["outside_city"]["message"]["id"]
    assert warnings["below_min_area"]["min_area_ha"] == 50 and "50 ha" in warnings["below_min_area"]["message"]["en"]
    assert "below_min_area" not in {w["code"] for w in run(site_m, "10750", min_area_ha=5)["warnings"]}
    assert run(box(X0 + 100, Y0 + 100, X0 + 400, Y0 + 400), "62010")["warnings"][0]["kodszn"] == ["KPI"]


def test_the_callers_overlays_are_reported_as_provisions():
    river_m = LineString([(X0 + 200, Y0), (X0 + 200, Y0 + 1000)]).buffer(10)
    lp2b_layer = gpd.GeoDataFrame({"kode": ["LP2B_2"], "namobj": [None]},
                                  geometry=[box(X0 + 350, Y0, X0 + 450, Y0 + 1000)], crs=32647).to_crs(4326)
    overlays = {"sempadan sungai / river setback": gpd.GeoDataFrame(geometry=[river_m], crs=32647).to_crs(4326),
                "plan": lp2b_layer}
    site_m = box(X0 + 100, Y0 + 100, X0 + 400, Y0 + 400)
    result = run(site_m, "10750", overlays=overlays)
    got = {p["code"]: p for p in result["special_provisions"]}
    assert got["sempadan sungai / river setback"]["area_ha"] == pytest.approx(
        site_m.intersection(river_m).area / 1e4, rel=1e-3)
    assert got["sempadan sungai / river setback"]["name"] == {"id": "sempadan sungai", "en": "river setback"}
    assert got["LP2B_2"]["area_ha"] == pytest.approx(50 * 300 / 1e4, rel=1e-3)
    assert got["LP2B_2"]["name"]["en"] == "Protected food-crop farmland"


def test_bad_inputs_say_what_is_wrong():
    site = box(X0 + 100, Y0 + 100, X0 + 400, Y0 + 400)
    for query, message in ((("kbli", "1075A"), "2 to 5 digits"), (("kbli", "1"), "2 to 5 digits"),
                           (("kbli", 10750), "as text"), (("activity", "pabrik nuklir"), "'industri besar'")):
        with pytest.raises(InvalidInput, match=message):
            zoning_conformity(to4326(site), zoning=ZONING, itbx=ITBX, **dict([query]))
    with pytest.raises(InvalidInput, match="exactly one"):
        zoning_conformity(to4326(site), zoning=ZONING, itbx=ITBX, kbli="10750", activity="industri besar")
    with pytest.raises(InvalidInput, match="site_area_ha"):
        zoning_conformity(to4326(Point(X0 + 100, Y0 + 100)), zoning=ZONING, itbx=ITBX, kbli="10750")
    bowtie = Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    with pytest.raises(InvalidInput, match="invalid.*Self-intersection"):
        zoning_conformity(to4326(bowtie), zoning=ZONING, itbx=ITBX, kbli="10750")
    with pytest.raises(InvalidInput, match="does not overlap any zone"):
        zoning_conformity(to4326(box(X0 + 2100, Y0, X0 + 2400, Y0 + 300)), zoning=ZONING, itbx=ITBX, kbli="10750")
    with pytest.raises(InvalidInput, match="outside the city"):
        zoning_conformity(to4326(site), zoning=ZONING, itbx=ITBX, kbli="10750",
                          city=to4326(box(X0 + 5000, Y0, X0 + 6000, Y0 + 1000)))


def test_the_lookup_falls_back_through_the_kbli_groups_only():
    assert itbx.rule_for(ITBX, "R-3", kbli="10750") == {"ketentuan": "X", "syarat": None, "kbli": "1075",
                                                         "kegiatan": None, "matched": "kbli_group"}
    assert itbx.rule_for(ITBX, "KPI", kbli="10750")["matched"] == "kbli"
    assert itbx.rule_for(ITBX, "KPI", kbli="107") is None  # a group is not answered by a finer row
    assert itbx.rule_for(ITBX, "K-2", activity="INDUSTRI BESAR")["syarat"] == "B1"
    assert itbx.zone_verdicts(ITBX, ["KPI", "R-3", "P-1", "RTH-2"], kbli="10750") == {
        "KPI": "I", "R-3": "X", "P-1": "B", "RTH-2": "unregulated"}
    assert itbx.most_restrictive(["I", "B", "unregulated", "T"]) == "unregulated"
    assert itbx.most_restrictive(["unregulated", "X"]) == "X"
    with pytest.raises(InvalidInput, match="ketentuan 'Z'"):
        itbx.rule_for(pd.DataFrame([("KPI", "10", None, "Z", None)], columns=ITBX.columns), "KPI", kbli="10750")


# Siting: a 2 km square, the toll gate in its south-west corner; the best land (near the gate) is farmland P-1
# where KBLI 10750 is X, and beside it farmland P-2 flagged LP2B (there the table says B); housing in the far corner.
RES, SIZE = 10.0, 200
SITING_ZONES_M = [("P-1", "Tanaman pangan", box(X0, Y0, X0 + 600, Y0 + 600), None),
                  ("P-2", "Hortikultura", box(X0 + 600, Y0, X0 + 1200, Y0 + 600), "LP2B"),
                  ("K-3", "Perdagangan dan jasa skala SWP", box(X0, Y0 + 600, X0 + 600, Y0 + 1200), None),
                  ("KPI", "Kawasan peruntukan industri", box(X0 + 600, Y0 + 600, X0 + 1800, Y0 + 2000), None),
                  ("KPI", "Kawasan peruntukan industri", box(X0, Y0 + 1200, X0 + 600, Y0 + 2000), None),
                  ("KPI", "Kawasan peruntukan industri", box(X0 + 1200, Y0, X0 + 2000, Y0 + 600), None),
                  ("KPI", "Kawasan peruntukan industri", box(X0 + 1800, Y0 + 600, X0 + 2000, Y0 + 1800), None),
                  ("R-2", "Perumahan kepadatan tinggi", box(X0 + 1800, Y0 + 1800, X0 + 2000, Y0 + 2000), None)]
SITING_ITBX = pd.DataFrame([("P-1", "10750", None, "X", None), ("P-2", "10750", None, "B", "B2"),
                            ("KPI", "1075", None, "I", None), ("K-3", "107", None, "T", "T3")], columns=ITBX.columns)


def siting_data(**kw) -> SitingData:
    grid = Raster(np.full((SIZE, SIZE), 2.0, dtype="float32"), Affine(RES, 0, X0, 0, -RES, Y0 + SIZE * RES), 32647)

    def g(geoms, **cols):
        return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=32647).to_crs(4326)
    zoning = g([z[2] for z in SITING_ZONES_M], kodszn=[z[0] for z in SITING_ZONES_M],
               namszn=[z[1] for z in SITING_ZONES_M], lp2b_2=[z[3] for z in SITING_ZONES_M])
    return SitingData(slope=grid, flood=grid.like(np.ones((SIZE, SIZE), dtype="uint8")),
                      land_cover=grid.like(np.full((SIZE, SIZE), 2, dtype="uint8")),
                      roads=g([LineString([(X0, Y0 + 100), (X0 + 2000, Y0 + 100)])], road_class=["arterial"]),
                      toll_gates=g([Point(X0, Y0)]), zoning=kw.pop("zoning", zoning),
                      parks=g([box(X0 + 1900, Y0 + 1900, X0 + 1950, Y0 + 1950)]),
                      rivers=g([LineString([(X0 + 1990, Y0 + 1000), (X0 + 1990, Y0 + 2000)])], depth_class=["<=3m"]),
                      city=g([box(X0, Y0, X0 + 2000, Y0 + 2000)]), itbx=kw.pop("itbx", SITING_ITBX), **kw)


def test_siting_for_a_kbli_keeps_out_of_x_zones_and_lp2b_and_says_where_it_lies():
    data = siting_data()
    forbidden = {"P-1": SITING_ZONES_M[0][2], "P-2": SITING_ZONES_M[1][2]}
    _, before = site_suitability(data, Criteria(target_ha=10, n_candidates=3))
    assert any(g.intersection(forbidden["P-1"]).area > 1e4 for g in before.to_crs(32647).geometry)  # the best land
    _, sites = site_suitability(data, Criteria(target_ha=10, n_candidates=4, kbli="10750"))
    assert len(sites) == 4
    verdicts = set()
    for geom, zones, verdict, text_id, text_en in zip(sites.to_crs(32647).geometry, sites.zones, sites.verdict,
                                                      sites.explanation_id, sites.explanation_en, strict=True):
        assert all(geom.intersection(z).area < 1.0 for z in forbidden.values())
        shares = {}
        for code, _, zone, _ in SITING_ZONES_M:
            shares[code] = shares.get(code, 0.0) + geom.intersection(zone).area / geom.area
        shares = {c: s for c, s in shares.items() if s > 1e-4}
        assert {z["kodszn"]: z["share"] for z in zones} == pytest.approx(shares, abs=1e-3)
        assert verdict == max((BY_SITING[c] for c, s in shares.items() if s >= 0.05), key=ORDER.index)
        names = {c: n for c, n, *_ in SITING_ZONES_M}
        for code, share in shares.items():
            assert f"{names[code]} ({code}, {round(100 * share)} %)" in text_en
        assert f"ITBX untuk KBLI 10750: {WORDS[verdict][0]} ({verdict})" in text_id
        assert f"ITBX verdict for KBLI 10750: {WORDS[verdict][1]} ({verdict})" in text_en
        verdicts.add(verdict)
    assert verdicts == {"I", "T"}  # the case reaches zones with different verdicts


# SITING_ITBX read by hand for KBLI 10750 (KPI via group 1075, K-3 via 107; no row for housing)
BY_SITING = {"P-1": "X", "P-2": "B", "KPI": "I", "K-3": "T", "R-2": "unregulated"}
WORDS = {"I": ("diizinkan", "permitted"), "T": ("diizinkan terbatas", "permitted with limits")}


def test_lp2b_from_a_separate_overlay_layer_is_excluded_like_the_flag():
    data = siting_data()
    flagged = build_surface(data, Criteria(target_ha=10, kbli="10750")).excluded
    layer = gpd.GeoDataFrame({"kode": ["LP2B_2"]}, geometry=[SITING_ZONES_M[1][2]], crs=32647).to_crs(4326)
    unflagged = siting_data(zoning=data.zoning.drop(columns="lp2b_2"), zoning_overlays=layer)
    from_layer = build_surface(unflagged, Criteria(target_ha=10, kbli="10750")).excluded
    assert flagged["lp2b"].sum() >= 60 * 60 and (flagged["lp2b"] == from_layer["lp2b"]).all()
    assert flagged["zone_x"][SIZE - 30, 30] and not flagged["zone_x"][SIZE - 30, 90]  # inside P-1, inside P-2
    drawn = box(X0 + 100, Y0 + 100, X0 + 500, Y0 + 500)  # wholly in P-1
    result = evaluate_site(data, to4326(drawn), Criteria(target_ha=10, kbli="10750"))
    assert result["verdict"] == "X" and result["excluded_share"]["zone_x"] == 1.0
    assert "not permitted (X)" in result["explanation"]["en"]
    with pytest.raises(InvalidInput, match="ITBX table"):
        build_surface(siting_data(itbx=None), Criteria(target_ha=10, activity="industri besar"))


def test_a_locally_numbered_housing_zone_counts_as_housing_by_its_kodzon():
    data = siting_data()
    local = data.zoning.assign(kodszn=data.zoning.kodszn.replace({"R-2": "R-2a"}),
                               kodzon=[z[0].split("-")[0] for z in SITING_ZONES_M])
    corner = (slice(0, 20), slice(180, 200))  # the housing corner's 20 x 20 cells
    by_kind = build_surface(siting_data(zoning=local), Criteria(target_ha=10)).excluded["housing_zone"]
    without = build_surface(siting_data(zoning=local.drop(columns="kodzon")), Criteria(target_ha=10))
    assert by_kind[corner].all() and by_kind.sum() == 20 * 20
    assert not without.excluded["housing_zone"].any()


def test_thresholds_out_of_range_are_refused():
    site = to4326(box(X0 + 100, Y0 + 100, X0 + 400, Y0 + 400))
    with pytest.raises(InvalidInput, match="significant_share must be between 0 and 1"):
        zoning_conformity(site, zoning=ZONING, itbx=ITBX, kbli="10750", significant_share=5)
    with pytest.raises(InvalidInput, match="min_area_ha"):
        zoning_conformity(site, zoning=ZONING, itbx=ITBX, kbli="10750", min_area_ha=-1)
    city = gpd.GeoDataFrame(geometry=[CITY_M], crs=32647)  # a city given as its layer, in any CRS
    assert run(box(X0 - 200, Y0 + 100, X0 + 300, Y0 + 300), "10750", city=city)["warnings"][0]["share"] == 0.4
