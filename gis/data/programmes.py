"""Programmes in and out of PetaKota: `import_programmes` checks a SIPD-style file (gis/data/programme_files.py)
against the city and, when it has no problem at all, writes it in one transaction; `export_programmes` writes the
same layout back, so an export imports again to the same content.

An import upserts programmes on their kode (kabkota-tahun-kodeskpd-kodesubkegiatan) and indicators on (programme,
kode, periode, wilayah); when the file has location columns it brings the locations of the programmes in the file
to the file's (a location moved is updated in place, keeping its id and attachments); it never deletes a
programme, an indicator or a progress update. Only what differs is written, so the
same file twice writes nothing (and adds no history)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from gis.core.errors import InvalidInput
from gis.data.cities import held_cities, inside_cities
from gis.data.edits import set_actor
from gis.data.programme_files import (
    INDICATOR_FIELDS,
    LOCATION_FIELDS,
    LOCATION_LAYER,
    PROGRAMME_FIELDS,
    CityFacts,
    read_programme_file,
)
from gis.data.programme_layout import COLUMNS, KEY, PART_COLUMNS, Problem

CITY_TOLERANCE_DEG = 0.0005  # ~50 m: a location digitised a little past the boundary line still belongs
LAYERS = tuple(LOCATION_LAYER.values())
_IND_VALUES = [f for f in INDICATOR_FIELDS if f not in ("programme_kode",)]


@dataclass
class ImportReport:
    city: str
    source: str
    dry_run: bool
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    programmes: dict = field(default_factory=lambda: {"inserted": 0, "updated": 0, "unchanged": 0})
    indicators: dict = field(default_factory=lambda: {"inserted": 0, "updated": 0, "unchanged": 0})
    locations: dict = field(default_factory=lambda: {"inserted": 0, "updated": 0, "removed": 0, "unchanged": 0,
                                                     "programmes_relocated": 0})

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.problems:
            out[p.code] = out.get(p.code, 0) + 1
        return out

    def to_dict(self) -> dict:
        return {"city": self.city, "source": self.source, "ok": self.ok, "dry_run": self.dry_run,
                "rows": self.rows, "programmes": self.programmes, "indicators": self.indicators,
                "locations": self.locations, "problem_counts": self.counts(),
                "problems": [p.to_dict() for p in self.problems]}


def city_facts(conn: Connection, city: str) -> CityFacts:
    """What a file of `city` is checked against; InvalidInput naming the cities held when it is not one."""
    wkb = conn.execute(text("SELECT ST_AsBinary(geom) FROM kota WHERE kode = :c"), {"c": city}).scalar()
    if wkb is None:
        held = ", ".join(f"{c.code} ({c.name})" for c in held_cities(conn)) or "none"
        raise InvalidInput(f"no city {city[:20]!r} is held here; cities held: {held}. Adopt it first "
                           "(petakota city adopt) or give one of these codes")
    kel = conn.execute(text("SELECT kode, kecamatan_kode, ST_AsBinary(geom) AS wkb FROM kelurahan "
                            "WHERE kabkota = :c ORDER BY kode"), {"c": city}).all()
    kelurahan = gpd.GeoDataFrame({"kode": [r.kode for r in kel], "kecamatan_kode": [r.kecamatan_kode for r in kel]},
                                 geometry=[shapely.from_wkb(bytes(r.wkb)) for r in kel], crs=4326)
    kecamatan = {r[0] for r in conn.execute(text("SELECT kode FROM kecamatan WHERE kabkota = :c"), {"c": city})}
    projects = {r[0] for r in conn.execute(text("SELECT slug FROM projects WHERE kabkota = :c"), {"c": city})}
    area = shapely.from_wkb(bytes(wkb)).buffer(CITY_TOLERANCE_DEG)
    shapely.prepare(area)  # covered-by tests for thousands of locations
    return CityFacts(city, area, kelurahan,
                     frozenset(kecamatan), frozenset(projects))


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if v is None or (isinstance(v, float) and pd.isna(v)) else v) for k, v in r.items()}
            for r in frame.astype(object).to_dict("records")]


def _location_rows(frame: gpd.GeoDataFrame) -> list[tuple]:
    return [(r["programme_kode"], r["layer"], r["nama"], r["kodeskpd"], r["kecamatan_kode"], r["kelurahan_kode"],
             r["keterangan"], shapely.to_wkb(r["geometry"])) for r in _records(frame)]


def _stored_locations(conn: Connection, kodes: list[str]) -> dict[str, list[tuple[int, tuple]]]:
    """Each programme's stored locations as (id, row) with rows shaped like _location_rows'."""
    out: dict[str, list[tuple[int, tuple]]] = {}
    for layer in LAYERS:
        for r in conn.execute(text(
                f"SELECT id, programme_kode, nama, kodeskpd, kecamatan_kode, kelurahan_kode, keterangan, "
                f"ST_AsBinary(geom) FROM {layer} WHERE programme_kode = ANY(:k)"), {"k": kodes}):
            out.setdefault(r[1], []).append((r[0], (r[1], layer, *r[2:7], bytes(r[7]))))
    return out


def _location_changes(wanted: list[tuple], stored: list[tuple[int, tuple]]):
    """What turns a programme's stored locations into the wanted ones, keeping every location that stays as it
    is and, where a layer has one location of a name on both sides, updating it in place (its id, history and
    attachments kept): (unchanged count, updates [(id, row)], deletions [(layer, id)], insertions [row])."""
    remaining = list(wanted)
    leftover = []
    for fid, row in stored:
        if row in remaining:
            remaining.remove(row)
        else:
            leftover.append((fid, row))
    unchanged = len(stored) - len(leftover)

    def by_name(rows) -> dict:
        groups: dict = {}
        for item in rows:
            row = item[1] if isinstance(item[0], int) else item
            groups.setdefault((row[1], row[2]), []).append(item)
        return groups

    old, new = by_name(leftover), by_name(remaining)
    pairs = {k for k in old.keys() & new.keys() if len(old[k]) == len(new[k]) == 1}
    updates = [(old[k][0][0], new[k][0]) for k in sorted(pairs)]
    deletions = [(row[1], fid) for k, items in old.items() if k not in pairs for fid, row in items]
    insertions = [row for k, rows in new.items() if k not in pairs for row in rows]
    return unchanged, updates, deletions, insertions


ANALYZE_FROM = 100  # programmes inserted by one import


def import_programmes(engine: Engine, path: Path, city: str, by: str, column_map: dict | None = None,
                      dry_run: bool = False) -> ImportReport:
    """Check a programme file against `city` and, when it has no problem (and not `dry_run`), write it in one
    transaction under the name `by`. The report lists every problem; with any, nothing is written."""
    report = ImportReport(city=city, source=Path(path).name, dry_run=dry_run)
    with engine.begin() as conn:
        parsed = read_programme_file(Path(path), city_facts(conn, city), column_map)
        report.rows, report.problems = parsed.rows, list(parsed.problems)
        kodes = list(parsed.programmes["kode"])
        if not report.ok:
            return report
        if not dry_run:
            conn.execute(text("LOCK TABLE programmes, programme_indicators IN SHARE ROW EXCLUSIVE MODE"))
            set_actor(conn, by)
        _write_programmes(conn, _records(parsed.programmes), report, dry_run)
        _write_indicators(conn, _records(parsed.indicators), kodes, report, dry_run)
        if parsed.has_locations:
            _write_locations(conn, parsed.locations, kodes, report, dry_run)
    if not dry_run and report.programmes.get("inserted", 0) >= ANALYZE_FROM:
        # A city's first work plan: fresh statistics, so the planner does not take hundreds of new rows for none
        with engine.begin() as conn:
            conn.execute(text("ANALYZE programmes, programme_indicators, programme_progress, programme_points, "
                              "programme_lines, programme_areas"))
    return report


def _write_programmes(conn: Connection, rows: list[dict], report: ImportReport, dry_run: bool) -> None:
    stored = {r["kode"]: r for r in (dict(m._mapping) for m in conn.execute(text(
        f"SELECT {', '.join(PROGRAMME_FIELDS)} FROM programmes WHERE kode = ANY(:k)"),
        {"k": [r["kode"] for r in rows]}))}
    new = [r for r in rows if r["kode"] not in stored]
    changed = [r for r in rows if r["kode"] in stored and stored[r["kode"]] != r]
    report.programmes.update(inserted=len(new), updated=len(changed), unchanged=len(rows) - len(new) - len(changed))
    if dry_run:
        return
    if new:
        conn.execute(text(f"INSERT INTO programmes ({', '.join(PROGRAMME_FIELDS)}) "
                          f"VALUES ({', '.join(':' + f for f in PROGRAMME_FIELDS)})"), new)
    if changed:
        conn.execute(text(f"UPDATE programmes SET {', '.join(f'{f} = :{f}' for f in PROGRAMME_FIELDS)}, "
                          "updated_at = now() WHERE kode = :kode"), changed)


def _write_indicators(conn: Connection, rows: list[dict], kodes: list[str], report: ImportReport,
                      dry_run: bool) -> None:
    def key(r: dict) -> tuple:
        return r["programme_kode"], r["kode"], r["periode"], r["wilayah_kode"] or ""

    stored = {key(r): r for r in (dict(m._mapping) for m in conn.execute(text(
        f"SELECT id, {', '.join(INDICATOR_FIELDS)} FROM programme_indicators WHERE programme_kode = ANY(:k)"),
        {"k": kodes}))}
    new = [r for r in rows if key(r) not in stored]
    changed = [{**r, "id": stored[key(r)]["id"]} for r in rows
               if key(r) in stored and any(stored[key(r)][f] != r[f] for f in _IND_VALUES)]
    report.indicators.update(inserted=len(new), updated=len(changed),
                             unchanged=len(rows) - len(new) - len(changed))
    if dry_run:
        return
    if new:
        conn.execute(text(f"INSERT INTO programme_indicators ({', '.join(INDICATOR_FIELDS)}) "
                          f"VALUES ({', '.join(':' + f for f in INDICATOR_FIELDS)})"), new)
    if changed:
        conn.execute(text(f"UPDATE programme_indicators SET {', '.join(f'{f} = :{f}' for f in _IND_VALUES)}, "
                          "updated_at = now() WHERE id = :id"), changed)


def _write_locations(conn: Connection, locations: gpd.GeoDataFrame, kodes: list[str], report: ImportReport,
                     dry_run: bool) -> None:
    """Bring each programme's stored locations to the file's: unchanged ones stay, a moved or re-described one
    is updated in place, the others removed or added."""
    wanted: dict[str, list[tuple]] = {}
    for row in _location_rows(locations):
        wanted.setdefault(row[0], []).append(row)
    stored = _stored_locations(conn, kodes)
    updates, deletions, insertions, relocated, unchanged = [], [], [], 0, 0
    for kode in kodes:
        same, up, gone, new = _location_changes(wanted.get(kode, []), stored.get(kode, []))
        unchanged += same
        updates += up
        deletions += gone
        insertions += new
        relocated += bool(up or gone or new)
    report.locations.update(programmes_relocated=relocated, inserted=len(insertions), updated=len(updates),
                            removed=len(deletions), unchanged=unchanged)
    if dry_run:
        return
    fields = [f for f in LOCATION_FIELDS if f != "layer"]

    def values(row: tuple) -> dict:
        return dict(zip([*fields, "wkb"], (row[0], *row[2:]), strict=True))

    with inside_cities():
        for layer in LAYERS:
            gone = [fid for kind, fid in deletions if kind == layer]
            if gone:
                conn.execute(text(f"DELETE FROM {layer} WHERE id = ANY(:ids)"), {"ids": gone})
            moved = [{**values(row), "id": fid} for fid, row in updates if row[1] == layer]
            if moved:
                conn.execute(text(f"UPDATE {layer} SET {', '.join(f'{f} = :{f}' for f in fields)}, "
                                  "geom = ST_GeomFromWKB(:wkb, 4326) WHERE id = :id"), moved)
            added = [values(row) for row in insertions if row[1] == layer]
            if added:
                conn.execute(text(f"INSERT INTO {layer} ({', '.join(fields)}, geom) VALUES "
                                  f"({', '.join(':' + f for f in fields)}, ST_GeomFromWKB(:wkb, 4326))"), added)


# Export: the same layout, so that an export imports again to the same content.
_PROGRAM_NAMES = {c.db: c.name for c in COLUMNS if c.part == "program"}
_INDICATOR_NAMES = {c.db: c.name for c in COLUMNS if c.part == "indikator"}
_LOCATION_NAMES = {"nama": "namalokasi", "kecamatan_kode": "kodekecamatan", "kelurahan_kode": "kodekelurahan",
                   "keterangan": "keteranganlokasi"}
LOCATION_EXPORTED = [*_LOCATION_NAMES.values(), "wkt"]


def export_tables(conn: Connection, city: str, year: int | None = None) -> dict[str, pd.DataFrame]:
    """The city's programmes (of `year`, or all) as the layout's three tables: program, indikator, lokasi."""
    city_facts(conn, city)  # an unknown city is refused by name
    where = "kabkota = :c" + (" AND tahun = :y" if year is not None else "")
    params = {"c": city, "y": year}
    programmes = [dict(r._mapping) for r in conn.execute(text(
        f"SELECT {', '.join(PROGRAMME_FIELDS)} FROM programmes WHERE {where} ORDER BY kode"), params)]
    by_kode = {p["kode"]: p for p in programmes}
    program = pd.DataFrame([{_PROGRAM_NAMES[k]: _cell(v, k) for k, v in p.items() if k in _PROGRAM_NAMES}
                            for p in programmes], columns=PART_COLUMNS["program"], dtype=object)

    def keyed(kode: str) -> dict:
        return {k: by_kode[kode][k] for k in KEY}

    indicators = conn.execute(text(
        f"SELECT {', '.join(INDICATOR_FIELDS)} FROM programme_indicators WHERE programme_kode = ANY(:k) "
        "ORDER BY programme_kode, kode, batas_periode, periode, coalesce(wilayah_kode, '')"), {"k": list(by_kode)})
    indikator = pd.DataFrame([{**keyed(r.programme_kode), **{_INDICATOR_NAMES[k]: _cell(v, k) for k, v in
                                                              r._mapping.items() if k in _INDICATOR_NAMES}}
                              for r in indicators], columns=[*KEY, *PART_COLUMNS["indikator"]], dtype=object)
    located = sorted((row for rows in _stored_locations(conn, list(by_kode)).values() for _, row in rows),
                     key=lambda r: (r[0], r[1], r[2] or "", r[7]))
    lokasi = pd.DataFrame([{**keyed(r[0]), "namalokasi": r[2], "kodekecamatan": r[4], "kodekelurahan": r[5],
                            "keteranganlokasi": r[6],
                            "wkt": shapely.to_wkt(shapely.from_wkb(r[7]), rounding_precision=-1)}
                           for r in located], columns=[*KEY, *LOCATION_EXPORTED], dtype=object)
    return {"program": program, "indikator": indikator, "lokasi": lokasi}


def _cell(value, name: str):
    if name == "publik":
        return "ya" if value else "tidak"
    return value


def long_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The three tables as the long form: one row per indicator-period and per location, each with its
    programme's columns; a programme with neither on one row of its own."""
    program = tables["program"]
    columns = [*PART_COLUMNS["program"], *PART_COLUMNS["indikator"], *LOCATION_EXPORTED]
    parts = [program.merge(tables["indikator"], on=list(KEY)), program.merge(tables["lokasi"], on=list(KEY))]
    used = pd.concat([p[list(KEY)] for p in parts]).drop_duplicates()
    alone = program.merge(used, on=list(KEY), how="left", indicator=True)
    parts.append(alone[alone["_merge"] == "left_only"].drop(columns="_merge"))
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) \
        else pd.DataFrame(columns=columns)
    frame = frame.reindex(columns=columns).astype(object)
    return frame.where(frame.notna(), None)


def export_programmes(engine: Engine, city: str, path: Path, year: int | None = None) -> dict[str, int]:
    """Write the city's programmes (of `year`, or all) to a .csv (long form) or .xlsx (three sheets) file.
    Returns the number of programmes, indicator rows and locations written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidInput(f"{path.name}: the export is written as .csv or .xlsx")
    with engine.connect() as conn:
        tables = export_tables(conn, city, year)
    if suffix == ".csv":
        long_table(tables).to_csv(path, index=False)
    else:
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            for name, frame in tables.items():
                frame.map(lambda v: datetime.combine(v, datetime.min.time()) if isinstance(v, date) else v) \
                    .to_excel(writer, sheet_name=name, index=False)
    return {"programmes": len(tables["program"]), "indicators": len(tables["indikator"]),
            "locations": len(tables["lokasi"])}
