"""The synthetic RDTR plan: a clean partition of the city with the standard's attributes, its ITBX table, and
the GeoPackage it is published as."""

import re

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from shapely.geometry import box

from gis.analyses.rdtr_checks import check_plan
from layers.rdtr import NATIONAL_ZONES, STANDARD_FIELDS, ZONE_NAMES, column
from layers.sample.rdtr_synthetic import city_boundary, synthetic_itbx, synthetic_plan, write_package

METRIC = 32647


@pytest.fixture(scope="module")
def plan():
    return synthetic_plan(200, seed=21)


def test_the_plan_partitions_the_city_with_consistent_attributes(plan):
    assert len(plan) == 200 and plan.crs.to_epsg() == 4326
    assert plan["fid"].tolist() == list(range(1, 201))
    assert [c for c in plan.columns if c not in ("fid", "geometry", "lp2b_2", "krb_03")] == \
        [column(f) for f in STANDARD_FIELDS]
    standard = plan[[column(f) for f in STANDARD_FIELDS]]
    assert not standard.isna().any().any()
    assert (plan["kodzon"] == [NATIONAL_ZONES[c][0] for c in plan["kodszn"]]).all()
    assert (plan["namszn"] == [NATIONAL_ZONES[c][1] for c in plan["kodszn"]]).all()
    assert (plan["namzon"] == [ZONE_NAMES[z][0] for z in plan["kodzon"]]).all()
    metric = plan.geometry.to_crs(METRIC)
    assert np.allclose(plan["luasha"], (metric.area / 1e4).round(4), atol=1e-9)
    assert not plan.duplicated(["kodblk", "kodsbl"]).any()
    assert all(re.fullmatch(r"[IVX]+\.[A-Z]+\.\d+", b) for b in plan["kodblk"])
    city_m = gpd.GeoSeries([city_boundary()], crs=4326).to_crs(METRIC).iloc[0]
    assert metric.union_all().symmetric_difference(city_m).area < city_m.area * 1e-6
    assert metric.area.sum() == pytest.approx(city_m.area, rel=1e-6)  # no overlaps either


def test_overlay_flags_sit_where_they_belong(plan):
    lp2b = plan["lp2b_2"].notna()
    assert lp2b.any() and (plan.loc[lp2b, "kodszn"] == "P-1").all()
    assert plan["krb_03"].notna().any()
    assert set(plan["krb_03"].dropna()) <= {"Rawan banjir", "Rawan longsor"}
    assert plan["lp2b_2"].map(lambda v: v is None or v == "LP2B").all()


def test_the_plan_is_clean_for_the_checks_and_the_same_for_the_same_seed(plan):
    itbx = synthetic_itbx(plan["kodszn"])
    assert check_plan(plan, metric_crs=METRIC, city=city_boundary(), itbx_codes=set(itbx["kodszn"])) == []
    again = synthetic_plan(200, seed=21)
    assert again.drop(columns="geometry").equals(plan.drop(columns="geometry"))
    assert again.geometry.geom_equals_exact(plan.geometry, tolerance=0).all()
    assert not synthetic_plan(200, seed=22).geometry.geom_equals_exact(plan.geometry, tolerance=0).all()


def test_a_given_boundary_is_partitioned():
    square = gpd.GeoSeries([box(0, 0, 2000, 1500)], crs=METRIC).to_crs(4326).iloc[0]
    zones = synthetic_plan(30, seed=1, boundary=square)
    assert len(zones) == 30
    covered = zones.geometry.to_crs(METRIC).union_all()
    assert covered.symmetric_difference(box(0, 0, 2000, 1500)).area < 1.0
    assert check_plan(zones, metric_crs=METRIC, city=square, itbx_codes=set(NATIONAL_ZONES)) == []
    with pytest.raises(ValueError, match="at least 1"):
        synthetic_plan(0)


def test_the_package_carries_the_standard_names_and_the_zone_ids(plan, tmp_path):
    zones = plan.drop(index=[0, 5, 17])  # ids 1, 6, 18 gone: the file keeps the others' ids
    lp2b = zones[zones["lp2b_2"].notna()].dissolve()[["geometry"]].assign(kode="LP2B_2", namobj="LP2B")
    path = write_package(zones, tmp_path / "rdtr.gpkg", overlays={"LP2B_2": lp2b})
    assert {name for name, _ in pyogrio.list_layers(path)} == {"zonasi", "LP2B_2"}
    fields = list(pyogrio.read_info(path, layer="zonasi")["fields"])
    assert fields == [*STANDARD_FIELDS, "LP2B_2", "KRB_03"]
    back = gpd.read_file(path, layer="zonasi", engine="pyogrio", fid_as_index=True)
    assert back.index.tolist() == zones["fid"].tolist()
    assert back["KODSZN"].tolist() == zones["kodszn"].tolist()
    assert np.allclose(back.to_crs(METRIC).area, zones.to_crs(METRIC).area.to_numpy())
    overlay = gpd.read_file(path, layer="LP2B_2", engine="pyogrio")
    assert list(overlay.columns) == ["KODE", "NAMOBJ", "geometry"] and overlay["KODE"].tolist() == ["LP2B_2"]


def test_the_itbx_table_keeps_industry_in_industrial_zones():
    codes = ["R-3", "RTH-2", "KPI", "I-3", "K-1", "P-1", "LOKAL-1"]
    itbx = synthetic_itbx(codes)
    assert list(itbx.columns) == ["kodszn", "kbli", "kegiatan", "ketentuan", "syarat"]
    assert set(itbx["kodszn"]) == set(codes) and set(itbx["ketentuan"]) <= set("ITBX")
    verdict = {(r.kodszn, r.kbli): r.ketentuan for r in itbx.itertuples()}
    for kbli in ("68130", "24101", "10710"):
        assert verdict[("KPI", kbli)] == "I" and verdict[("I-3", kbli)] == "I"
        assert verdict[("R-3", kbli)] in ("X", "B") and verdict[("RTH-2", kbli)] == "X"
    assert verdict[("R-3", "68130")] == "X" and verdict[("R-3", "68111")] == "I"
    industry = itbx[itbx["kbli"].map(lambda k: k is not None and 10 <= int(k[:2]) <= 33)]
    assert (industry.loc[industry["kodszn"] == "RTH-2", "ketentuan"] == "X").all()
    activity_only = itbx[itbx["kegiatan"] == "Taman bermain"]
    assert activity_only["kbli"].map(lambda k: k is None).all()
    assert all(re.fullmatch(r"\d{5}", k) for k in itbx["kbli"] if k is not None)
    assert itbx.apply(lambda r: (r.syarat is not None) == (r.ketentuan in "TB"), axis=1).all()
