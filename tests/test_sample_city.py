"""The Binjai sample city in PostGIS: real boundaries with the right hectares, the 138 ha estate, rasters."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Transformer
from shapely.geometry import shape
from sqlalchemy import text

from gis.data.sample import load_sample
from layers import CATALOG
from layers.sample.generate import NATURAL_KEYS, build
from tests.cli_inprocess import run_cli
from tests.conftest import SOURCE_DATA

TO_UTM = Transformer.from_crs(4326, 32647, always_xy=True)


def utm_area_ha(geom) -> float:
    return shapely.transform(geom, lambda xy: np.column_stack(TO_UTM.transform(xy[:, 0], xy[:, 1]))).area / 1e4


def test_binjai_has_37_kelurahan_in_5_kecamatan(engine):
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT k.kode, count(l.id) FROM kecamatan k JOIN kelurahan l ON l.kecamatan_kode = k.kode "
            "GROUP BY k.kode ORDER BY k.kode")).all()
        kota = conn.execute(text("SELECT kode, nama FROM kota")).one()
    assert kota == ("12.75", "Kota Binjai")
    assert dict(rows) == {"12.75.01": 9, "12.75.02": 7, "12.75.03": 6, "12.75.04": 7, "12.75.05": 8}


def test_kelurahan_hectares_match_an_independent_computation(engine):
    source = json.loads((SOURCE_DATA / "kelurahan_binjai.geojson").read_text())
    expected = {f["properties"]["kode"]: utm_area_ha(shape(f["geometry"])) for f in source["features"]}
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT kode, area_ha FROM kelurahan")).all())
    assert set(stored) == set(expected)
    for kode, ha in expected.items():
        assert stored[kode] == pytest.approx(ha, rel=1e-3), kode
    # and the source's own published area (km2) agrees too
    published = {f["properties"]["kode"]: f["properties"]["luas_km2"] * 100 for f in source["features"]}
    assert stored["12.75.04.1005"] == pytest.approx(published["12.75.04.1005"], rel=1e-3)


def test_estate_is_138_ha_in_tunggurono_and_its_parcels_sum_to_it(engine):
    with engine.connect() as conn:
        estate = conn.execute(text(
            "SELECT area_ha, target_ha, ST_AsBinary(geom) FROM projects WHERE slug = 'kawasan-industri-binjai'")).one()
        parcels = conn.execute(text(
            "SELECT area_ha, status, ST_AsBinary(geom) FROM project_parcels "
            "WHERE project_slug = 'kawasan-industri-binjai'")).all()
        tunggurono = shapely.from_wkb(conn.execute(text(
            "SELECT ST_AsBinary(geom) FROM kelurahan WHERE kode = '12.75.04.1005'")).scalar())
    geom = shapely.from_wkb(estate[2])
    assert estate.target_ha == 138
    assert utm_area_ha(geom) == pytest.approx(138, abs=0.5)
    assert estate.area_ha == pytest.approx(138, abs=0.5)
    assert sum(p.area_ha for p in parcels) == pytest.approx(estate.area_ha, abs=0.01)
    assert sum(utm_area_ha(shapely.from_wkb(p[2])) for p in parcels) == pytest.approx(138, abs=0.5)
    assert len({p.status for p in parcels}) >= 4  # acquisition statuses are mixed
    assert tunggurono.buffer(1e-6).contains(geom)


def test_population_raster_sums_to_the_city_population(engine, settings):
    with engine.connect() as conn:
        path = conn.execute(text("SELECT path FROM rasters WHERE id = 'population'")).scalar()
    with rasterio.open(settings.data_dir / path) as ds:
        assert ds.crs.to_epsg() == 32647 and ds.res == (10.0, 10.0)
        assert ds.overviews(1), "a COG has overviews"
        total = ds.read(1).astype("float64").sum()
    assert total == pytest.approx(315_609, rel=0.01)


def test_rasters_are_registered_and_plausible(engine, settings):
    with engine.connect() as conn:
        reg = {r.id: r for r in conn.execute(text("SELECT * FROM rasters"))}
    assert {"elevation", "slope", "flood_hazard", "landcover_2019", "landcover_2024", "population"} <= set(reg)
    assert all(r.illustrative for r in reg.values())
    with rasterio.open(settings.data_dir / reg["elevation"].path) as ds:
        elev = ds.read(1)
    assert 10 < np.percentile(elev, 1) and np.percentile(elev, 99) < 65  # lowland, ~20-60 m
    with rasterio.open(settings.data_dir / reg["slope"].path) as ds:
        slope = ds.read(1)
    # slope is the gradient of the elevation, in percent
    gy, gx = np.gradient(elev.astype("float64"), 10.0)
    assert np.allclose(slope, np.hypot(gx, gy) * 100, atol=1e-3)


def test_every_kecamatan_has_parks_including_playgrounds_and_elderly_parks(engine):
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT l.kecamatan_kode, array_agg(DISTINCT p.kelas) FROM parks p "
            "JOIN kelurahan l ON l.kode = p.kelurahan_kode GROUP BY 1")).all()
    assert len(rows) == 5
    all_classes = set().union(*(set(r[1]) for r in rows))
    assert {"taman bermain anak", "taman lansia", "taman kota"} <= all_classes
    for _, classes in rows:
        assert "taman kecamatan" in classes


def test_business_centres_cover_some_kelurahan_but_not_all(engine):
    with engine.connect() as conn:
        covered = conn.execute(text("SELECT count(DISTINCT kelurahan_kode) FROM business_centers")).scalar()
        inside = conn.execute(text(
            "SELECT bool_and(ST_Intersects(b.geom, l.geom)) FROM business_centers b "
            "JOIN kelurahan l ON l.kode = b.kelurahan_kode")).scalar()
    assert 5 < covered < 37
    assert inside


def test_zoning_covers_the_city_and_itbx_is_complete(engine):
    with engine.connect() as conn:
        zoned = conn.execute(text("SELECT sum(area_ha) FROM zoning")).scalar()
        city = conn.execute(text("SELECT area_ha FROM kota")).scalar()
        ki = conn.execute(text("SELECT sum(area_ha) FROM zoning WHERE kodszn = 'KPI'")).scalar()
        codes = {r[0] for r in conn.execute(text("SELECT DISTINCT kodszn FROM zoning"))}
        itbx_codes = {r[0] for r in conn.execute(text("SELECT DISTINCT kodszn FROM itbx"))}
        verdict = conn.execute(text(
            "SELECT ketentuan FROM itbx WHERE kodszn = 'KPI' AND kbli = '68130'")).scalar()
    assert zoned == pytest.approx(city, rel=0.01)  # the kelurahan overlap/slivers allow ~0.03 %
    assert ki == pytest.approx(138, abs=0.5)
    assert codes <= itbx_codes
    assert verdict == "I"


def test_toll_gate_lies_east_of_the_city_and_estate_near_it(engine):
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT ST_X(g.geom), ST_Y(g.geom), ST_Distance(ST_Transform(g.geom, 32647), ST_Transform(p.geom, 32647)),"
            " ST_Intersects(g.geom, k.geom) FROM toll_gates g, projects p, kota k")).one()
    lon, lat, distance_m, inside_city = row
    assert lon == pytest.approx(98.542, abs=0.01) and lat == pytest.approx(3.646, abs=0.01)
    assert not inside_city
    assert distance_m < 6000


COUNTED = ("kelurahan", "parks", "project_parcels", "itbx", "rasters")


def _counts(engine) -> dict:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in COUNTED}


def _history(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM feature_history")).scalar()


@pytest.fixture(scope="module")
def reload(engine, settings) -> dict:
    """The sample as loaded (forced: without what other tests added), then loaded again: its row counts, feature
    ids and history size before and after the second load (one reload, checked by the two tests below)."""
    load_sample(engine, settings, force=True)
    before = {"counts": _counts(engine), "ids": _ids_by_key(engine), "history": _history(engine)}
    load_sample(engine, settings)
    return {"before": before, "after": {"counts": _counts(engine), "ids": _ids_by_key(engine),
                                        "history": _history(engine)}}


def test_load_sample_twice_does_not_duplicate(reload):
    before, after = reload["before"]["counts"], reload["after"]["counts"]
    assert after == before
    assert before["kelurahan"] == 37


def test_every_sample_geometry_is_valid_in_the_source_files_the_generator_and_the_database(engine):
    for path in sorted(SOURCE_DATA.glob("*.geojson")):
        features = json.loads(path.read_text())["features"]
        invalid = [shapely.is_valid_reason(shape(f["geometry"])) for f in features if not shape(f["geometry"]).is_valid]
        assert features and invalid == [], path.name
    for layer_id, gdf in build().all_layers().items():
        invalid = [shapely.is_valid_reason(g) for g in gdf.geometry if not g.is_valid]
        assert invalid == [], layer_id
        declared = CATALOG[layer_id].geometry_type
        assert set(gdf.geom_type) <= {declared, declared.removeprefix("Multi")}, layer_id
    with engine.connect() as conn:
        for layer_id in NATURAL_KEYS:
            n, invalid, types = conn.execute(text(
                "SELECT count(*), count(*) FILTER (WHERE NOT ST_IsValid(geom)), "
                f"array_agg(DISTINCT GeometryType(geom)) FROM {layer_id}")).one()
            assert n > 0 and invalid == 0, layer_id
            assert types == [CATALOG[layer_id].geometry_type.upper()], layer_id


def test_natural_keys_identify_every_sample_feature():
    for layer_id, gdf in build().all_layers().items():
        keys = list(NATURAL_KEYS[layer_id])
        assert not gdf[keys].isna().any().any() and not gdf.duplicated(keys).any(), layer_id


def _ids_by_key(engine) -> dict:
    out = {}
    with engine.connect() as conn:
        for layer_id, keys in NATURAL_KEYS.items():
            for row in conn.execute(text(f"SELECT {', '.join(keys)}, id, version FROM {layer_id}")):
                out[(layer_id, *row[:-2])] = tuple(row[-2:])
    return out


def test_reloading_keeps_every_feature_id_and_changes_nothing(reload):
    before = reload["before"]["ids"]
    assert reload["after"]["ids"] == before
    assert len(before) == sum(len(gdf) for gdf in build().all_layers().values())
    assert reload["after"]["history"] == reload["before"]["history"]


def _cli(settings, *args) -> subprocess.CompletedProcess:
    """`python -m gis ARGS`: the real entrypoint."""
    env = {**os.environ, "DATABASE_URL": settings.database_url, "PETAKOTA_DATA_DIR": str(settings.data_dir)}
    return subprocess.run([sys.executable, "-m", "gis", *args], capture_output=True, text=True, env=env, timeout=300)


def _cli_here(settings, *args) -> subprocess.CompletedProcess:
    """The same command in this process, for its message and exit code."""
    return run_cli(*args, env={"DATABASE_URL": settings.database_url, "PETAKOTA_DATA_DIR": str(settings.data_dir)})


def _digest(engine) -> dict:
    with engine.connect() as conn:
        return {t: conn.execute(text(
            f"SELECT count(*), md5(string_agg(x::text, '|' ORDER BY x::text)) FROM {t} x")).one()
                for t in [*NATURAL_KEYS, "feature_history", "itbx", "rasters"]}


def test_a_reload_refuses_to_overwrite_edits_and_force_overwrites_them(engine, settings, http, keys):
    load_sample(engine, settings, force=True)
    http.headers["X-API-Key"] = keys["planner"]
    with engine.connect() as conn:
        centre = conn.execute(text("SELECT id, kelurahan_kode, nama, version FROM business_centers ORDER BY id "
                                   "LIMIT 1")).one()
        park = conn.execute(text("SELECT id, nama FROM parks ORDER BY id DESC LIMIT 1")).one()
    etag = http.get(f"/collections/business_centers/items/{centre.id}").headers["etag"]
    r = http.patch(f"/collections/business_centers/items/{centre.id}", headers={"If-Match": etag},
                   json={"type": "Feature", "properties": {"nama": "Diubah perencana"}})
    assert r.status_code == 204, r.text
    etag = http.get(f"/collections/parks/items/{park.id}").headers["etag"]
    assert http.delete(f"/collections/parks/items/{park.id}", headers={"If-Match": etag}).status_code == 204
    edited = _digest(engine)

    refused = _cli_here(settings, "load-sample")
    assert refused.returncode != 0
    assert f"business_centers {centre.id} ({centre.kelurahan_kode}) changed by Uji planner (planner)" in refused.stderr
    assert f"parks {park.id} ({park.nama}) deleted by Uji planner (planner)" in refused.stderr
    assert "Nothing was changed" in refused.stderr and "--force" in refused.stderr
    assert _digest(engine) == edited

    forced = _cli(settings, "load-sample", "--force")
    assert forced.returncode == 0, forced.stderr
    with engine.connect() as conn:
        after = conn.execute(text("SELECT id, nama, version FROM business_centers WHERE kelurahan_kode = :k"),
                             {"k": centre.kelurahan_kode}).one()
        back = conn.execute(text("SELECT id FROM parks WHERE nama = :n"), {"n": park.nama}).scalar()
    assert (after.id, after.nama, after.version) == (centre.id, centre.nama, centre.version + 2)
    assert back == park.id  # a deleted sample feature comes back under its old id
    assert _cli_here(settings, "load-sample").returncode == 0  # nothing edited since the forced load
