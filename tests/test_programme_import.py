"""Programmes in from SIPD-style files and out again: a 500-programme / 2,000-location file lands whole, an import
twice writes nothing, a dry run nothing, an export imports back to the same tables, a column map reads another
layout, and the CLI answers with exit codes and a JSON report."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import shapely.affinity
from sqlalchemy import text
from typer.testing import CliRunner

from gis.cli.main import app
from gis.core.errors import InvalidInput
from gis.data.programmes import export_programmes, import_programmes, long_table
from layers.sample.programmes import synthetic_tables, write_synthetic_sipd

KEY = ["tahun", "kodeskpd", "kodesubkegiatan"]
LAYERS = {"Point": "programme_points", "LineString": "programme_lines", "Polygon": "programme_areas"}


@pytest.fixture(autouse=True)
def _no_test_programmes_left(engine):
    """The test years' programmes go when a test ends: the session's sample city stays as loaded."""
    yield
    with engine.begin() as conn:
        for t in ("programme_points", "programme_lines", "programme_areas"):
            conn.execute(text(f"DELETE FROM {t} WHERE programme_kode ~ '^[0-9.]+-20[3-4][0-9]-'"))
        conn.execute(text("DELETE FROM programmes WHERE tahun BETWEEN 2030 AND 2049"))


def _history(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM feature_history")).scalar()


def _snapshot(engine, year: int) -> dict[str, pd.DataFrame]:
    like = {"p": f"12.75-{year}-%"}
    with engine.connect() as conn:
        programmes = pd.read_sql(text(
            "SELECT kode, kabkota, kodepemda, tahun, kodeskpd, nama_skpd, kodeprogram, nama_program, kodekegiatan, "
            "nama_kegiatan, kodesubkegiatan, nama_subkegiatan, pagu_rp, realisasi_rp, tanggal_mulai, "
            "tanggal_selesai, project_slug, publik, catatan FROM programmes WHERE kode LIKE :p ORDER BY kode"),
            conn, params=like)
        indicators = pd.read_sql(text(
            "SELECT programme_kode, kode, nama, satuan, periode, batas_periode, target, realisasi, wilayah_kode, "
            "sumber FROM programme_indicators WHERE programme_kode LIKE :p "
            "ORDER BY programme_kode, kode, periode, coalesce(wilayah_kode, '')"), conn, params=like)
        locations = pd.read_sql(text(" UNION ALL ".join(
            f"SELECT '{t}' AS layer, programme_kode, nama, kodeskpd, kecamatan_kode, kelurahan_kode, keterangan, "
            f"encode(ST_AsBinary(geom), 'hex') AS wkb FROM {t} WHERE programme_kode LIKE :p"
            for t in LAYERS.values()) + " ORDER BY programme_kode, layer, nama, wkb"), conn, params=like)
    return {"programmes": programmes, "indicators": indicators, "locations": locations}


def _location_ids(engine, kode: str) -> dict[str, tuple[str, int]]:
    with engine.connect() as conn:
        return {r.nama: (r.layer, r.id) for r in conn.execute(text(" UNION ALL ".join(
            f"SELECT '{t}' AS layer, id, nama FROM {t} WHERE programme_kode = :k" for t in LAYERS.values())),
            {"k": kode})}


def _forget(engine, year: int) -> None:
    with engine.begin() as conn:
        for t in LAYERS.values():
            conn.execute(text(f"DELETE FROM {t} WHERE programme_kode LIKE :p"), {"p": f"12.75-{year}-%"})
        conn.execute(text("DELETE FROM programmes WHERE kode LIKE :p"), {"p": f"12.75-{year}-%"})


def test_a_generated_file_of_500_programmes_and_2000_locations_lands_whole(engine, tmp_path):
    path = write_synthetic_sipd(tmp_path / "renja.csv", n_programmes=500, n_locations=2000, seed=3, year=2031)
    # what the file holds, read independently of the importer
    rows = pd.read_csv(path, dtype=str, keep_default_na=False)
    programmes = rows[KEY].drop_duplicates()
    indicators = rows[rows.kodeindikator != ""]
    places = rows[rows.wkt != ""].drop_duplicates([*KEY, "namalokasi", "wkt"])
    geoms = gpd.GeoSeries(shapely.from_wkt(places.wkt.to_numpy()), crs=4326)
    report = import_programmes(engine, path, "12.75", by="Bappeda (uji)")  # its speed: bench/programmes.py
    assert report.ok, report.problems[:5]
    assert len(programmes) == 500 and len(places) == 2000
    snap = _snapshot(engine, 2031)
    assert len(snap["programmes"]) == report.programmes["inserted"] == 500
    assert len(snap["indicators"]) == report.indicators["inserted"] == len(indicators)
    assert snap["locations"].layer.value_counts().to_dict() == {
        LAYERS[k]: n for k, n in geoms.geom_type.value_counts().items()}
    # pagu as the file says, codes kept as text
    pagu = rows.drop_duplicates(KEY).set_index("kodesubkegiatan").pagu.astype(int)
    stored = snap["programmes"].set_index("kodesubkegiatan").pagu_rp.sort_index()
    assert list(stored.index) == list(pagu.sort_index().index)
    assert (stored.to_numpy() == pagu.sort_index().to_numpy()).all()
    assert snap["programmes"].kodeskpd.str.endswith(".0000").all()
    with engine.connect() as conn:
        area_ha = conn.execute(text("SELECT sum(area_ha) FROM programme_areas WHERE programme_kode LIKE '12.75-2031-%'")
                               ).scalar()
        points = gpd.GeoDataFrame(snap["locations"][snap["locations"].layer == "programme_points"],
                                  geometry=shapely.from_wkb(snap["locations"].wkb[
                                      snap["locations"].layer == "programme_points"].map(bytes.fromhex)), crs=4326)
        kel = gpd.read_postgis("SELECT kode, geom FROM kelurahan WHERE kabkota = '12.75'", conn, geom_col="geom")
        actors = {r[0] for r in conn.execute(text(
            "SELECT DISTINCT actor FROM feature_history WHERE layer = 'programmes' AND after->>'tahun' = '2031'"))}
    polygons = geoms[geoms.geom_type == "Polygon"].to_crs(32647)
    assert area_ha == pytest.approx(polygons.area.sum() / 1e4, rel=1e-6)
    # each point's kelurahan, found from its geometry, is the one it lies in
    inside = gpd.sjoin(points, kel, predicate="within")
    assert len(inside) == len(points) and (inside.kelurahan_kode == inside.kode).all()
    assert actors == {"Bappeda (uji)"}


def test_the_same_file_twice_writes_nothing_and_a_dry_run_writes_nothing(engine, tmp_path):
    path = write_synthetic_sipd(tmp_path / "renja.xlsx", n_programmes=20, n_locations=60, seed=4, year=2032)
    before = _history(engine)
    dry = import_programmes(engine, path, "12.75", by="uji", dry_run=True)
    assert dry.ok and dry.programmes["inserted"] == 20 and dry.locations["inserted"] == 60
    assert _history(engine) == before and _snapshot(engine, 2032)["programmes"].empty
    first = import_programmes(engine, path, "12.75", by="uji")
    written = _history(engine)
    assert first.programmes["inserted"] == 20 and written > before
    again = import_programmes(engine, path, "12.75", by="uji")
    assert again.ok and again.programmes == {"inserted": 0, "updated": 0, "unchanged": 20}
    assert again.indicators["inserted"] == again.indicators["updated"] == 0
    assert again.locations["programmes_relocated"] == 0
    assert _history(engine) == written
    # a progress update stays through re-imports; a changed budget and a moved location are written, only those
    kode = _snapshot(engine, 2032)["programmes"].kode.iloc[0]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO programme_progress (programme_kode, tanggal, status, oleh) "
                          "VALUES (:k, '2032-03-01', 'berjalan', 'PPTK')"), {"k": kode})
    tables = synthetic_tables(20, 60, 4, "12.75", 2032)
    tables["program"].loc[0, "pagu"] = 123_000_000
    own = tables["lokasi"].index[tables["lokasi"].kodesubkegiatan == tables["program"].kodesubkegiatan[0]]
    assert len(own) >= 3
    renamed, moved = own[0], own[1]
    old_name = tables["lokasi"].namalokasi[renamed]
    tables["lokasi"].loc[renamed, "namalokasi"] = "Lokasi baru"
    shifted = shapely.affinity.translate(shapely.from_wkt(tables["lokasi"].wkt[moved]), 0.0003, 0.0002)
    tables["lokasi"].loc[moved, "wkt"] = shifted.wkt
    ids_before = _location_ids(engine, kode)
    changed = tmp_path / "renja-2.xlsx"
    with pd.ExcelWriter(changed) as writer:
        for name, frame in tables.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    with engine.connect() as conn:
        last = conn.execute(text("SELECT max(id) FROM feature_history")).scalar()
    third = import_programmes(engine, changed, "12.75", by="uji")
    assert third.programmes == {"inserted": 0, "updated": 1, "unchanged": 19}
    assert third.locations["programmes_relocated"] == 1
    assert (third.locations["inserted"], third.locations["updated"], third.locations["removed"]) == (1, 1, 1)
    ids_after = _location_ids(engine, kode)
    # the moved location keeps its id (and with it its history and attachments), as do those left alone
    assert ids_after[tables["lokasi"].namalokasi[moved]] == ids_before[tables["lokasi"].namalokasi[moved]]
    assert {n: i for n, i in ids_after.items() if n != "Lokasi baru"} == \
        {n: i for n, i in ids_before.items() if n != old_name}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pagu_rp FROM programmes WHERE kode = :k"), {"k": kode}).scalar() == 123e6
        assert conn.execute(text("SELECT count(*) FROM programme_progress WHERE programme_kode = :k"),
                            {"k": kode}).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM feature_history WHERE id > :b AND layer = 'programmes'"),
                            {"b": last}).scalar() == 1


@pytest.mark.parametrize(("suffix", "year"), [("csv", 2033), ("xlsx", 2034)])
def test_an_export_imports_back_to_the_same_tables(engine, tmp_path, suffix, year):
    source = write_synthetic_sipd(tmp_path / f"renja.{suffix}", n_programmes=30, n_locations=90, seed=5, year=year)
    assert import_programmes(engine, source, "12.75", by="uji").ok
    with engine.begin() as conn:  # fields the generator leaves empty, and a catatan with a comma
        conn.execute(text("UPDATE programmes SET catatan = 'dipantau, Bappeda', project_slug = "
                          "'kawasan-industri-binjai' WHERE kode = (SELECT min(kode) FROM programmes WHERE tahun = :y)"),
                     {"y": year})
    before = _snapshot(engine, year)
    out = tmp_path / f"ekspor.{suffix}"
    written = export_programmes(engine, "12.75", out, year=year)
    assert written == {"programmes": 30, "indicators": len(before["indicators"]), "locations": 90}
    _forget(engine, year)
    assert _snapshot(engine, year)["programmes"].empty
    report = import_programmes(engine, out, "12.75", by="uji")
    assert report.ok, report.problems[:5]
    after = _snapshot(engine, year)
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name], check_dtype=False)


def test_a_column_map_reads_another_layout(engine, tmp_path):
    tables = synthetic_tables(6, 12, 6, "12.75", 2035)
    theirs = {"namaskpd": "Nama OPD", "pagu": "Pagu Anggaran (Rp)", "namasubkegiatan": "Uraian Sub Kegiatan",
              "kodeindikator": "Kode Tolok Ukur", "wkt": "Geometri"}
    renamed = {name: frame.rename(columns=theirs) for name, frame in tables.items()}
    path = tmp_path / "sipd.xlsx"
    with pd.ExcelWriter(path) as writer:
        for name, frame in renamed.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    unmapped = import_programmes(engine, path, "12.75", by="uji")
    assert {p.code for p in unmapped.problems} == {"missing_column"}
    assert {p.column for p in unmapped.problems} == {"namaskpd", "namasubkegiatan"}
    column_map = {"nama_skpd": "Nama OPD", "pagu": "Pagu Anggaran (Rp)", "namasubkegiatan": "Uraian Sub Kegiatan",
                  "kodeindikator": "Kode Tolok Ukur", "wkt": "Geometri"}
    report = import_programmes(engine, path, "12.75", by="uji", column_map=column_map)
    assert report.ok, report.problems[:3]
    snap = _snapshot(engine, 2035)
    assert sorted(snap["programmes"].nama_skpd) == sorted(tables["program"].namaskpd)
    assert sorted(snap["programmes"].pagu_rp) == sorted(tables["program"].pagu)
    assert len(snap["locations"]) == 12
    with pytest.raises(InvalidInput, match="not a column of the layout"):
        import_programmes(engine, path, "12.75", by="uji", column_map={"opd": "Nama OPD"})


def test_an_unknown_city_is_refused_by_name(engine, tmp_path):
    path = write_synthetic_sipd(tmp_path / "renja.csv", n_programmes=2, n_locations=2, seed=7, year=2039)
    with pytest.raises(InvalidInput, match="no city '12.99' is held here; cities held: 12.75"):
        import_programmes(engine, path, "12.99", by="uji")
    with pytest.raises(InvalidInput, match="no city '12.99'"):
        export_programmes(engine, "12.99", tmp_path / "out.csv")


def _cli(settings, *args):
    return CliRunner().invoke(app, ["programmes", *args], env={"DATABASE_URL": settings.database_url})


def test_the_cli_imports_reports_and_exits_1_on_a_bad_file(engine, settings, tmp_path):
    tables = {k: v.astype(object) for k, v in synthetic_tables(5, 10, 8, "12.75", 2037).items()}
    tables["program"].loc[1, "tahun"] = "dua ribu"
    tables["indikator"].loc[2, "target"] = "-1"
    bad = tmp_path / "salah.xlsx"
    with pd.ExcelWriter(bad) as writer:
        for name, frame in tables.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    report = tmp_path / "laporan.json"
    before = _history(engine)
    result = _cli(settings, "import", str(bad), "--city", "12.75", "--report", str(report))
    assert result.exit_code == 1, result.output
    assert "program row 3" in result.output and "bad_year" in result.output
    assert "indikator row 4" in result.output and "negative_target" in result.output
    assert "nothing was written" in result.output and "Traceback" not in result.output
    body = json.loads(report.read_text())
    assert body["ok"] is False and body["problem_counts"]["bad_year"] == 1
    assert {(p["sheet"], p["rows"][0], p["code"]) for p in body["problems"]} >= {
        ("program", 3, "bad_year"), ("indikator", 4, "negative_target")}
    assert _history(engine) == before
    good = write_synthetic_sipd(tmp_path / "baik.csv", n_programmes=5, n_locations=10, seed=8, year=2037)
    dry = _cli(settings, "import", str(good), "--city", "12.75", "--dry-run")
    assert dry.exit_code == 0 and "dry run" in dry.output and _history(engine) == before
    done = _cli(settings, "import", str(good), "--city", "12.75", "--by", "Operator SIPD", "--report", str(report))
    assert done.exit_code == 0 and "programmes 5 new" in done.output, done.output
    assert json.loads(report.read_text())["programmes"]["inserted"] == 5
    with engine.connect() as conn:
        actors = conn.execute(text("SELECT DISTINCT actor FROM feature_history WHERE layer = 'programmes' "
                                   "AND after->>'tahun' = '2037'")).scalars().all()
    assert actors == ["programmes import (Operator SIPD)"]
    out = tmp_path / "ekspor.xlsx"
    exported = _cli(settings, "export", str(out), "--city", "12.75", "--year", "2037")
    assert exported.exit_code == 0 and "5 programmes" in exported.output
    assert set(pd.read_excel(out, sheet_name=None)) == {"program", "indikator", "lokasi"}
    unknown = _cli(settings, "export", str(out), "--city", "12.99")
    assert unknown.exit_code == 1 and "no city '12.99'" in unknown.output


def test_the_documented_layout_and_example_are_the_importer_s(engine, tmp_path):
    from pathlib import Path

    from gis.data.programme_layout import CODES, COLUMNS

    doc = (Path(__file__).resolve().parents[1] / "docs" / "programmes-import.md").read_text()
    assert not [c.name for c in COLUMNS if f"| `{c.name}` |" not in doc]
    assert not [code for code in CODES if f"| `{code}` |" not in doc]
    example = doc.split("```csv\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "contoh.csv"
    path.write_text(example, encoding="utf-8")
    report = import_programmes(engine, path, "12.75", by="uji", dry_run=True)
    assert report.ok, [str(p) for p in report.problems]
    assert report.programmes["inserted"] + report.programmes["updated"] + report.programmes["unchanged"] == 1
    assert report.indicators["inserted"] + report.indicators["updated"] + report.indicators["unchanged"] == 3
    assert report.locations["inserted"] + report.locations["updated"] + report.locations["unchanged"] == 1


def test_a_spreadsheet_csv_with_semicolons_indonesian_numbers_and_dates_reads_as_written(engine, tmp_path):
    tables = {k: v.astype(object) for k, v in synthetic_tables(3, 3, 12, "12.75", 2040).items()}
    program = tables["program"]
    program.loc[0, "namaskpd"] = "Dinas Pekerjaan Umum – Bidang Bina Marga"  # an en dash, as Excel saves it
    program.loc[0, "pagu"] = "Rp 1.250.000.000,00"
    program.loc[0, "tanggalselesai"] = "30/11/2040"
    tables["indikator"].loc[0, "target"] = "2,5"
    path = tmp_path / "ekspor-sipd.csv"
    long_table(tables).to_csv(path, index=False, sep=";", encoding="cp1252")
    report = import_programmes(engine, path, "12.75", by="uji")
    assert report.ok, [str(p) for p in report.problems]
    kode = f"12.75-2040-{program.kodeskpd[0]}-{program.kodesubkegiatan[0]}"
    with engine.connect() as conn:
        row = conn.execute(text("SELECT nama_skpd, pagu_rp, tanggal_selesai::text FROM programmes WHERE kode = :k"),
                           {"k": kode}).one()
        target = conn.execute(text("SELECT target FROM programme_indicators WHERE programme_kode = :k AND "
                                   "periode = :p AND wilayah_kode IS NOT DISTINCT FROM :w"),
                              {"k": kode, "p": tables["indikator"].periode[0],
                               "w": tables["indikator"].kodewilayah[0]}).scalar()
    assert tuple(row) == ("Dinas Pekerjaan Umum – Bidang Bina Marga", 1_250_000_000, "2040-11-30")
    assert target == 2.5


def test_the_cli_reads_a_column_map_and_refuses_a_bad_one(engine, settings, tmp_path):
    tables = synthetic_tables(3, 3, 13, "12.75", 2042)
    path = tmp_path / "sipd.xlsx"
    with pd.ExcelWriter(path) as writer:
        for name, frame in tables.items():
            frame.rename(columns={"namaskpd": "Nama OPD"}).to_excel(writer, sheet_name=name, index=False)
    good, broken, wrong = tmp_path / "kolom.json", tmp_path / "rusak.json", tmp_path / "salah.json"
    good.write_text(json.dumps({"nama_skpd": "Nama OPD"}))
    broken.write_text('{"nama_skpd": ')
    wrong.write_text(json.dumps({"nama_dinas": "Nama OPD"}))
    done = _cli(settings, "import", str(path), "--city", "12.75", "--column-map", str(good))
    assert done.exit_code == 0 and "programmes 3 new" in done.output, done.output
    for bad, message in ((broken, "is not valid JSON"), (wrong, "'nama_dinas' is not a column of the layout")):
        result = _cli(settings, "import", str(path), "--city", "12.75", "--column-map", str(bad))
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
