"""`petakota import-boundaries`: another city adopts the service; bad files are refused with nothing written."""

import os
import subprocess
import sys

import geopandas as gpd
import pytest
from shapely.geometry import Polygon, box
from sqlalchemy import text

from gis.core import db
from gis.core.errors import InvalidInput
from gis.data.boundaries import import_boundaries
from tests.conftest import scratch_settings

# Three small kelurahan of an imaginary city 12.99, drawn in UTM 47N (metres): 100 ha, 50 ha, 25 ha.
SQUARES = [box(450000, 400000, 451000, 401000), box(451000, 400000, 451500, 401000),
           box(450000, 401000, 450500, 401500)]
AREAS_HA = [100.0, 50.0, 25.0]


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory):
    settings = scratch_settings("import", tmp_path_factory.mktemp("import"))
    db.upgrade(settings)
    engine = db.make_engine(settings, pool_size=1)
    yield settings, engine
    engine.dispose()


def _kelurahan_rows(engine):
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT kode, nama, kecamatan_kode, kota_kode, area_ha FROM kelurahan ORDER BY kode")).all()


def _foreign_file(tmp_path, name="kota_contoh.gpkg", crs="EPSG:32647", geoms=SQUARES, **columns):
    data = {"KODE": ["1299011001", "1299011002", "1299021001"], "NAMOBJ": ["Alpha", "Beta", "Gamma"]}
    data.update(columns)
    gdf = gpd.GeoDataFrame({k: v for k, v in data.items() if v is not None}, geometry=list(geoms), crs=crs)
    path = tmp_path / name
    gdf.to_file(path)
    return path


def test_imports_a_foreign_file_reprojecting_and_deriving_parent_codes(empty_db, tmp_path):
    settings, engine = empty_db
    n = import_boundaries(engine, _foreign_file(tmp_path), "kelurahan")
    assert n == 3
    rows = _kelurahan_rows(engine)
    assert [r.kode for r in rows] == ["12.99.01.1001", "12.99.01.1002", "12.99.02.1001"]
    assert [r.kecamatan_kode for r in rows] == ["12.99.01", "12.99.01", "12.99.02"]
    assert {r.kota_kode for r in rows} == {"12.99"}
    for row, expected in zip(rows, AREAS_HA, strict=False):
        assert row.area_ha == pytest.approx(expected, rel=1e-6)
    # importing again updates in place, no duplicates
    import_boundaries(engine, _foreign_file(tmp_path), "kelurahan")
    assert len(_kelurahan_rows(engine)) == 3


@pytest.mark.parametrize(
    "make_file, message",
    [
        (lambda p: _foreign_file(p, KODE=None), "no code field found"),
        (lambda p: _foreign_file(p, crs=None), "declares no coordinate reference system"),
        (lambda p: _foreign_file(p, geoms=[SQUARES[0], SQUARES[1],
                                           Polygon([(450000, 401000), (450500, 401500), (450500, 401000),
                                                    (450000, 401500)])]),
         "feature 3 (Gamma): invalid geometry (Self-intersection"),
        (lambda p: _foreign_file(p, KODE=["1299011001", "12.99", "1299021001"]), "is not a Kemendagri kelurahan code"),
        (lambda p: _empty_file(p), "has no features"),
    ],
    ids=["missing-code-field", "no-crs", "self-intersection", "bad-code", "empty"],
)
def test_refuses_bad_files_and_writes_nothing(empty_db, tmp_path, make_file, message):
    settings, engine = empty_db
    before = _kelurahan_rows(engine)
    with pytest.raises(InvalidInput) as err:
        import_boundaries(engine, make_file(tmp_path), "kelurahan")
    assert message in err.value.detail
    assert _kelurahan_rows(engine) == before


def _empty_file(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    return path


def test_unknown_crs_is_refused(empty_db, tmp_path):
    settings, engine = empty_db
    with pytest.raises(InvalidInput, match="unknown CRS 'EPSG:999999'"):
        import_boundaries(engine, _foreign_file(tmp_path, crs=None), "kelurahan", crs="EPSG:999999")


def test_repair_is_only_done_when_asked(empty_db, tmp_path):
    settings, engine = empty_db
    bowtie = Polygon([(452000, 402000), (452500, 402500), (452500, 402000), (452000, 402500)])
    path = _foreign_file(tmp_path, "bowtie.gpkg", geoms=[bowtie, SQUARES[1], SQUARES[2]],
                         KODE=["1299031001", "1299031002", "1299031003"])
    import_boundaries(engine, path, "kelurahan", repair=True)
    rows = {r.kode: r for r in _kelurahan_rows(engine)}
    # the repaired bowtie is two triangles of 6.25 ha each
    assert rows["12.99.03.1001"].area_ha == pytest.approx(12.5, rel=1e-6)


def test_the_cli_reports_a_refusal_with_a_clear_message(empty_db, tmp_path):
    settings, engine = empty_db
    before = _kelurahan_rows(engine)
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    result = subprocess.run(
        [sys.executable, "-m", "gis", "import-boundaries", str(_foreign_file(tmp_path, KODE=None)),
         "--level", "kelurahan"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert "no code field found" in result.stderr and "NAMOBJ" in result.stderr
    assert _kelurahan_rows(engine) == before
