"""Reading a plan's ITBX table (zoning regulation: activity x sub-zone -> I/T/B/X) from CSV or XLSX, and writing
it back in the long form.

Long form: columns KODSZN, KBLI, KEGIATAN, KETENTUAN, SYARAT (any case; SYARAT optional; KBLI or KEGIATAN may be
empty in a row, not both). Wide form, as in a Perda appendix: one row per activity (a KEGIATAN column and/or a
KBLI column), every other column a sub-zone code, cells I/T/B/X or `T1`, `B2` (ketentuan T, syarat "T1"); an
empty or `-` cell means no row; a column named NO/NOMOR is the appendix's numbering and is ignored. The header
is the first row naming KODSZN, KEGIATAN or KBLI (title rows above it are skipped). KBLI codes are read as text:
leading zeros are kept.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from gis.data.rdtr_files import PackageError

COLUMNS = ["kodszn", "kbli", "kegiatan", "ketentuan", "syarat"]
KETENTUAN = {"I": ("diizinkan", "permitted"), "T": ("terbatas", "limited"), "B": ("bersyarat", "conditional"),
             "X": ("tidak diizinkan", "not permitted")}
_CELL = re.compile(r"^([ITBX])\s*[-.]?\s*(\d*)$")
_KBLI = re.compile(r"^\d{2,5}$")
_NUMBERING = {"NO", "NO.", "NOMOR", "NOMER"}
_EMPTY = {"", "-", "–", "—"}


def read_itbx(path) -> tuple[pd.DataFrame, list[dict]]:
    """The ITBX rows (columns `COLUMNS`) and the problems found (severity error, with the 1-based data row)."""
    path = Path(path)
    rows = _read_rows(path)
    header_at = next((i for i, r in enumerate(rows[:30])
                      if {_norm(c) for c in r} & {"KODSZN", "KEGIATAN", "KBLI"}), 0)
    header = [_norm(c) for c in rows[header_at]] if rows else []
    data = rows[header_at + 1:]
    if "KETENTUAN" in header or "KODSZN" in header:
        records, problems = _long(header, data)
    elif "KEGIATAN" in header or "KBLI" in header:
        records, problems = _wide(header, data)
    else:
        records, problems = [], [_problem(
            "itbx_missing_column", f"{path.name}: tidak ada kolom KODSZN/KETENTUAN (bentuk panjang) atau KEGIATAN "
            "(bentuk matriks)", f"{path.name}: no KODSZN/KETENTUAN columns (long form) nor a KEGIATAN column "
            "(wide form); expected KODSZN,KBLI,KEGIATAN,KETENTUAN,SYARAT", column="KODSZN")]
    records, duplicates = _drop_duplicates(records)
    frame = pd.DataFrame([r for r, _ in records], columns=COLUMNS, dtype=object)
    return frame.where(frame.notna(), None), problems + duplicates


def write_itbx_csv(df: pd.DataFrame, path) -> None:
    """The table in the long form (UTF-8, comma-separated), as read_itbx reads it back."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([c.upper() for c in COLUMNS])
        for row in df[COLUMNS].itertuples(index=False):
            writer.writerow(["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in row])


def _problem(code: str, message_id: str, message_en: str, **details) -> dict:
    return {"code": code, "severity": "error", "message": {"id": message_id, "en": message_en}, "features": [],
            "location": None, **details}


def _norm(value) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip().upper()


def _text(value) -> str | None:
    text = re.sub(r"\s+", " ", str(value)).strip() if value is not None else ""
    return text or None


def _read_rows(path: Path) -> list[list]:
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            return _xlsx_rows(path)
        if path.suffix.lower() in (".csv", ".txt"):
            return _csv_rows(path)
    except PackageError:
        raise
    except Exception as e:  # openpyxl / csv say what is wrong with the file
        raise PackageError("unreadable", f"tabel ITBX {path.name} tidak dapat dibaca: {e}",
                           f"the ITBX table {path.name} cannot be read: {e}") from e
    raise PackageError("unreadable", f"tabel ITBX {path.name}: gunakan CSV atau XLSX",
                       f"the ITBX table {path.name} must be a CSV or XLSX file")


def _csv_rows(path: Path) -> list[list]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # saved by an older spreadsheet in the Windows code page
        text = raw.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _xlsx_rows(path: Path) -> list[list]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = next((s for s in book.worksheets if s.title.strip().upper() == "ITBX"), book.worksheets[0])
        return [[_cell_text(c) for c in row] for row in sheet.iter_rows()]
    finally:
        book.close()


def _cell_text(cell) -> str | None:
    value = getattr(cell, "value", None)
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        if float(value).is_integer():
            text = str(int(value))
            fmt = getattr(cell, "number_format", "") or ""
            # a code column formatted "00000" shows (and means) its leading zeros
            return text.zfill(len(fmt)) if fmt and set(fmt) == {"0"} else text
        return str(value)
    return str(value)


def _kbli(value, row: int, column: str | None, problems: list) -> tuple[bool, str | None]:
    text = _text(value)
    if text is None:
        return True, None
    text = re.sub(r"\.0$", "", text)
    if _KBLI.match(text):
        return True, text
    problems.append(_problem(
        "itbx_bad_kbli", f"baris {row}: kode KBLI {text!r} tidak sah (2-5 digit, mis. 10750)",
        f"row {row}: KBLI code {text!r} is not valid (2 to 5 digits, e.g. 10750)", row=row, value=text,
        **({"column": column} if column else {})))
    return False, None


def _ketentuan(value, row: int, column: str | None, problems: list) -> tuple[str, str | None] | None:
    text = _norm(value)
    m = _CELL.match(text)
    if m:
        return m.group(1), (m.group(1) + m.group(2)) if m.group(2) else None
    where = f"baris {row}" + (f", kolom {column}" if column else "")
    where_en = f"row {row}" + (f", column {column}" if column else "")
    problems.append(_problem(
        "itbx_unknown_ketentuan", f"{where}: ketentuan {text!r} bukan I, T, B atau X",
        f"{where_en}: ketentuan {text!r} is not one of I, T, B, X", row=row, value=text,
        **({"column": column} if column else {})))
    return None


def _at(row: list, i: int | None):
    return row[i] if i is not None and i < len(row) else None


def _long(header: list[str], data: list[list]) -> tuple[list, list[dict]]:
    missing = [c for c in ("KODSZN", "KETENTUAN") if c not in header]
    if "KBLI" not in header and "KEGIATAN" not in header:
        missing.append("KBLI/KEGIATAN")
    if missing:
        return [], [_problem("itbx_missing_column", f"tabel ITBX tanpa kolom {', '.join(missing)}",
                             f"the ITBX table has no {', '.join(missing)} column; expected "
                             "KODSZN,KBLI,KEGIATAN,KETENTUAN,SYARAT", column=", ".join(missing))]
    at = {name: header.index(name) for name in ("KODSZN", "KBLI", "KEGIATAN", "KETENTUAN", "SYARAT")
          if name in header}

    def cell(row, name):
        return _at(row, at.get(name))

    records, problems = [], []
    for n, row in enumerate(data, start=1):
        if all(_text(v) is None for v in row):
            continue
        kodszn, kegiatan, syarat = _text(cell(row, "KODSZN")), _text(cell(row, "KEGIATAN")), _text(cell(row, "SYARAT"))
        ok, kbli = _kbli(cell(row, "KBLI"), n, None, problems)
        verdict = _ketentuan(cell(row, "KETENTUAN"), n, None, problems)
        empty = [c for c, v in (("KODSZN", kodszn), ("KBLI/KEGIATAN", kbli or kegiatan)) if v is None and ok]
        for c in empty:
            problems.append(_problem("itbx_missing_column", f"baris {n}: {c} kosong", f"row {n}: {c} is empty",
                                     row=n, column=c))
        if ok and verdict and not empty:
            records.append(({"kodszn": kodszn, "kbli": kbli, "kegiatan": kegiatan, "ketentuan": verdict[0],
                             "syarat": syarat or verdict[1]}, {"row": n}))
    return records, problems


def _wide(header: list[str], data: list[list]) -> tuple[list, list[dict]]:
    kegiatan_at = header.index("KEGIATAN") if "KEGIATAN" in header else None
    kbli_at = header.index("KBLI") if "KBLI" in header else None
    zones = [(i, name) for i, name in enumerate(header)
             if i not in (kegiatan_at, kbli_at) and name and name not in _NUMBERING]
    if not zones:
        return [], [_problem("itbx_missing_column", "matriks ITBX tanpa kolom subzona",
                             "the ITBX matrix has no sub-zone columns (one column per KODSZN after KEGIATAN)",
                             column="KODSZN")]
    records, problems = [], []
    for n, row in enumerate(data, start=1):
        cells = [(i, name, _text(_at(row, i))) for i, name in zones]
        cells = [(i, name, v) for i, name, v in cells if v is not None and v not in _EMPTY]
        if not cells:
            continue  # a section heading or a blank line of the appendix
        kegiatan = _text(_at(row, kegiatan_at))
        ok, kbli = _kbli(_at(row, kbli_at), n, "KBLI", problems)
        if ok and kbli is None and kegiatan is None:
            problems.append(_problem("itbx_missing_column", f"baris {n}: KEGIATAN dan KBLI kosong",
                                     f"row {n}: both KEGIATAN and KBLI are empty", row=n, column="KEGIATAN"))
            continue
        for _, name, value in cells:
            verdict = _ketentuan(value, n, name, problems)
            if ok and verdict:
                records.append(({"kodszn": name, "kbli": kbli, "kegiatan": kegiatan, "ketentuan": verdict[0],
                                 "syarat": verdict[1]}, {"row": n, "column": name}))
    return records, problems


def _drop_duplicates(records: list) -> tuple[list, list[dict]]:
    seen: dict[tuple, int] = {}
    kept, problems = [], []
    for record, where in records:
        key = (record["kodszn"].upper(), record["kbli"], (record["kegiatan"] or "").casefold())
        if key in seen:
            what = " ".join(v for v in (record["kbli"], record["kegiatan"]) if v)
            problems.append(_problem(
                "itbx_duplicate_row", f"baris {where['row']}: {record['kodszn']} / {what} sudah ada di baris "
                f"{seen[key]}", f"row {where['row']}: {record['kodszn']} / {what} already given in row {seen[key]}",
                first_row=seen[key], **where))
            continue
        seen[key] = where["row"]
        kept.append((record, where))
    return kept, problems
