"""KKPR as OSS checks it, over the city's imported RDTR: verdicts by KBLI 2020 (with the group fallback) equal an
overlay and a rule lookup done here with shapely; siting for a KBLI never lands in an X zone or on LP2B; the KBLI
list, the city's ITBX and its plan versions are served."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import mapping, shape
from sqlalchemy import text

from tests.test_processes import run

CITY = "12.75"
METRIC = 32647
ORDER = {"X": 4, "unregulated": 3, "B": 2, "T": 1, "I": 0}


@pytest.fixture(scope="module")
def plan(engine):
    with engine.connect() as conn:
        zones = gpd.read_postgis(text("SELECT id, kodszn, namszn, lp2b_2, geom FROM zoning WHERE kabkota = :c"),
                                 conn, params={"c": CITY}, geom_col="geom")
        rules = pd.read_sql(text("SELECT kodszn, kbli, ketentuan FROM itbx WHERE kabkota = :c AND kbli IS NOT NULL"),
                            conn, params={"c": CITY})
    return zones.to_crs(METRIC), rules


def rule(rules: pd.DataFrame, kodszn: str, kbli: str) -> str:
    """The regulation's lookup, written out: the code's own row, else its 4-, 3-, 2-digit group's."""
    for n in (5, 4, 3, 2):
        found = rules[(rules.kodszn == kodszn) & (rules.kbli == kbli[:n])]
        if len(found):
            return max(found.ketentuan, key=ORDER.get)
    return "unregulated"


def expected(zones: gpd.GeoDataFrame, rules: pd.DataFrame, site_m, kbli: str) -> tuple[str, dict]:
    shares = {}
    for z in zones[zones.intersects(site_m)].itertuples():
        shares[z.kodszn] = shares.get(z.kodszn, 0) + z.geom.intersection(site_m).area / site_m.area
    deciding = [code for code, share in shares.items() if share >= 0.05]
    return max((rule(rules, code, kbli) for code in deciding), key=ORDER.get), shares


def sites(zones: gpd.GeoDataFrame) -> list:
    """Sites inside one zone, and sites straddling two zones of different sub-zones (a box on their border)."""
    out = []
    for code in ("KPI", "I", "P-1", "R-2", "K-1", "RTH-2"):
        zone = zones[zones.kodszn == code].sort_values("id").geom.iloc[0]
        out.append(zone.representative_point().buffer(40).intersection(zone))
    pairs = gpd.sjoin(zones, zones, predicate="touches")
    pairs = pairs[pairs.kodszn_left != pairs.kodszn_right].sort_values(["id_left", "id_right"])
    for row in pairs.head(4).itertuples():
        border = row.geom.intersection(zones.loc[row.index_right, "geom"])
        out.append(border.representative_point().buffer(120, cap_style="square"))
    return out


@pytest.mark.parametrize("kbli", ["68130", "10750", "47111", "35111"])
def test_verdicts_by_kbli_equal_an_overlay_and_the_rules_applied_here(http, plan, kbli):
    zones, rules = plan
    for site_m in sites(zones):
        site = gpd.GeoSeries([site_m], crs=METRIC).to_crs(4326).iloc[0]
        verdict, shares = expected(zones, rules, site_m, kbli)
        result = run(http, "zoning-conformity", {"geometry": mapping(site), "kbli": kbli, "city": CITY})
        assert result["verdict"] == verdict, (kbli, shares, result["zones"])
        got = {z["kodszn"]: z["share"] for z in result["zones"]}
        assert got.keys() == {code for code, share in shares.items() if share > 1e-6}
        assert all(got[code] == pytest.approx(shares[code], abs=2e-3) for code in got)
        assert all(z["namszn"] for z in result["zones"])  # zones by name, not only codes
    assert result["kbli_title"] or kbli == "35111"


def test_a_point_with_an_area_is_judged_as_the_zone_it_lies_in(http, plan):
    zones, rules = plan
    zone = zones[zones.kodszn == "KPI"].geom.iloc[0]
    centre = zone.representative_point()
    assert centre.buffer(200).within(zone)  # 2 ha around it: all in the estate zone
    point = gpd.GeoSeries([centre], crs=METRIC).to_crs(4326).iloc[0]
    result = run(http, "zoning-conformity", {"geometry": mapping(point), "site_area_ha": 2.0, "kbli": "10750"})
    assert result["verdict"] == rule(rules, "KPI", "10750") and result["site_ha"] == pytest.approx(2.0, rel=1e-3)
    small = run(http, "zoning-conformity", {"geometry": mapping(point), "site_area_ha": 2.0, "kbli": "68130"})
    assert "below_min_area" in {w["code"] for w in small["warnings"]}  # an industrial estate needs 50 ha


def test_siting_for_a_kbli_keeps_out_of_its_x_zones_and_protected_farmland(http, plan):
    zones, rules = plan
    result = run(http, "site-suitability", {"target_ha": 100, "n_candidates": 3, "kbli": "68130"})
    x_zone = pd.Series([rule(rules, code, "68130") == "X" for code in zones.kodszn], index=zones.index)
    forbidden = zones[x_zone | zones.lp2b_2.notna()]
    assert len(forbidden) and len(result["candidates"]["features"]) >= 1
    for f in result["candidates"]["features"]:
        site_m = gpd.GeoSeries([shape(f["geometry"])], crs=4326).to_crs(METRIC).iloc[0]
        assert forbidden.intersection(site_m).area.sum() < 1.0  # touching at most
        verdict, _ = expected(zones, rules, site_m, "68130")
        assert f["properties"]["verdict"] == verdict != "X"


def test_the_kbli_list_the_city_itbx_and_its_plan_versions_are_served(http, engine):
    found = http.get("/kbli", params={"q": "68130"}).json()["kbli"]
    assert found[0]["kode"] == "68130" and "industri" in found[0]["judul"].lower()
    rules = http.get(f"/cities/{CITY}/itbx", params={"kbli": "10750"}).json()["rules"]
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM itbx WHERE kabkota = :c AND kbli IN ('10750', '1075', "
                                   "'107', '10')"), {"c": CITY}).scalar()
    assert len(rules) == stored > 0 and {r["kbli"] for r in rules} <= {"10750", "1075", "107", "10"}
    versions = http.get(f"/cities/{CITY}/rdtr").json()
    assert versions["active"] in [v["version"] for v in versions["versions"]]
    assert http.get("/cities/99.99/rdtr").status_code == 404
