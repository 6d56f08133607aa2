"""ITBX tables read from real CSV and XLSX files, long and wide (Perda appendix) form, with each problem found at
its row; the long-form export read back gives the same table."""

import pytest
from openpyxl import Workbook

from gis.data.itbx_files import COLUMNS, read_itbx, write_itbx_csv
from gis.data.rdtr_files import PackageError


def records(df):
    assert list(df.columns) == COLUMNS
    return [tuple(r) for r in df.itertuples(index=False)]


def write_xlsx(path, rows, formats=None):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for ref, fmt in (formats or {}).items():
        sheet[ref].number_format = fmt
    book.save(path)


def test_long_csv_comma_utf8(tmp_path):
    path = tmp_path / "itbx.csv"
    path.write_text("KODSZN,KBLI,KEGIATAN,KETENTUAN,SYARAT\n"
                    "R-3,01111,,X,\n"
                    "R-3,,Warung makan,T,Luas lantai paling banyak 50 m²\n"
                    'K-1,56101,"Restoran, rumah makan",I,\n'
                    "KPI,10750,Industri makanan olahan,t1,\n"
                    ",,,,\n"
                    "P-1,10,,b,Kajian dampak lalu lintas\n", encoding="utf-8")
    df, problems = read_itbx(path)
    assert problems == []
    assert records(df) == [
        ("R-3", "01111", None, "X", None),
        ("R-3", None, "Warung makan", "T", "Luas lantai paling banyak 50 m²"),
        ("K-1", "56101", "Restoran, rumah makan", "I", None),
        ("KPI", "10750", "Industri makanan olahan", "T", "T1"),
        ("P-1", "10", None, "B", "Kajian dampak lalu lintas"),
    ]


def test_long_csv_semicolon_crlf_with_bom_and_lower_case_header(tmp_path):
    path = tmp_path / "itbx.csv"
    path.write_bytes("kodszn;Kbli;kegiatan;Ketentuan\r\nK-2;47111;Minimarket;I\r\nR-2;55110;Hotel bintang;X\r\n"
                     .encode("utf-8-sig"))  # as a spreadsheet on Windows saves it
    df, problems = read_itbx(path)
    assert problems == []
    assert records(df) == [("K-2", "47111", "Minimarket", "I", None), ("R-2", "55110", "Hotel bintang", "X", None)]


def test_long_form_problems_each_at_its_row(tmp_path):
    path = tmp_path / "itbx.csv"
    path.write_text("KODSZN,KBLI,KEGIATAN,KETENTUAN,SYARAT\n"
                    "R-1,47111,Minimarket,I,\n"       # 1
                    "R-1,47111,MINIMARKET,T,\n"       # 2 duplicate of 1 (activity names are case-insensitive)
                    "R-1,47112,Supermarket,Z,\n"      # 3 unknown letter
                    "R-1,10A50,Roti,I,\n"             # 4 bad KBLI
                    "R-1,123456,,I,\n"                # 5 six digits
                    "R-2,,,I,\n"                      # 6 no KBLI nor KEGIATAN
                    "R-2,68111,Rumah susun,,\n"       # 7 empty ketentuan
                    "R-2,68111,Rumah susun,B,Rekomendasi\n")  # 8 fine
    df, problems = read_itbx(path)
    assert records(df) == [("R-1", "47111", "Minimarket", "I", None),
                           ("R-2", "68111", "Rumah susun", "B", "Rekomendasi")]
    found = sorted((p["row"], p["code"]) for p in problems)
    assert found == [(2, "itbx_duplicate_row"), (3, "itbx_unknown_ketentuan"), (4, "itbx_bad_kbli"),
                     (5, "itbx_bad_kbli"), (6, "itbx_missing_column"), (7, "itbx_unknown_ketentuan")]
    assert all(p["severity"] == "error" and p["message"]["id"] and p["message"]["en"] for p in problems)
    duplicate = next(p for p in problems if p["code"] == "itbx_duplicate_row")
    assert duplicate["first_row"] == 1 and "row 1" in duplicate["message"]["en"]
    assert "'Z'" in next(p for p in problems if p["row"] == 3)["message"]["en"]


def test_missing_columns(tmp_path):
    path = tmp_path / "itbx.csv"
    path.write_text("KODSZN,KBLI,KEGIATAN\nR-1,47111,Minimarket\n")
    df, problems = read_itbx(path)
    assert df.empty and list(df.columns) == COLUMNS
    assert [(p["code"], p["column"]) for p in problems] == [("itbx_missing_column", "KETENTUAN")]
    path.write_text("ZONA,AKTIVITAS\nR-1,Minimarket\n")
    _, problems = read_itbx(path)
    assert [p["code"] for p in problems] == ["itbx_missing_column"]


def test_long_xlsx_keeps_codes_as_text(tmp_path):
    path = tmp_path / "itbx.xlsx"
    write_xlsx(path, [["Lampiran ITBX RDTR Kota Binjai"], [],
                      ["KODSZN", "KBLI", "KEGIATAN", "KETENTUAN", "SYARAT"],
                      ["KPI", 1071, "Industri roti", "I", None],        # a number cell: stays "1071"
                      ["P-1", 1111, "Pertanian jagung", "I", None],     # shown as 01111 by its format
                      ["R-3", "01112", "Pertanian gandum", "X", None],
                      ["R-3", 10750.0, None, "B", "B2"]],
               formats={"B5": "00000"})
    df, problems = read_itbx(path)
    assert problems == []
    assert records(df) == [("KPI", "1071", "Industri roti", "I", None),
                           ("P-1", "01111", "Pertanian jagung", "I", None),
                           ("R-3", "01112", "Pertanian gandum", "X", None),
                           ("R-3", "10750", None, "B", "B2")]


WIDE = [["NO", "KEGIATAN", "KBLI", "R-1", "K-1", "P-1"],
        ["", "A. Perdagangan", "", "", "", ""],                 # 1 a section heading: no row
        ["1", "Minimarket", "47111", "T1", "I", "X"],           # 2
        ["2", "Hotel bintang", "55110", "-", "I", "x"],         # 3
        ["3", "Rumah sakit swasta", "86103", "B2", "Q", ""],     # 4 Q unknown in K-1
        ["4", "Minimarket", "47111", "T", "", ""],              # 5 duplicate of row 2 in R-1
        ["5", "Industri kayu", "16A01", "X", "X", "X"]]          # 6 bad KBLI


def check_wide(df, problems):
    assert records(df) == [("R-1", "47111", "Minimarket", "T", "T1"), ("K-1", "47111", "Minimarket", "I", None),
                           ("P-1", "47111", "Minimarket", "X", None), ("K-1", "55110", "Hotel bintang", "I", None),
                           ("P-1", "55110", "Hotel bintang", "X", None),
                           ("R-1", "86103", "Rumah sakit swasta", "B", "B2")]
    found = sorted((p["row"], p.get("column"), p["code"]) for p in problems)
    assert found == [(4, "K-1", "itbx_unknown_ketentuan"), (5, "R-1", "itbx_duplicate_row"),
                     (6, "KBLI", "itbx_bad_kbli")]


def test_wide_form_xlsx_and_csv(tmp_path):
    write_xlsx(tmp_path / "matriks.xlsx", WIDE)
    check_wide(*read_itbx(tmp_path / "matriks.xlsx"))
    (tmp_path / "matriks.csv").write_text("\n".join(";".join(r) for r in WIDE) + "\n", encoding="utf-8-sig")
    check_wide(*read_itbx(tmp_path / "matriks.csv"))


def test_wide_form_with_activities_only(tmp_path):
    path = tmp_path / "matriks.csv"
    path.write_text("Kegiatan,R-2,KPI\nGudang,X,I\n,I,\n")
    df, problems = read_itbx(path)
    assert records(df) == [("R-2", None, "Gudang", "X", None), ("KPI", None, "Gudang", "I", None)]
    assert [(p["code"], p["row"]) for p in problems] == [("itbx_missing_column", 2)]


def test_export_round_trip(tmp_path):
    write_xlsx(tmp_path / "matriks.xlsx", WIDE)
    df, _ = read_itbx(tmp_path / "matriks.xlsx")
    df.loc[0, "syarat"] = 'Syarat "khusus"; luas, tinggi'
    write_itbx_csv(df, tmp_path / "itbx.csv")
    assert (tmp_path / "itbx.csv").read_text().startswith("KODSZN,KBLI,KEGIATAN,KETENTUAN,SYARAT\n")
    again, problems = read_itbx(tmp_path / "itbx.csv")
    assert problems == []
    assert records(again) == records(df)


def test_unreadable_tables(tmp_path):
    (tmp_path / "rusak.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(PackageError) as err:
        read_itbx(tmp_path / "rusak.xlsx")
    assert err.value.code == "unreadable" and "rusak.xlsx" in err.value.detail
    (tmp_path / "itbx.pdf").write_bytes(b"%PDF")
    with pytest.raises(PackageError, match="CSV or XLSX"):
        read_itbx(tmp_path / "itbx.pdf")
