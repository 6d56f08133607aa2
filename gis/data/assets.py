"""The asset register in and out of spreadsheets (CSV, XLSX): one row per asset, the layer's fields plus its
geometry as WKT in EPSG:4326 (`geometry_wkt`; a point asset is drawn as its plot's polygon, not as a point).
An import is all-or-nothing: every bad row is reported (row number as a spreadsheet shows it, the header being
row 1; the field; what is wrong) and nothing is written unless every row is good. Rows are matched on the
register key (kode barang + NUP) within the city: a known asset is updated in place (its id and history kept),
a new one added."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from gis.core.errors import InvalidInput
from gis.data.cities import inside_cities
from layers.assets import ASSETS, KIB, KODE_BARANG_PREFIX

WKT = "geometry_wkt"
KEY = ("kode_barang", "nup")
FIELDS = [f for f in ASSETS.fields if not f.computed]
COLUMNS = [f.name for f in FIELDS]
EXPORTED = [*COLUMNS, "area_ha", WKT]  # area_ha is computed: exported for reading, ignored on import
CITY_TOLERANCE_DEG = 0.0005  # ~50 m: a plot digitised a little past the boundary line still belongs to the city
_KBLI = re.compile(r"^\d{2,5}$")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T]00:00(?::00)?)?$")


@dataclass(frozen=True)
class RowProblem:
    row: int  # as a spreadsheet numbers it: the header is row 1, the first asset row 2
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}"


@dataclass
class ImportReport:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or XLSX file as text cells (empty cells as empty strings)."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        elif suffix == ".xlsx":
            frame = pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl")
        else:
            raise InvalidInput(f"{path.name}: give a .csv or .xlsx file")
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path.name} cannot be read as {suffix[1:].upper()}: {exc}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame.fillna("")


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _integer(text_value: str) -> int:
    number = float(text_value)
    if not number.is_integer():
        raise ValueError
    return int(number)


def _parse(f, value: str):
    """A cell as its field's type; ValueError naming what is expected."""
    if f.type == "integer":
        try:
            return _integer(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
    if f.type == "number":
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"{value!r} is not a value in rupiah (a number, 0 or more)")
        return number
    if f.type == "date":
        match = _DATE.match(value)
        try:
            return date.fromisoformat(match.group(1)) if match else date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date: write it as YYYY-MM-DD, e.g. 2021-06-30") from None
    return value


def _check_row(n: int, raw: dict, city_area, problems: list[RowProblem]) -> dict | None:
    row, bad = {}, False

    def problem(name: str, message: str) -> None:
        nonlocal bad
        bad = True
        problems.append(RowProblem(n, name, message))

    for f in FIELDS:
        value = _cell(raw.get(f.name))
        if not value:
            if f.required:
                problem(f.name, "is empty; it is required")
            row[f.name] = None
            continue
        if f.name == "kib" and value.upper() not in KIB:
            problem(f.name, f"unknown KIB letter {value!r}: this register holds "
                            + ", ".join(f"{k} ({name_en.lower()})" for k, (_, name_en) in KIB.items()))
            continue
        if f.choices and f.name != "kib" and value not in f.choices:
            problem(f.name, f"{value!r} is not one of {', '.join(f.choices)}")
            continue
        try:
            row[f.name] = _parse(f, value)
        except ValueError as exc:
            problem(f.name, str(exc))
    if row.get("kib"):
        row["kib"] = row["kib"].upper()
        prefix = KODE_BARANG_PREFIX[row["kib"]]
        if row.get("kode_barang") and not row["kode_barang"].startswith(prefix):
            problem("kode_barang", f"{row['kode_barang']!r} is not a KIB {row['kib']} code (those start with "
                                   f"{prefix}, Permendagri 108/2016)")
    if row.get("kbli") and not _KBLI.match(row["kbli"]):
        problem("kbli", f"{row['kbli']!r} is not a KBLI 2020 code (2 to 5 digits)")
    wkt = _cell(raw.get(WKT))
    if not wkt:
        problem(WKT, "is empty: give the asset's outline as WKT in EPSG:4326, e.g. POLYGON ((98.49 3.60, ...))")
        return None
    try:
        geom = shapely.from_wkt(wkt)
    except shapely.errors.GEOSException as exc:
        problem(WKT, f"is not valid WKT ({str(exc).splitlines()[0][:120]})")
        return None
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        problem(WKT, f"must be a POLYGON or MULTIPOLYGON, not {getattr(geom, 'geom_type', 'nothing')}")
        return None
    if not geom.is_valid:
        problem(WKT, f"is not a valid polygon ({shapely.validation.explain_validity(geom)}); fix it and retry")
        return None
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        problem(WKT, "has coordinates outside lon/lat: give it in EPSG:4326 (longitude first)")
        return None
    if not city_area.contains(geom):
        problem(WKT, "lies outside the city (check the coordinates: longitude first, in EPSG:4326)")
        return None
    row["geometry"] = shapely.MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom
    return None if bad else row


def check_rows(frame: pd.DataFrame, city_area) -> tuple[list[dict], list[RowProblem]]:
    """The good rows and every problem of the file (an unknown or missing column is one problem for the file,
    row 1)."""
    problems: list[RowProblem] = []
    unknown = [c for c in frame.columns if c not in EXPORTED]
    missing = [c for c in [*(f.name for f in FIELDS if f.required), WKT] if c not in frame.columns]
    for c in unknown:
        problems.append(RowProblem(1, c, f"unknown column; the columns are {', '.join(EXPORTED)}"))
    for c in missing:
        problems.append(RowProblem(1, c, "missing column: it is required"))
    if missing:
        return [], problems
    rows, seen = [], {}
    for n, raw in enumerate(frame.to_dict("records"), start=2):
        row = _check_row(n, raw, city_area, problems)
        key = tuple(_cell(raw.get(k)) for k in KEY)
        if all(key):
            if key in seen:
                problems.append(RowProblem(n, "kode_barang+nup", f"{key[0]} / {key[1]} is also on row {seen[key]}: "
                                                                 "each asset has its own register number"))
                continue
            seen[key] = n
        if row is not None:
            rows.append(row)
    return rows, problems


def city_area(conn: Connection, code: str):
    """The city's boundary (EPSG:4326), a little widened; InvalidInput naming the held cities when unknown."""
    wkb = conn.execute(text("SELECT ST_AsBinary(geom) FROM kota WHERE kode = :c"), {"c": code}).scalar()
    if wkb is None:
        held = [r[0] for r in conn.execute(text("SELECT kode FROM kota ORDER BY kode"))]
        raise InvalidInput(f"no city {code[:20]!r}; cities held: {', '.join(held) or 'none'}")
    return shapely.from_wkb(bytes(wkb)).buffer(CITY_TOLERANCE_DEG)


def import_assets(engine: Engine, path: Path, city: str, actor: str, dry_run: bool = False) -> ImportReport:
    """Check a register file and, when every row is good (and not `dry_run`), write it in one transaction."""
    frame = read_table(path)
    report = ImportReport(rows=len(frame))
    with engine.begin() as conn:
        rows, report.problems = check_rows(frame, city_area(conn, city))
        if not report.ok or dry_run:
            return report
        conn.execute(text("SELECT set_config('petakota.actor', :a, true)"), {"a": actor})
        columns = [*COLUMNS, "geom"]
        assign = ", ".join(f"{c} = :{c}" for c in COLUMNS) + ", geom = ST_Multi(ST_GeomFromWKB(:wkb, 4326))"
        values = ", ".join([*(f":{c}" for c in COLUMNS), "ST_Multi(ST_GeomFromWKB(:wkb, 4326))"])
        with inside_cities():
            for row in rows:
                params = {**{c: row[c] for c in COLUMNS}, "wkb": shapely.to_wkb(row["geometry"]), "city": city}
                updated = conn.execute(text(
                    f"UPDATE assets SET {assign} WHERE kabkota = :city AND kode_barang = :kode_barang "
                    "AND nup = :nup"), params).rowcount
                if updated:
                    report.updated += 1
                else:
                    conn.execute(text(f"INSERT INTO assets ({', '.join(columns)}) VALUES ({values})"), params)
                    report.inserted += 1
    return report


def export_frame(conn: Connection, city: str) -> pd.DataFrame:
    """The city's register, every field (values included: an export is the register keeper's), by key."""
    city_area(conn, city)  # an unknown city is refused by name
    rows = conn.execute(text(
        f"SELECT {', '.join(COLUMNS)}, area_ha, ST_AsText(geom) AS {WKT} FROM assets WHERE kabkota = :c "
        "ORDER BY kode_barang, nup"), {"c": city}).all()
    return pd.DataFrame([dict(r._mapping) for r in rows], columns=EXPORTED)


def export_assets(engine: Engine, city: str, out: Path) -> int:
    """Write the city's register to a .csv or .xlsx file. Returns the number of assets."""
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidInput(f"{out.name}: the export is written as .csv or .xlsx")
    with engine.connect() as conn:
        frame = export_frame(conn, city)
    if suffix == ".csv":
        frame.to_csv(out, index=False)
    else:
        # dates as dates, codes as text (leading zeros of a NUP kept)
        frame = frame.assign(sertifikat_tanggal=[datetime.combine(d, datetime.min.time()) if d else None
                                                 for d in frame.sertifikat_tanggal])
        frame.to_excel(out, index=False, engine="openpyxl", sheet_name="aset")
    return len(frame)
