"""The Mebidangro sample region in full (`load-sample --region mebidangro`): Kabupaten Deli Serdang and Kabupaten
Karo get sparse illustrative layers and 30 m rasters next to their real boundaries, each row in its own city,
population grids summing to the cited BPS figures, analyses that run per city, and reloads that keep counts and
ids and refuse to overwrite edits. On a scratch database of its own (the session's `region` fixture stays
boundaries only)."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import rasterio
from sqlalchemy import text
from typer.testing import CliRunner

from gis.cli.main import app as cli
from gis.core import db
from gis.core.errors import Conflict
from gis.data.sample import load_region, load_sample
from layers.planning import PARK_CLASSES
from layers.sample.generate import NATURAL_KEYS
from layers.sample.region import POPULATION
from tests.conftest import scratch_settings, serve
from tests.test_processes import run as run_process

CODES = {"12.07": "deli_serdang", "12.06": "karo"}
LAYERS = ("parks", "business_centers", "zoning", "roads", "rivers", "toll_gates")
DATASETS = ("elevation", "slope", "flood_hazard", "landcover_2024", "population")


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """(engine, settings, base URL) of a database holding Binjai and the full Mebidangro sample region."""
    settings = scratch_settings("full_region", tmp_path_factory.mktemp("full_region"))
    db.upgrade(settings)
    engine = db.make_engine(settings, pool_size=2)
    load_sample(engine, settings)
    load_region(engine, "mebidangro", settings)
    with serve(settings) as url:
        yield engine, settings, url
    engine.dispose()


@pytest.fixture(scope="module")
def api(full):
    with httpx.Client(base_url=full[2], timeout=600) as client:
        yield client


def run(api, process: str, inputs: dict) -> dict:
    return run_process(api, process, inputs, timeout=600)


def ids_by_key(engine) -> dict:
    """layer -> natural key -> (id, kabkota), every city's rows."""
    out = {}
    with engine.connect() as conn:
        for layer in LAYERS:
            keys = ", ".join(NATURAL_KEYS[layer])
            out[layer] = {tuple(r[:-2]): tuple(r[-2:]) for r in conn.execute(
                text(f"SELECT {keys}, id, kabkota FROM {layer}"))}
    return out


def test_each_regency_has_its_illustrative_layers_in_its_own_city(full):
    engine = full[0]
    with engine.connect() as conn:
        for code in CODES:
            itbx_zones = {r[0] for r in conn.execute(text("SELECT DISTINCT kodszn FROM itbx WHERE kabkota = :c"),
                                                     {"c": code})}
            counts = {layer: conn.execute(text(f"SELECT count(*) FROM {layer} WHERE kabkota = :c"), {"c": code})
                      .scalar() for layer in LAYERS}
            assert all(counts[layer] > 0 for layer in ("parks", "business_centers", "zoning", "roads", "rivers"))
            assert 20 <= counts["parks"] <= 60, counts  # a few dozen: sparse
            assert counts["toll_gates"] == (1 if code == "12.07" else 0)
            desa = conn.execute(text("SELECT count(*) FROM kelurahan WHERE kabkota = :c"), {"c": code}).scalar()
            assert counts["business_centers"] < desa / 2  # some desa only: the gaps are the point
            # Rows that name their desa sit in the regency of that desa (the database assigns kabkota).
            for layer in ("parks", "business_centers", "zoning"):
                wrong = conn.execute(text(f"SELECT count(*) FROM {layer} WHERE kelurahan_kode LIKE :p "
                                          "AND kabkota IS DISTINCT FROM :c"), {"p": f"{code}.%", "c": code}).scalar()
                named = conn.execute(text(f"SELECT count(*) FROM {layer} WHERE kelurahan_kode LIKE :p"),
                                     {"p": f"{code}.%"}).scalar()
                assert wrong == 0 and named == counts[layer], layer
            zones = {r[0] for r in conn.execute(text("SELECT DISTINCT kodszn FROM zoning WHERE kabkota = :c"),
                                                {"c": code})}
            assert zones and zones <= itbx_zones
            kelas = {r[0] for r in conn.execute(text("SELECT DISTINCT kelas FROM parks WHERE kabkota = :c"),
                                                {"c": code})}
            assert kelas <= set(PARK_CLASSES) and len(kelas) >= 4
            # the zoning plan covers part of the regency, not all of it
            share = conn.execute(text(
                "SELECT (SELECT sum(ST_Area(geom::geography)) FROM zoning WHERE kabkota = :c) / "
                "(SELECT ST_Area(geom::geography) FROM kota WHERE kode = :c)"), {"c": code}).scalar()
            assert 0.01 < share < 0.5
        # Binjai keeps its own sample
        assert conn.execute(text("SELECT count(*) FROM parks WHERE kabkota = '12.75'")).scalar() > 100


def test_each_regency_has_illustrative_rasters_and_a_population_grid_summing_to_the_bps_figure(full):
    engine, settings, _ = full
    with engine.connect() as conn:
        for code in CODES:
            rows = {r.dataset: r for r in conn.execute(text(
                "SELECT dataset, path, illustrative, source FROM rasters WHERE city = :c AND owner IS NULL"),
                {"c": code})}
            assert set(rows) == set(DATASETS)
            assert all(r.illustrative and "illustrative" in r.source for r in rows.values())
            with rasterio.open(settings.data_dir / rows["population"].path) as src:
                assert src.res == (30.0, 30.0) and src.crs.to_epsg() == 32647
                people = src.read(1).sum(dtype="float64")
            held = conn.execute(text("SELECT population FROM kota WHERE kode = :c"), {"c": code}).scalar()
            assert held == POPULATION[code]
            assert people == pytest.approx(held, rel=1e-6)
            with rasterio.open(settings.data_dir / rows["landcover_2024"].path) as src:
                cover = src.read(1)
            assert set(np.unique(cover)) <= {0, 1, 2, 3, 4, 5} and (cover == 1).any()


def test_park_coverage_of_deli_serdang_reports_real_shares(api, full):
    result = run(api, "park-coverage", {"city": "12.07"})
    assert result["population"] == "present" and "message" not in result
    (city,) = result["cities"]
    assert city["population"] == "present"
    assert city["people"] == pytest.approx(POPULATION["12.07"], rel=1e-3)
    assert 0 < city["served"] < city["people"]
    assert city["share_served"] == pytest.approx(city["served"] / city["people"])


def test_site_suitability_for_deli_serdang_returns_candidates(api):
    result = run(api, "site-suitability", {"city": "12.07", "target_ha": 50, "n_candidates": 3})
    sites = result["candidates"]["features"]
    assert sites and [c["code"] for c in result["cities"]] == ["12.07"]
    assert all(f["properties"]["area_ha"] >= 50 * 0.95 for f in sites)


@pytest.mark.parametrize("code", list(CODES))
def test_business_center_coverage_per_city(api, full, code):
    with full[0].connect() as conn:
        desa = conn.execute(text("SELECT count(*) FROM kelurahan WHERE kabkota = :c"), {"c": code}).scalar()
        holding = {r[0] for r in conn.execute(text("SELECT DISTINCT kelurahan_kode FROM business_centers "
                                                   "WHERE kabkota = :c AND status = 'active'"), {"c": code})}
    result = run(api, "business-center-coverage", {"city": code})
    (city,) = result["cities"]
    assert city["kelurahan"] == desa
    assert len(holding) <= city["with_centre"] < desa
    served = {f["properties"]["kode"] for f in result["kelurahan"]["features"] if f["properties"]["has_centre"]}
    assert holding <= served
    assert len(city["gap_list"]) > 0


def test_reloading_keeps_counts_and_ids_and_refuses_to_overwrite_edits(full, monkeypatch):
    engine, settings, _ = full
    before = ids_by_key(engine)
    with engine.begin() as conn:
        rasters = conn.execute(text("SELECT count(*) FROM rasters")).scalar()
        # a registry row gone astray comes back with the reload (the command loads the regencies' rasters)
        conn.execute(text("DELETE FROM rasters WHERE city = '12.06' AND dataset = 'population'"))
    # the command users run: Binjai reloaded, then the region (Binjai's reload leaves the regencies' rows alone)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PETAKOTA_DATA_DIR", str(settings.data_dir))
    out = CliRunner().invoke(cli, ["load-sample", "--region", "mebidangro"])
    assert out.exit_code == 0, out.output
    assert "12.07" in out.output and "12.06" in out.output
    assert ids_by_key(engine) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM rasters")).scalar() == rasters
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('petakota.actor', 'perencana', true)"))
        park_id = conn.execute(text("UPDATE parks SET publik = false WHERE id = (SELECT min(id) FROM parks "
                                    "WHERE kabkota = '12.06') RETURNING id")).scalar()
    with pytest.raises(Conflict, match=f"parks {park_id} .* changed by perencana"):
        load_region(engine, "mebidangro", settings)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT publik FROM parks WHERE id = :i"), {"i": park_id}).scalar() is False
    load_region(engine, "mebidangro", settings, force=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT publik FROM parks WHERE id = :i"), {"i": park_id}).scalar() is True
    assert ids_by_key(engine) == before
