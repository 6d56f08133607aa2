"""Every kind of bad row in a programme file is refused with its stable code, its sheet and row number and its
programme, and nothing at all is written."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text

from gis.data.programmes import import_programmes, long_table
from layers.programmes import programme_kode
from layers.sample.programmes import synthetic_tables
from tests.test_programme_import import _no_test_programmes_left  # noqa: F401  (the fixture, autouse)

YEAR = 2036
SUB = "kodesubkegiatan"


def _tables() -> dict[str, pd.DataFrame]:
    return {k: v.astype(object) for k, v in synthetic_tables(4, 8, 11, "12.75", YEAR).items()}


def _write_xlsx(tables, path):
    with pd.ExcelWriter(path) as writer:
        for name, frame in tables.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return path


def _set(sheet: str, row: int, column: str, value):
    def change(t):
        t[sheet].loc[row, column] = value
    return change


def _first_location_of(t, n: int) -> int:
    return int(t["lokasi"].index[t["lokasi"][SUB] == t["program"][SUB][n]][0])


def _duplicate_programme(t):
    t["program"] = pd.concat([t["program"], t["program"].iloc[[1]]], ignore_index=True)


def _duplicate_indicator(t):
    t["indikator"] = pd.concat([t["indikator"], t["indikator"].iloc[[0]]], ignore_index=True)


def _located(column: str, value):
    def change(t):
        t["lokasi"].loc[0, column] = value
    return change


# (problem code, change, sheet, spreadsheet row, column)
CASES = [
    ("missing_value", _set("program", 0, "namaprogram", ""), "program", 2, "namaprogram"),
    ("bad_year", _set("program", 1, "tahun", "2O26"), "program", 3, "tahun"),
    ("bad_number", _set("program", 2, "pagu", "satu miliar"), "program", 4, "pagu"),
    ("bad_number", _set("indikator", 3, "target", "sepuluh"), "indikator", 5, "target"),
    ("bad_date", _set("program", 0, "tanggalmulai", "2036-02-30"), "program", 2, "tanggalmulai"),
    ("bad_code", _set("program", 1, "kodeskpd", "1.03-A"), "program", 3, "kodeskpd"),
    ("bad_code", _set("program", 2, "kodekegiatan", "9.99.99.2.01"), "program", 4, "kodekegiatan"),
    ("bad_value", _set("indikator", 1, "sumber", "survei"), "indikator", 3, "sumber"),
    ("bad_value", _set("program", 3, "publik", "mungkin"), "program", 5, "publik"),
    ("bad_period", _set("indikator", 2, "periode", f"{YEAR - 1}-T1"), "indikator", 4, "periode"),
    ("bad_period", _set("indikator", 2, "periode", "triwulan satu"), "indikator", 4, "batasperiode"),
    ("negative_target", _set("indikator", 0, "target", "-5"), "indikator", 2, "target"),
    ("end_before_start", _set("program", 1, "tanggalselesai", f"{YEAR - 1}-12-31"), "program", 3, "tanggalselesai"),
    ("wrong_city", _set("program", 0, "kodepemda", "12.07"), "program", 2, "kodepemda"),
    ("unknown_project", _set("program", 2, "kodeproyek", "kawasan-lain"), "program", 4, "kodeproyek"),
    ("duplicate_programme", _duplicate_programme, "program", 3, None),
    ("duplicate_indicator", _duplicate_indicator, "indikator", None, None),
    ("orphan_indicator", _set("indikator", 1, SUB, "1.01.02.2.01.9999"), "indikator", 3, None),
    ("orphan_location", _located(SUB, "1.01.02.2.01.9999"), "lokasi", 2, None),
    ("bad_geometry", _located("wkt", "POLYGON ((98.5 3.6, 98.51 3.61, 98.5 3.61, 98.51 3.6, 98.5 3.6))"),
     "lokasi", 2, "wkt"),
    ("bad_geometry", _located("wkt", "POINT (98.5"), "lokasi", 2, "wkt"),
    ("bad_geometry", _located("wkt", "POINT (445000 398000)"), "lokasi", 2, "wkt"),
    ("outside_city", _located("wkt", "POINT (106.8272 -6.1754)"), "lokasi", 2, "wkt"),
    ("unknown_wilayah", _located("kodekelurahan", "12.75.09.1001"), "lokasi", 2, "kodekelurahan"),
    ("unknown_wilayah", _set("indikator", 0, "kodewilayah", "12.71.01"), "indikator", 2, "kodewilayah"),
    ("wilayah_mismatch", lambda t: (_located("kodekelurahan", "12.75.01.1001")(t),
                                    _located("kodekecamatan", "12.75.02")(t)), "lokasi", 2, "kodekecamatan"),
    ("missing_column", lambda t: t.update(program=t["program"].drop(columns="namaskpd")), "program", 1,
     "namaskpd"),
]


def _state(engine) -> tuple:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT (SELECT count(*) FROM feature_history), (SELECT count(*) FROM programmes WHERE tahun = :y), "
            "(SELECT count(*) FROM programme_points) + (SELECT count(*) FROM programme_lines) "
            "+ (SELECT count(*) FROM programme_areas)"), {"y": YEAR}).one()


@pytest.mark.parametrize(("code", "change", "sheet", "row", "column"), CASES,
                         ids=[f"{c[0]}-{c[4] or c[2]}-{i}" for i, c in enumerate(CASES)])
def test_a_bad_row_is_refused_with_its_code_and_row_and_nothing_is_written(engine, tmp_path, code, change, sheet,
                                                                          row, column):
    tables = _tables()
    change(tables)
    before = _state(engine)
    report = import_programmes(engine, _write_xlsx(tables, tmp_path / "renja.xlsx"), "12.75", by="uji")
    assert not report.ok
    found = [p for p in report.problems if p.code == code]
    assert found, [str(p) for p in report.problems]
    problem = found[0]
    assert problem.sheet == sheet and problem.column == column
    if row is not None:
        assert row in problem.rows
    if code == "duplicate_indicator":
        assert problem.rows == (len(tables["indikator"]) + 1,) and "also on row 2" in problem.message
    key_broken = column in ("tahun", "kodeskpd")  # the programme has no key: its indicators and locations none
    if code != "missing_column" and not key_broken:
        assert problem.programme.startswith(f"{YEAR}-")
    extra = {"orphan_indicator", "orphan_location"} if key_broken else set()
    assert {p.code for p in report.problems} - extra == {code}, [str(p) for p in report.problems]
    assert _state(engine) == before


def test_every_bad_row_is_listed_at_once(engine, tmp_path):
    tables = _tables()
    for change in (_set("program", 0, "pagu", "-1"), _set("indikator", 5, "target", "-2"),
                   _located("wkt", "LINESTRING (98.5 3.6)")):
        change(tables)
    before = _state(engine)
    report = import_programmes(engine, _write_xlsx(tables, tmp_path / "renja.xlsx"), "12.75", by="uji")
    assert [(p.sheet, p.rows, p.code) for p in report.problems] == [
        ("indikator", (7,), "negative_target"), ("lokasi", (2,), "bad_geometry"), ("program", (2,), "bad_number")]
    assert report.to_dict()["problem_counts"] == {"negative_target": 1, "bad_geometry": 1, "bad_number": 1}
    assert _state(engine) == before


def test_rows_of_one_programme_that_disagree_are_refused_in_the_long_form(engine, tmp_path):
    frame = long_table(_tables()).astype(object)
    kode = frame[SUB].iloc[0]
    rows = frame.index[frame[SUB] == kode]
    frame.loc[rows[2], "namaskpd"] = "Dinas Lain"
    path = tmp_path / "renja.csv"
    frame.to_csv(path, index=False)
    before = _state(engine)
    report = import_programmes(engine, path, "12.75", by="uji")
    (problem,) = report.problems
    assert problem.code == "conflicting_programme" and problem.rows == (rows[0] + 2, rows[2] + 2)
    assert problem.column == "namaskpd" and problem.programme.endswith(kode) and problem.sheet is None
    assert _state(engine) == before
    # the same rows agreeing again, and codes with leading zeros and dots, import as text
    frame.loc[rows[2], "namaskpd"] = frame.loc[rows[0], "namaskpd"]
    frame.to_csv(path, index=False)
    assert import_programmes(engine, path, "12.75", by="uji", dry_run=True).ok


def test_the_same_sipd_codes_in_another_city_do_not_clash(engine, tmp_path):
    """SIPD codes repeat in every local government: Deli Serdang's Dinas PUPR sub-activity and Binjai's are two
    programmes."""
    tables = _tables()
    kodeskpd, sub = tables["program"].kodeskpd[0], tables["program"][SUB][0]
    other = programme_kode("12.07", YEAR, kodeskpd, sub)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO programmes (kode, kabkota, tahun, kodeskpd, nama_skpd, kodeprogram, nama_program, "
            "kodekegiatan, nama_kegiatan, kodesubkegiatan, nama_subkegiatan) SELECT :k, '12.07', :y, :s, 'x', "
            "'1', 'x', '1.1', 'x', :sub, 'x'"), {"k": other, "y": YEAR, "s": kodeskpd, "sub": sub})
    try:
        report = import_programmes(engine, _write_xlsx(tables, tmp_path / "renja.xlsx"), "12.75", by="uji")
        assert report.ok, [str(p) for p in report.problems]
        with engine.connect() as conn:
            held = dict(conn.execute(text(
                "SELECT kabkota, nama_skpd FROM programmes "
                "WHERE tahun = :y AND kodeskpd = :s AND kodesubkegiatan = :sub"),
                {"y": YEAR, "s": kodeskpd, "sub": sub}).all())
        assert set(held) == {"12.07", "12.75"} and held["12.07"] == "x"
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM programmes WHERE kode = :k"), {"k": other})


def test_in_the_long_form_a_repeated_indicator_row_counts_once_and_a_different_one_is_refused(engine, tmp_path):
    frame = long_table(_tables()).astype(object)
    indicator_row = frame.index[frame.kodeindikator.notna()][0]
    repeated = pd.concat([frame, frame.loc[[indicator_row]]], ignore_index=True)
    path = tmp_path / "renja.csv"
    repeated.to_csv(path, index=False)
    report = import_programmes(engine, path, "12.75", by="uji", dry_run=True)
    assert report.ok and report.indicators["inserted"] == frame.kodeindikator.notna().sum()
    repeated.loc[len(repeated) - 1, "target"] = 999
    repeated.to_csv(path, index=False)
    (problem,) = import_programmes(engine, path, "12.75", by="uji").problems
    assert problem.code == "duplicate_indicator" and problem.rows == (len(repeated) + 1,)
    assert f"also on row {indicator_row + 2}" in problem.message


def test_a_file_that_is_no_spreadsheet_is_refused_in_a_sentence(engine, tmp_path):
    from gis.core.errors import InvalidInput

    fake = tmp_path / "renja.xlsx"
    fake.write_text("bukan spreadsheet")
    with pytest.raises(InvalidInput, match="renja.xlsx cannot be read as XLSX"):
        import_programmes(engine, fake, "12.75", by="uji")
    other = tmp_path / "renja.ods"
    other.write_text("x")
    with pytest.raises(InvalidInput, match="give a .csv or .xlsx file"):
        import_programmes(engine, other, "12.75", by="uji")
    with pytest.raises(InvalidInput, match="no such file"):
        import_programmes(engine, tmp_path / "tidak-ada.csv", "12.75", by="uji")
