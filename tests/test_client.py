"""The Python client (gis/client.py) against a real server: reads with paging, bbox, filters and CRSs, writes
with ETags, errors as exceptions, processes with GeoDataFrames and rasters."""

from __future__ import annotations

import ast
import re
import socket
import sys
import tomllib

import geopandas as gpd
import httpx
import numpy as np
import pandas as pd
import pytest
import rasterio
from shapely.geometry import box

from gis.client import (
    BadRequest,
    Client,
    Conflict,
    NotFound,
    PetaKotaError,
    ProcessResult,
    RasterRef,
    Unauthorized,
)
from tests.conftest import ROOT

# A spot inside Binjai (zone K-1 in the sample plan) for a test park and a conformity check.
PARK = box(98.4800, 3.6000, 98.4805, 3.6005)


@pytest.fixture()
def anonymous(server):
    with Client(server) as client:
        yield client


@pytest.fixture()
def planner(server, keys):
    with Client(server, api_key=keys["planner"]) as client:
        yield client


def test_layers_catalog(anonymous):
    layers = anonymous.layers()
    assert {"id", "title", "geometry_type", "illustrative", "public", "feature_count"} <= set(layers.columns)
    row = layers.set_index("id").loc["kelurahan"]
    assert row.feature_count == 37 and not row.illustrative and row.public
    assert layers.set_index("id").loc["parks", "illustrative"]


def test_read_kelurahan_all_pages(anonymous):
    kel = anonymous.read("kelurahan")
    assert len(kel) == 37 and kel.index.is_unique and kel.index.name == "id"
    assert kel.crs.to_epsg() == 4326
    assert "area_ha" in kel.columns and (kel.area_ha > 0).all()
    assert kel.attrs["layer"] == "kelurahan"
    x0, y0, x1, y1 = kel.total_bounds  # lon/lat order: Binjai is at ~98.5 E, 3.6 N
    assert 98.3 < x0 < x1 < 98.7 and 3.4 < y0 < y1 < 3.8

    paged = anonymous.read("kelurahan", page_size=10)
    assert sorted(paged.index) == sorted(kel.index)
    assert paged.sort_index().kode.tolist() == kel.sort_index().kode.tolist()

    first = anonymous.read("kelurahan", limit=15, page_size=10)
    assert len(first) == 15 and first.index.tolist() == sorted(kel.index)[:15]


def test_read_bbox_and_filter(anonymous):
    kel = anonymous.read("kelurahan")
    area = (98.50, 3.57, 98.54, 3.61)  # around Tunggurono, Binjai Timur
    inside = anonymous.read("kelurahan", bbox=area)
    assert 0 < len(inside) < 37 and "Tunggurono" in set(inside.nama)
    assert set(inside.index) == set(kel[kel.intersects(box(*area))].index)
    assert set(anonymous.read("kelurahan", bbox=box(*area)).index) == set(inside.index)

    timur = anonymous.read("kelurahan", filter="kecamatan_kode = '12.75.04'")
    assert set(timur.index) == set(kel[kel.kecamatan_kode == "12.75.04"].index) and len(timur) > 0
    as_json = anonymous.read("kelurahan", filter={"op": "=", "args": [{"property": "kecamatan_kode"}, "12.75.04"]})
    assert set(as_json.index) == set(timur.index)

    some = anonymous.read("kelurahan", properties=["kode", "nama"], limit=3)
    assert list(some.columns) == ["kode", "nama", "geometry"]


def test_read_projected_and_lat_lon_crs(anonymous):
    utm = anonymous.read("kelurahan", crs="EPSG:32647")
    assert utm.crs.to_epsg() == 32647
    assert ((utm.area / 1e4 - utm.area_ha).abs() / utm.area_ha < 0.001).all()
    assert len(anonymous.read("kelurahan", crs=32647, limit=1)) == 1

    lonlat = anonymous.read("kelurahan")
    for wgs84 in ("EPSG:4326", 4326, "http://www.opengis.net/def/crs/OGC/1.3/CRS84"):
        again = anonymous.read("kelurahan", crs=wgs84)  # EPSG:4326 is lat/lon on the wire, lon/lat here
        assert again.crs.to_epsg() == 4326
        assert np.allclose(again.sort_index().total_bounds, lonlat.sort_index().total_bounds)


def test_read_dates_and_datetime(anonymous):
    milestones = anonymous.read("project_milestones")
    assert pd.api.types.is_datetime64_any_dtype(milestones.planned_date)
    parcels = anonymous.read("project_parcels")
    early = anonymous.read("project_parcels", datetime=(None, "2022-12-31"))
    assert 0 < len(early) < len(parcels)
    assert (early.status_date <= pd.Timestamp("2022-12-31")).all()


def test_write_cycle_with_etags(planner):
    park = gpd.GeoDataFrame({"nama": ["Taman Uji Klien"], "kelas": ["taman rt"], "publik": [True]},
                            geometry=[PARK], crs=4326)
    [fid] = planner.create("parks", park)
    try:
        row, etag = planner.get("parks", fid)
        assert len(row) == 1 and row.index[0] == fid and row.nama.iloc[0] == "Taman Uji Klien"
        small_ha = row.area_ha.iloc[0]
        assert small_ha > 0 and etag

        etag2 = planner.update("parks", fid, {"nama": "Taman Uji Klien 2"}, etag=etag)
        assert etag2 != etag
        with pytest.raises(Conflict) as stale:
            planner.update("parks", fid, {"nama": "Lost update"}, etag=etag)
        assert stale.value.status == 412 and "someone else changed it" in str(stale.value)

        etag3 = planner.update("parks", fid, geometry=box(98.4800, 3.6000, 98.4810, 3.6010))  # reads the ETag
        row, current = planner.get("parks", fid)
        assert current == etag3 and row.nama.iloc[0] == "Taman Uji Klien 2"
        assert row.area_ha.iloc[0] == pytest.approx(4 * small_ha, rel=0.01)  # sides doubled

        history = planner.history("parks", fid)
        assert history.action.tolist()[:3] == ["insert", "update", "update"]
        assert [h["nama"] for h in history.after[:3]] == ["Taman Uji Klien", "Taman Uji Klien 2", "Taman Uji Klien 2"]
        assert pd.api.types.is_datetime64_any_dtype(history["at"])

        with pytest.raises(Conflict):
            planner.delete("parks", fid, etag=etag2)
        planner.delete("parks", fid)
        with pytest.raises(NotFound):
            planner.get("parks", fid)
        restored = planner.restore("parks", fid, version=1)  # a deleted feature comes back
        assert planner.get("parks", fid)[0].nama.iloc[0] == "Taman Uji Klien" and restored
    finally:
        try:
            planner.delete("parks", fid)
        except NotFound:
            pass


def test_create_from_geojson_and_partial_failure(planner):
    feature = {"type": "Feature", "properties": {"nama": "Taman GeoJSON", "kelas": "taman rt", "publik": False},
               "geometry": PARK}
    bad = {"type": "Feature", "properties": {"nama": "Salah", "kelas": "kebun raya", "publik": True},
           "geometry": PARK}
    ids = planner.create("parks", {"type": "FeatureCollection", "features": [feature]})
    try:
        with pytest.raises(BadRequest) as refused:
            planner.create("parks", [feature, bad])
        assert "kelas" in refused.value.detail and len(refused.value.created) == 1
        ids += refused.value.created
    finally:
        for fid in ids:
            planner.delete("parks", fid)


def test_writes_need_a_planner_key(server, keys, anonymous):
    park = {"type": "Feature", "properties": {"nama": "x", "kelas": "taman rt", "publik": True}, "geometry": PARK}
    with pytest.raises(Unauthorized) as anon:
        anonymous.create("parks", park)
    assert anon.value.status == 401 and "planner" in anon.value.detail
    with Client(server, api_key=keys["analyst"]) as analyst, pytest.raises(Unauthorized) as weak:
        analyst.create("parks", park)
    assert weak.value.status in (401, 403)


def test_errors_carry_the_servers_detail(server, anonymous):
    url = f"{server}/collections/kelurahan/items"
    expected = httpx.get(url, params={"filter": "no_such_field = 1"}).json()["detail"]
    with pytest.raises(BadRequest) as bad:
        anonymous.read("kelurahan", filter="no_such_field = 1")
    assert str(bad.value) == bad.value.detail == expected and "no_such_field" in expected
    assert bad.value.status == 400 and bad.value.title
    with pytest.raises(NotFound):
        anonymous.read("no_such_layer")
    with pytest.raises(NotFound):
        anonymous.run("no-such-process")
    with pytest.raises(BadRequest, match="target_ha"):
        anonymous.run("site-suitability", target_ha=-1)


def test_unreachable_service():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Client(f"http://127.0.0.1:{port}", timeout=2) as client, pytest.raises(PetaKotaError) as down:
        client.layers()
    assert down.value.status is None and "cannot reach" in str(down.value)


def test_run_zoning_conformity_with_a_shapely_polygon(anonymous):
    res = anonymous.run("zoning-conformity", geometry=box(98.480, 3.600, 98.482, 3.602), activity="taman")
    assert isinstance(res, ProcessResult) and res["verdict"] in ("I", "T", "B", "X")
    assert res["zones"] and res["explanation"]["en"]


def test_run_site_suitability_frames_and_raster(anonymous, tmp_path):
    res = anonymous.run("site-suitability", target_ha=138)
    candidates = res["candidates"]
    assert isinstance(candidates, gpd.GeoDataFrame) and candidates.crs.to_epsg() == 4326
    assert len(candidates) >= 1 and (candidates.area_ha >= 138).all()
    assert (candidates.to_crs(32647).area / 1e4 >= 138 * 0.99).all()
    assert res.frames == ["candidates"] and res.rasters == ["suitability_raster"]

    path = res.raster_path("suitability_raster")
    assert res.raster_path("suitability_raster") == path  # downloaded once
    with rasterio.open(path) as src:
        score = src.read(1)  # NaN where excluded
        assert src.crs.to_epsg() == 32647 and 0 <= np.nanmin(score) <= np.nanmax(score) <= 1
    assert res.raster_path("suitability_raster", dest_dir=tmp_path).parent == tmp_path
    with pytest.raises(KeyError, match="suitability_raster"):
        res.raster_path("candidates")

    estate = anonymous.read("projects", filter="slug = 'kawasan-industri-binjai'")
    evaluated = anonymous.run("site-suitability", mode="evaluate", site=estate)  # a GeoDataFrame as input
    assert evaluated["area_ha"] == pytest.approx(138, abs=1) and 0 <= evaluated["score"] <= 1


def test_process_result_conversions():
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"a": 1}, "geometry": {"type": "Point", "coordinates": [98.5, 3.6]}}]}
    res = ProcessResult({"top": fc, "nested": {"inner": fc, "n": 1}, "raster": {"id": "r1", "tiles": "/t"},
                         "plain": [1, 2]})
    assert isinstance(res["top"], gpd.GeoDataFrame) and res["top"].crs.to_epsg() == 4326
    assert isinstance(res["nested"]["inner"], gpd.GeoDataFrame) and res["nested"]["n"] == 1
    assert isinstance(res["raster"], RasterRef) and res["raster"]["id"] == "r1" and res["plain"] == [1, 2]
    assert res.rasters == ["raster"] and res.frames == ["top"]


def test_raster_stats_and_download(anonymous, tmp_path):
    city = anonymous.read("kota")
    stats = anonymous.raster_stats("population", city)
    path = anonymous.download_raster("population", tmp_path)
    assert path == tmp_path / "population.tif"
    with rasterio.open(path) as src:
        total = float(src.read(1, masked=True).sum())
    assert stats["sum"] == pytest.approx(total, rel=1e-6)
    assert stats["sum"] == pytest.approx(315_609, rel=1e-6)
    assert anonymous.raster_stats("population", city.geometry.iloc[0])["count"] == stats["count"]
    with pytest.raises(NotFound):
        anonymous.download_raster("no_such_raster", tmp_path)
    assert not list(tmp_path.glob("*.part"))


def _imports(path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0}
    return names - set(sys.stdlib_module_names) - {"__future__"}


def test_client_needs_only_runtime_dependencies():
    """`pip install .` (and the conda environment, which installs the project with pip) must bring what the
    client imports; and the client stays free of the web framework and the database."""
    imported = set().union(*(_imports(f) for f in (ROOT / "gis" / "client").glob("*.py")))
    assert not imported & {"fastapi", "starlette", "sqlalchemy", "psycopg", "api"}
    deps = {re.match(r"[A-Za-z0-9_.\-]+", d).group(0).lower()
            for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    missing = sorted(imported - {"gis"} - deps)
    assert not missing, f"gis/client imports {missing}, not in pyproject.toml [project] dependencies"
