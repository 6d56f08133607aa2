"""Adopting and removing a city (`petakota city add / remove`): bad files refused naming the features with
nothing written, a second adoption updates instead of copying, removal takes exactly one city; and migration 0005
places the rows of an existing database in their city."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.affinity import translate
from sqlalchemy import text

from gis.core import db
from gis.core.errors import InvalidInput
from gis.data.boundaries import add_city, remove_city, utm_crs
from gis.data.registry import load_catalog
from tests.cli_inprocess import run_cli
from tests.conftest import scratch_settings

DATA = Path(__file__).resolve().parents[1] / "layers" / "sample" / "data"
KARO = DATA / "desa_kelurahan_karo.geojson"
DELI = DATA / "desa_kelurahan_deli_serdang.geojson"
BINJAI = DATA / "kelurahan_binjai.geojson"


@pytest.fixture(scope="module")
def held(tmp_path_factory):
    """A database holding Binjai and Karo (boundaries only, dissolved kecamatan and kab/kota)."""
    settings = scratch_settings("adopt", tmp_path_factory.mktemp("adopt"))
    db.upgrade(settings)
    engine = db.make_engine(settings, pool_size=1)
    add_city(engine, BINJAI, "kelurahan", population=315_609)
    add_city(engine, KARO, "desa")
    yield settings, engine
    engine.dispose()


def _state(engine) -> dict:
    """Everything an adoption could write: rows per city per layer, and the history length."""
    with engine.connect() as conn:
        out = {t: conn.execute(text(f"SELECT kabkota, count(*), sum(version) FROM {t} GROUP BY 1 ORDER BY 1")).all()
               for t in load_catalog(conn)}
        out["history"] = conn.execute(text("SELECT count(*) FROM feature_history")).scalar()
    return out


def _write(tmp_path: Path, gdf: gpd.GeoDataFrame, name: str) -> Path:
    path = tmp_path / name
    gdf.to_file(path, driver="GeoJSON")
    return path


def _refused(engine, tmp_path, gdf, expected: list[str], **options):
    before = _state(engine)
    with pytest.raises(InvalidInput) as err:
        add_city(engine, _write(tmp_path, gdf, "city.geojson"), "desa", **options)
    for part in expected:
        assert part in err.value.detail
    assert _state(engine) == before
    return err.value.detail


def test_adopted_cities_have_their_levels_kind_and_crs(held):
    _, engine = held
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT kode, nama, jenis, metric_crs, population FROM kota ORDER BY kode")).all()
        assert [tuple(r) for r in rows] == [("12.06", "Kabupaten Karo", "kabupaten", 32647, None),
                                            ("12.75", "Kota Binjai", "kota", 32647, 315_609)]
        kec = dict(conn.execute(text("SELECT kode, nama FROM kecamatan WHERE kabkota = '12.06'")).all())
    source = gpd.read_file(DATA / "kecamatan_karo.geojson")
    assert kec == dict(zip(source.kode, source.nama, strict=True))  # dissolved, named from the desa file


def test_codes_that_do_not_nest_are_refused_naming_the_features(held, tmp_path):
    _, engine = held
    deli = gpd.read_file(DELI)
    bad = deli.copy()
    bad.loc[3, "kecamatan_kode"] = "12.07.09"
    detail = _refused(engine, tmp_path, bad, [f"{bad.nama[3]} {bad.kode[3]}", "12.07.09", "Nothing was written"])
    assert "1 features" in detail
    # a kecamatan file that lacks one of the desa's kecamatan
    kec = gpd.read_file(DATA / "kecamatan_deli_serdang.geojson")
    missing = kec[kec.kode != "12.07.05"]
    kec_path = _write(tmp_path, missing, "kec.geojson")
    orphans = deli[deli.kecamatan_kode == "12.07.05"]
    _refused(engine, tmp_path, deli, [f"{len(orphans)} kelurahan/desa have no kecamatan",
                                      f"{orphans.nama.iloc[0]} {orphans.kode.iloc[0]}"], kecamatan=kec_path)


def test_a_file_mixing_cities_is_refused_unless_one_is_named(held, tmp_path):
    _, engine = held
    deli = gpd.read_file(DELI)
    mixed = pd.concat([deli, gpd.read_file(KARO).head(3)], ignore_index=True)
    _refused(engine, tmp_path, mixed, ["mixes 2 cities", "12.06 (3 features)", "12.07 (394 features)", "--city"])


def test_a_city_overlapping_a_held_one_is_refused(held, tmp_path):
    _, engine = held
    copy = gpd.read_file(KARO)
    copy["kode"] = copy.kode.str.replace("12.06.", "12.08.", regex=False)
    for column in ("kecamatan_kode", "kabkota_kode"):
        copy[column] = copy[column].str.replace("12.06", "12.08", regex=False)
    _refused(engine, tmp_path, copy, ["overlaps a city held", "12.06 Kabupaten Karo", "second copy"])


def test_a_city_across_two_utm_zones_needs_a_crs(held, tmp_path):
    _, engine = held
    # Karo moved onto 102 E, the line between UTM zones 47 and 48, and far from every city held
    moved = gpd.read_file(KARO)
    moved["geometry"] = [translate(g, 102.0 - 98.3, -1.0) for g in moved.geometry]
    for column in ("kode", "kecamatan_kode", "kabkota_kode"):
        moved[column] = moved[column].str.replace("12.06", "14.09", regex=False)
    _refused(engine, tmp_path, moved, ["spans UTM zones 47 and 48", "--crs"])
    assert utm_crs((98.2, 2.9, 98.6, 3.3)) == 32647 and utm_crs((110.3, -7.9, 110.5, -7.7)) == 32749


def test_adopting_a_city_again_updates_it_and_never_copies_it(held, tmp_path):
    _, engine = held
    with engine.connect() as conn:
        ids = dict(conn.execute(text("SELECT kode, id FROM kelurahan WHERE kabkota = '12.75'")).all())
    again = add_city(engine, BINJAI, "kelurahan", kecamatan=DATA / "kecamatan_binjai.geojson",
                     kabkota=DATA / "kota_binjai.geojson")
    assert again.replaced and again.level4 == 37
    with engine.connect() as conn:
        assert dict(conn.execute(text("SELECT kode, id FROM kelurahan WHERE kabkota = '12.75'")).all()) == ids
        assert conn.execute(text("SELECT count(*), min(population) FROM kota WHERE kode = '12.75'")).one() == \
            (1, 315_609)  # the population held is kept when none is given


def test_removing_a_city_removes_everything_in_it_and_nothing_else(tmp_path):
    settings = scratch_settings("remove", tmp_path)
    db.upgrade(settings)
    engine = db.make_engine(settings, pool_size=1)
    try:
        add_city(engine, KARO, "desa")
        add_city(engine, DELI, "desa")
        with engine.begin() as conn:  # a park in each city
            for lon, lat, name in ((98.50, 3.10, "Karo"), (98.87, 3.55, "Deli")):
                conn.execute(text("INSERT INTO parks (nama, kelas, publik, geom) VALUES (:n, 'taman kota', true, "
                                  "ST_Multi(ST_Expand(ST_SetSRID(ST_Point(:x, :y), 4326), 0.001)))"),
                             {"n": name, "x": lon, "y": lat})
        before = _state(engine)
        env = {"DATABASE_URL": settings.database_url}  # in this process: the adoption test runs `python -m gis city`
        declined = run_cli("city", "remove", "12.07", input="n\n", env=env)
        assert declined.returncode != 0 and _state(engine) == before
        done = run_cli("city", "remove", "12.07", "--yes", env=env)
        assert done.returncode == 0, done.stderr
        assert "kelurahan 394" in done.stdout and "parks 1" in done.stdout
        after = _state(engine)
        for layer, rows in after.items():
            if layer != "history":
                assert rows == [r for r in before[layer] if r[0] != "12.07"], layer
        with pytest.raises(Exception, match="no city '12.07' is held; cities held: 12.06 Kabupaten Karo"):
            remove_city(engine, "12.07")
    finally:
        engine.dispose()


def test_the_cli_adopts_a_city_and_names_what_it_refuses(held, tmp_path):
    settings, engine = held
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    mixed = pd.concat([gpd.read_file(DELI), gpd.read_file(BINJAI).head(2)], ignore_index=True)
    path = _write(tmp_path, mixed, "mixed.geojson")
    refused = run_cli("city", "add", str(path), "--level", "desa", env={"DATABASE_URL": settings.database_url})
    assert refused.returncode == 1 and "mixes 2 cities" in refused.stderr and "Traceback" not in refused.stderr
    taken = subprocess.run([sys.executable, "-m", "gis", "city", "add", str(path), "--level", "desa", "--city",
                            "12.07", "--population", "1000"], capture_output=True, text=True, env=env, timeout=120)
    assert taken.returncode == 0, taken.stderr
    assert "adopted 12.07 Kabupaten Deli Serdang (kabupaten, metric CRS EPSG:32647): 22 kecamatan" in taken.stdout
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM kelurahan WHERE kabkota = '12.07'")).scalar() == 394
        assert conn.execute(text("SELECT population FROM kota WHERE kode = '12.07'")).scalar() == 1000


def test_migration_0005_places_existing_rows_in_their_city_without_new_versions(tmp_path):
    settings = scratch_settings("cities_migration", tmp_path)
    engine = db.make_engine(settings, pool_size=1)
    try:
        db.upgrade(settings, "0004")
        kota = gpd.read_file(DATA / "kota_binjai.geojson").geometry.iloc[0]
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO kota (kode, nama, geom) VALUES ('12.75', 'Kota Binjai', "
                              "ST_Multi(ST_GeomFromText(:w, 4326)))"), {"w": kota.wkt})
            conn.execute(text("INSERT INTO parks (nama, kelas, publik, geom) VALUES ('Taman', 'taman kota', true, "
                              "ST_Multi(ST_Expand(ST_SetSRID(ST_Point(98.49, 3.60), 4326), 0.001)))"))
        history = engine.connect().execute(text("SELECT count(*) FROM feature_history")).scalar()
        db.upgrade(settings)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT kabkota, jenis, metric_crs FROM kota")).one() == ("12.75", "kota", 32647)
            assert conn.execute(text("SELECT kabkota, version FROM parks")).one() == ("12.75", 1)
            assert conn.execute(text("SELECT count(*) FROM feature_history")).scalar() == history
    finally:
        engine.dispose()
