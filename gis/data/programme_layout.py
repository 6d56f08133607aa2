"""The programme file layout (a SIPD-style Renja export; docs/programmes-import.md): its columns, how a file's
tables and cells are read (codes stay text, Indonesian number and date writing accepted) and the problems a file
can have, each with a stable code. No database: programme_files.py checks a file with these."""

from __future__ import annotations

import math
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from gis.core.errors import InvalidInput

KEY = ("tahun", "kodeskpd", "kodesubkegiatan")  # a programme's key in every sheet / row


@dataclass(frozen=True)
class Column:
    name: str  # as the file writes it (matched ignoring case, spaces and underscores)
    part: str  # program | indikator | lokasi
    kind: str  # text | code | year | rupiah | number | date | bool | choice | wkt
    db: str | None  # the table column it fills (None: read into another, e.g. lon/lat -> geometry)
    required: bool
    meaning: str
    sipd: str  # where SIPD (or the office) has it


COLUMNS: tuple[Column, ...] = (
    Column("kodepemda", "program", "code", "kodepemda", False, "local government code; checked against --city",
           "kode pemda"),
    Column("tahun", "program", "year", "tahun", True, "budget year", "tahun anggaran"),
    Column("kodeskpd", "program", "code", "kodeskpd", True, "agency (OPD) code", "kode SKPD"),
    Column("namaskpd", "program", "text", "nama_skpd", True, "agency (OPD) name", "nama SKPD"),
    Column("kodeprogram", "program", "code", "kodeprogram", True, "programme code (Permendagri 90/2019)",
           "kode program"),
    Column("namaprogram", "program", "text", "nama_program", True, "programme name", "nama program"),
    Column("kodekegiatan", "program", "code", "kodekegiatan", True, "activity code: the programme code and more",
           "kode kegiatan"),
    Column("namakegiatan", "program", "text", "nama_kegiatan", True, "activity name", "nama kegiatan"),
    Column("kodesubkegiatan", "program", "code", "kodesubkegiatan", True,
           "sub-activity code: the activity code and more", "kode sub kegiatan"),
    Column("namasubkegiatan", "program", "text", "nama_subkegiatan", True, "sub-activity name",
           "nama sub kegiatan"),
    Column("pagu", "program", "rupiah", "pagu_rp", False, "budget, whole rupiah", "pagu (DPA)"),
    Column("realisasi", "program", "rupiah", "realisasi_rp", False, "spending so far, whole rupiah",
           "realisasi anggaran (SIPD-RI / SP2D)"),
    Column("tanggalmulai", "program", "date", "tanggal_mulai", False, "planned start", "jadwal pelaksanaan"),
    Column("tanggalselesai", "program", "date", "tanggal_selesai", False, "planned end", "jadwal pelaksanaan"),
    Column("kodeproyek", "program", "text", "project_slug", False, "PetaKota project it monitors (e.g. the "
           "estate's land acquisition)", "office"),
    Column("publik", "program", "bool", "publik", False, "shown on the public dashboard (ya/tidak; default ya)",
           "office"),
    Column("catatan", "program", "text", "catatan", False, "internal note (never public)", "office"),
    Column("kodeindikator", "indikator", "text", "kode", True, "indicator code", "kode indikator / tolok ukur"),
    Column("namaindikator", "indikator", "text", "nama", True, "indicator", "indikator / tolok ukur kinerja"),
    Column("satuan", "indikator", "text", "satuan", True, "unit (unit, ha, km, %, kelurahan...)", "satuan"),
    Column("periode", "indikator", "text", "periode", True, "2026, 2026-S1..S2 or 2026-T1..T4 (or any text "
           "with batasperiode)", "target triwulan / semester"),
    Column("batasperiode", "indikator", "date", "batas_periode", False, "end of the period; derived from a "
           "standard periode when empty", "target triwulan / semester"),
    Column("target", "indikator", "number", "target", True, "target for the period (0 or more)", "target"),
    Column("realisasiindikator", "indikator", "number", "realisasi", False, "realisation reported so far",
           "realisasi / capaian"),
    Column("kodewilayah", "indikator", "code", "wilayah_kode", False, "kecamatan or kelurahan/desa the target "
           "is for (Kemendagri code); empty: the whole city", "lokasi (kecamatan / kelurahan)"),
    Column("sumber", "indikator", "choice", "sumber", False, "laporan (default), project_parcels or "
           "business_centers: where the realisation comes from", "office"),
    Column("namalokasi", "lokasi", "text", "nama", True, "location name", "lokasi"),
    Column("kodekecamatan", "lokasi", "code", "kecamatan_kode", False, "kecamatan code; found from the geometry "
           "when empty", "lokasi"),
    Column("kodekelurahan", "lokasi", "code", "kelurahan_kode", False, "kelurahan/desa code; found from the "
           "geometry when empty", "lokasi"),
    Column("keteranganlokasi", "lokasi", "text", "keterangan", False, "description of the location", "lokasi"),
    Column("wkt", "lokasi", "wkt", None, False, "geometry as WKT in EPSG:4326 (POINT, LINESTRING, POLYGON or "
           "their MULTI forms); or lon + lat for a point", "koordinat (WGS84)"),
    Column("lon", "lokasi", "number", None, False, "longitude of a point (EPSG:4326)", "koordinat (WGS84)"),
    Column("lat", "lokasi", "number", None, False, "latitude of a point (EPSG:4326)", "koordinat (WGS84)"),
)
BY_NAME = {c.name: c for c in COLUMNS}
PART_COLUMNS = {part: [c.name for c in COLUMNS if c.part == part] for part in ("program", "indikator", "lokasi")}
SHEETS = ("program", "indikator", "lokasi")  # the XLSX layout's sheets
CODES = {
    "missing_column": "a required column is not in the file (or sheet)",
    "missing_value": "a required cell is empty",
    "bad_year": "tahun is not a year (2000-2100)",
    "bad_number": "a number cell is not a number (or a rupiah cell not a whole, non-negative amount)",
    "bad_date": "a date cell is not a date (YYYY-MM-DD or DD/MM/YYYY)",
    "bad_code": "a code is not digits and dots, or a kegiatan / subkegiatan code does not extend its parent's",
    "bad_value": "a yes/no or choice cell has another value",
    "bad_period": "periode is not understood and has no batasperiode, or is of another year",
    "negative_target": "target below 0",
    "end_before_start": "tanggalselesai before tanggalmulai",
    "wrong_city": "kodepemda is not the city imported into",
    "duplicate_programme": "the same programme key twice in the program sheet",
    "conflicting_programme": "rows of one programme disagree on its columns (long form)",
    "orphan_indicator": "an indicator row whose programme is not in the file",
    "orphan_location": "a location row whose programme is not in the file",
    "duplicate_indicator": "the same indicator, period and wilayah twice for a programme",
    "bad_geometry": "no, unreadable, invalid or unsupported geometry, or not lon/lat",
    "outside_city": "a location lies outside the city",
    "unknown_wilayah": "a kecamatan / kelurahan code the city does not have",
    "wilayah_mismatch": "a kelurahan code not in the location's kecamatan code",
    "unknown_project": "kodeproyek names no project of the city",
}


@dataclass(frozen=True)
class Problem:
    code: str  # one of CODES
    message: str
    rows: tuple[int, ...] = ()  # as a spreadsheet numbers them: the header is row 1
    sheet: str | None = None
    programme: str | None = None  # the programme's kode, when known
    column: str | None = None

    def to_dict(self) -> dict:
        return {"code": self.code, "sheet": self.sheet, "rows": list(self.rows), "programme": self.programme,
                "column": self.column, "message": self.message}

    def __str__(self) -> str:
        where = f"{self.sheet + ' ' if self.sheet else ''}row {', '.join(map(str, self.rows))}" if self.rows \
            else (self.sheet or "file")
        what = f" [{self.programme}]" if self.programme else ""
        return f"{where}{what} {self.column + ': ' if self.column else ''}{self.code}: {self.message}"


@dataclass
class Problems:
    items: list[Problem] = field(default_factory=list)

    def add(self, code: str, message: str, **where) -> None:
        assert code in CODES, code
        self.items.append(Problem(code, message, **where))


def normalise(name) -> str:
    """A header as matched: lower case, without spaces, underscores, dashes and dots."""
    return re.sub(r"[\s_\-.]", "", str(name).strip().lower())


def check_column_map(mapping) -> dict[str, str]:
    """{file's header (normalised): layout column} from a column map {layout column or table field: header}."""
    if not isinstance(mapping, dict):
        raise InvalidInput('a column map is a JSON object such as {"namaskpd": "Nama OPD"}')
    by_alias = {normalise(c.name): c.name for c in COLUMNS}
    by_alias.update({normalise(c.db): c.name for c in COLUMNS if c.db and c.part == "program"})
    out = {}
    for key, header in mapping.items():
        name = by_alias.get(normalise(key))
        if name is None:
            raise InvalidInput(f"column map: {str(key)[:60]!r} is not a column of the layout; the columns are "
                               + ", ".join(c.name for c in COLUMNS))
        if not isinstance(header, str) or not header.strip():
            raise InvalidInput(f"column map: {key!r} must name a column of the file (a non-empty text)")
        out[normalise(header)] = name
    return out


# Cell parsers: each returns the value or raises ValueError with what is expected.
_CODE = re.compile(r"^[0-9X]+(\.[0-9X]+)*$")
_ID_THOUSANDS = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$")
_EN_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$")
_DMY_DATE = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")
_PERIOD = re.compile(r"^(\d{4})(?:-(S[12]|T[1-4]))?$")
_YES = {"ya", "y", "yes", "true", "t", "1", "benar"}
_NO = {"tidak", "n", "no", "false", "f", "0", "salah"}


def parse_code(value: str) -> str:
    if not _CODE.match(value):
        raise ValueError(f"{value!r} is not a code of digits and dots (e.g. 1.03.10.2.01.0001); format code "
                         "columns as text so leading zeros and dots are kept")
    return value


def parse_year(value: str) -> int:
    try:
        year = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a year") from None
    if not year.is_integer() or not 2000 <= year <= 2100:
        raise ValueError(f"{value!r} is not a year between 2000 and 2100")
    return int(year)


def _float(value: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError
    return number


def parse_number(value: str) -> float:
    """A decimal; a comma alone is the decimal sign (2,5)."""
    text_value = value.replace(" ", "")
    if "," in text_value and "." not in text_value:
        text_value = text_value.replace(",", ".")
    try:
        return _float(text_value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None


def parse_rupiah(value: str) -> int:
    """Whole rupiah, 0 or more: 1250000000, 1.250.000.000 or 1,250,000,000 (optionally Rp, and ,00 / .00)."""
    text_value = re.sub(r"^rp\.?", "", value.replace(" ", "").lower())
    if _ID_THOUSANDS.match(text_value):
        text_value = text_value.replace(".", "").replace(",", ".")
    elif _EN_THOUSANDS.match(text_value):
        text_value = text_value.replace(",", "")
    try:
        number = _float(text_value)
    except ValueError:
        raise ValueError(f"{value!r} is not an amount in rupiah") from None
    if number < 0 or not float(round(number, 2)).is_integer():
        raise ValueError(f"{value!r} is not a whole amount in rupiah, 0 or more")
    return int(round(number))


def parse_date(value: str) -> date:
    iso, dmy = _ISO_DATE.match(value), _DMY_DATE.match(value)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if dmy:
            return date(int(dmy[3]), int(dmy[2]), int(dmy[1]))
    except ValueError:
        pass
    raise ValueError(f"{value!r} is not a date: write YYYY-MM-DD (2026-06-30) or DD/MM/YYYY (30/06/2026)")


def parse_bool(value: str) -> bool:
    low = value.lower()
    if low in _YES:
        return True
    if low in _NO:
        return False
    raise ValueError(f"{value!r} is not ya or tidak")


def period_end(periode: str) -> tuple[int, date] | None:
    """(year, last day) of a standard period: 2026, 2026-S1/S2 (semester), 2026-T1..T4 (triwulan)."""
    match = _PERIOD.match(periode)
    if not match:
        return None
    year, part = int(match[1]), match[2]
    month = 12 if part is None else {"S1": 6, "S2": 12, "T1": 3, "T2": 6, "T3": 9, "T4": 12}[part]
    day = 31 if month in (3, 12) else 30
    return year, date(year, month, day)


_SHEET_NAMES = {"program": "program", "programme": "program", "programmes": "program", "indikator": "indikator",
                "indicator": "indikator", "indicators": "indikator", "lokasi": "lokasi", "location": "lokasi",
                "locations": "lokasi"}


def read_tables(path: Path, column_map: dict | None = None) -> dict[str | None, pd.DataFrame]:
    """The file's tables as text cells under layout column names: {None: long table} or {sheet: table}."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            data = path.read_bytes()
            try:
                encoding = "utf-8-sig"
                data.decode(encoding)
            except UnicodeDecodeError:
                encoding = "cp1252"  # saved as "CSV" by a spreadsheet on Windows
            head = data.decode(encoding, errors="replace").split("\n", 1)[0]
            sep = ";" if head.count(";") > head.count(",") else ","  # a comma-decimal locale writes ;
            raw = {None: pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding, sep=sep)}
        elif suffix == ".xlsx":
            sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False, engine="openpyxl")
            named = {_SHEET_NAMES[normalise(s)]: f for s, f in sheets.items() if normalise(s) in _SHEET_NAMES}
            if "program" in named:
                raw = named
            elif len(sheets) == 1:
                raw = {None: next(iter(sheets.values()))}
            else:
                raise InvalidInput(f"{path.name}: an XLSX of several sheets needs the sheets {', '.join(SHEETS)} "
                                   f"(it has {', '.join(map(str, sheets))})")
        else:
            raise InvalidInput(f"{path.name}: give a .csv or .xlsx file")
    except (ValueError, OSError, UnicodeDecodeError, zipfile.BadZipFile, KeyError) as exc:
        raise InvalidInput(f"{path.name} cannot be read as {suffix[1:].upper()}: {exc}") from None
    renames = {normalise(c.name): c.name for c in COLUMNS}
    renames.update({normalise(c.db): c.name for c in COLUMNS if c.db and c.part == "program"})
    renames.update(check_column_map(column_map or {}))
    out = {}
    for sheet, frame in raw.items():
        names = [renames.get(normalise(c)) for c in frame.columns]
        doubled = {n for n in names if n and names.count(n) > 1}
        if doubled:
            raise InvalidInput(f"{path.name}{' sheet ' + sheet if sheet else ''}: several columns are read as "
                               f"{', '.join(sorted(doubled))}; rename one or fix the column map")
        frame = frame.loc[:, [n is not None for n in names]]
        frame.columns = [n for n in names if n]
        out[sheet] = frame.fillna("").astype(str).apply(lambda s: s.str.strip())
    return out
