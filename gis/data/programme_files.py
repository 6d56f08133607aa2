"""Reading a programme file (a SIPD-style Renja export, CSV or XLSX; the layout is gis/data/programme_layout.py
and docs/programmes-import.md) into three frames - programmes, indicators, locations (EPSG:4326) - and every
problem of the file. No database: what the city holds (boundary, kecamatan, kelurahan, projects) comes in as
CityFacts.

Two layouts: an XLSX with the sheets `program`, `indikator` and `lokasi` (the last two name their programme by
tahun + kodeskpd + kodesubkegiatan), or one long table (CSV, or an XLSX with one sheet) in which every row carries
its programme's columns and, when it has them, one indicator-period and/or one location."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
import shapely.validation

from gis.data.programme_layout import (
    BY_NAME,
    COLUMNS,
    KEY,
    PART_COLUMNS,
    Problems,
    parse_bool,
    parse_code,
    parse_date,
    parse_number,
    parse_rupiah,
    parse_year,
    period_end,
    read_tables,
)
from layers.programmes import INDICATOR_SOURCES, programme_kode

LOCATION_LAYER = {"Point": "programme_points", "MultiLineString": "programme_lines",
                  "MultiPolygon": "programme_areas"}
PROGRAMME_FIELDS = ["kode", "kabkota", *(c.db for c in COLUMNS if c.part == "program")]
INDICATOR_FIELDS = ["programme_kode", *(c.db for c in COLUMNS if c.part == "indikator")]
LOCATION_FIELDS = ["programme_kode", "layer", "nama", "kodeskpd", "kecamatan_kode", "kelurahan_kode", "keterangan"]
_PARSERS = {"code": (parse_code, "bad_code"), "year": (parse_year, "bad_year"), "rupiah": (parse_rupiah, "bad_number"),
            "number": (parse_number, "bad_number"), "date": (parse_date, "bad_date"), "bool": (parse_bool, "bad_value")}


@dataclass(frozen=True)
class CityFacts:
    """What a file is checked against: the city's code, its boundary (EPSG:4326, a little widened), its kelurahan
    (kode, kecamatan_kode, geometry in EPSG:4326), kecamatan codes and project slugs."""

    code: str
    area: shapely.Geometry
    kelurahan: gpd.GeoDataFrame
    kecamatan: frozenset[str]
    projects: frozenset[str]

    @cached_property
    def kecamatan_of(self) -> dict[str, str]:
        """kelurahan code -> kecamatan code"""
        return dict(zip(self.kelurahan["kode"], self.kelurahan["kecamatan_kode"], strict=True))


@dataclass
class ProgrammeFile:
    programmes: pd.DataFrame
    indicators: pd.DataFrame
    locations: gpd.GeoDataFrame  # + column `layer`: the location layer its geometry type goes to
    problems: list
    rows: int  # data rows read, every sheet
    has_locations: bool  # the file has location columns (a file without them leaves locations alone)

    @property
    def ok(self) -> bool:
        return not self.problems


def _missing(frame: pd.DataFrame, names, sheet, problems: Problems) -> bool:
    gone = [n for n in names if n not in frame.columns]
    for name in gone:
        problems.add("missing_column", f"the column {name} is required ({BY_NAME[name].meaning})", sheet=sheet,
                     column=name, rows=(1,))
    return bool(gone)


def _cells(raw: dict, names, problems: Problems, where: dict) -> tuple[dict, bool]:
    """The cells `names` of a row parsed to their column's type, table field names as keys."""
    out, good = {}, True
    for name in names:
        col, value = BY_NAME[name], raw.get(name, "")
        key = col.db or name
        if not value:
            out[key] = None
            if col.required:
                problems.add("missing_value", f"{name} is empty; it is required ({col.meaning})", column=name,
                             **where)
                good = False
            continue
        if col.kind == "choice":
            if value not in INDICATOR_SOURCES:
                problems.add("bad_value", f"{value!r} is not one of {', '.join(INDICATOR_SOURCES)}", column=name,
                             **where)
                good = False
            out[key] = value
            continue
        parse, code = _PARSERS.get(col.kind, (None, None))
        try:
            out[key] = parse(value) if parse else value
        except ValueError as exc:
            problems.add(code, str(exc), column=name, **where)
            good = False
    return out, good


def _key(raw: dict, problems: Problems, where: dict) -> str | None:
    cells, good = _cells(raw, KEY, problems, where)
    return f"{cells['tahun']}-{cells['kodeskpd']}-{cells['kodesubkegiatan']}" if good else None


def _programme(raw: dict, kode: str, facts: CityFacts, problems: Problems, where: dict) -> dict | None:
    row, good = _cells(raw, [n for n in PART_COLUMNS["program"] if n not in KEY], problems, where)
    for parent, child in (("kodeprogram", "kodekegiatan"), ("kodekegiatan", "kodesubkegiatan")):
        p, c = row.get(parent), raw.get(child)
        if p and c and not c.startswith(p + "."):
            problems.add("bad_code", f"{child} {c!r} does not extend {parent} {p!r} (Permendagri 90/2019: the "
                                     f"{child[4:]} code is its parent's code and more)", column=child, **where)
            good = False
    start, end = row.get("tanggal_mulai"), row.get("tanggal_selesai")
    if start and end and end < start:
        problems.add("end_before_start", f"tanggalselesai {end} is before tanggalmulai {start}",
                     column="tanggalselesai", **where)
        good = False
    pemda = row.get("kodepemda")
    if pemda and pemda.replace(".", "") != facts.code.replace(".", ""):
        problems.add("wrong_city", f"kodepemda {pemda} is not the city imported into ({facts.code})",
                     column="kodepemda", **where)
        good = False
    if row.get("project_slug") and row["project_slug"] not in facts.projects:
        problems.add("unknown_project", f"kodeproyek {row['project_slug']!r} is no project of {facts.code}; "
                                        f"projects: {', '.join(sorted(facts.projects)) or 'none'}",
                     column="kodeproyek", **where)
        good = False
    if row.get("publik") is None:
        row["publik"] = True
    tahun, kodeskpd, sub = kode.split("-", 2)
    return {"kode": programme_kode(facts.code, int(tahun), kodeskpd, sub), "kabkota": facts.code, **row,
            "tahun": int(tahun), "kodeskpd": kodeskpd,
            "kodesubkegiatan": sub} if good else None


def _indicator(raw: dict, programme: dict, facts: CityFacts, problems: Problems, where: dict) -> dict | None:
    row, good = _cells(raw, PART_COLUMNS["indikator"], problems, where)
    periode = row.get("periode")
    standard = period_end(periode) if periode else None
    if standard and standard[0] != programme["tahun"]:
        problems.add("bad_period", f"periode {periode} is not of the programme's year {programme['tahun']}",
                     column="periode", **where)
        good = False
    if periode and row.get("batas_periode") is None:
        if standard is None:
            problems.add("bad_period", f"periode {periode!r} is not 2026, 2026-S1..S2 or 2026-T1..T4: give its "
                                       "end date in batasperiode", column="batasperiode", **where)
            good = False
        else:
            row["batas_periode"] = standard[1]
    if row.get("target") is not None and row["target"] < 0:
        problems.add("negative_target", f"target {row['target']:g} is below 0", column="target", **where)
        good = False
    if row.get("realisasi") is not None and row["realisasi"] < 0:
        problems.add("bad_number", f"realisasiindikator {row['realisasi']:g} is below 0",
                     column="realisasiindikator", **where)
        good = False
    wilayah = row.get("wilayah_kode")
    if wilayah and wilayah not in facts.kecamatan and wilayah not in _kelurahan_codes(facts):
        problems.add("unknown_wilayah", f"kodewilayah {wilayah} is no kecamatan or kelurahan/desa of {facts.code}",
                     column="kodewilayah", **where)
        good = False
    row["sumber"] = row.get("sumber") or "laporan"
    return {"programme_kode": programme["kode"], **row} if good else None


def _kelurahan_codes(facts: CityFacts) -> dict[str, str]:
    return facts.kecamatan_of


def _geometry(raw: dict, facts: CityFacts, problems: Problems, where: dict):
    wkt, lon, lat = raw.get("wkt", ""), raw.get("lon", ""), raw.get("lat", "")
    if not wkt and not (lon and lat):
        problems.add("bad_geometry", "no geometry: give wkt (EPSG:4326) or lon and lat", column="wkt", **where)
        return None
    try:
        geom = shapely.from_wkt(wkt) if wkt else shapely.Point(parse_number(lon), parse_number(lat))
    except (shapely.errors.GEOSException, ValueError) as exc:
        problems.add("bad_geometry", f"not readable ({str(exc).splitlines()[0][:120]})",
                     column="wkt" if wkt else "lon", **where)
        return None
    kind = geom.geom_type
    if geom.is_empty or kind not in ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                                     "MultiPolygon"):
        problems.add("bad_geometry", f"an empty geometry or a {kind}: give a point, line or polygon", column="wkt",
                     **where)
        return None
    if not geom.is_valid:
        problems.add("bad_geometry", f"invalid ({shapely.validation.explain_validity(geom)}); repair it",
                     column="wkt", **where)
        return None
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        problems.add("bad_geometry", "coordinates are not longitude/latitude: give EPSG:4326, longitude first",
                     column="wkt", **where)
        return None
    if not facts.area.covers(geom):
        problems.add("outside_city", f"lies outside {facts.code} (check the coordinates: longitude first, "
                                     "EPSG:4326)", column="wkt", **where)
        return None
    if kind == "LineString":
        return [shapely.MultiLineString([geom])]
    if kind == "Polygon":
        return [shapely.MultiPolygon([geom])]
    return list(geom.geoms) if kind == "MultiPoint" else [geom]


def _locations(raw: dict, programme: dict, facts: CityFacts, problems: Problems, where: dict) -> list[dict]:
    row, good = _cells(raw, ["namalokasi", "kodekecamatan", "kodekelurahan", "keteranganlokasi"], problems, where)
    kec, kel = row.get("kecamatan_kode"), row.get("kelurahan_kode")
    kelurahan = _kelurahan_codes(facts)
    if kec and kec not in facts.kecamatan:
        problems.add("unknown_wilayah", f"kodekecamatan {kec} is no kecamatan of {facts.code}",
                     column="kodekecamatan", **where)
        good = False
    if kel and kel not in kelurahan:
        problems.add("unknown_wilayah", f"kodekelurahan {kel} is no kelurahan/desa of {facts.code}",
                     column="kodekelurahan", **where)
        good = False
    elif kel and kec and kelurahan[kel] != kec:
        problems.add("wilayah_mismatch", f"kelurahan {kel} lies in kecamatan {kelurahan[kel]}, not {kec}",
                     column="kodekecamatan", **where)
        good = False
    geoms = _geometry(raw, facts, problems, where)
    if not good or geoms is None:
        return []
    if kel and not kec:
        row["kecamatan_kode"] = kelurahan[kel]
    return [{"programme_kode": programme["kode"], "layer": LOCATION_LAYER[g.geom_type], **row,
             "kodeskpd": programme["kodeskpd"], "geometry": g} for g in geoms]


def _fill_wilayah(locations: gpd.GeoDataFrame, facts: CityFacts) -> None:
    """Kecamatan and kelurahan codes of locations without them: the kelurahan their middle lies in (nearest when
    it lies in none, e.g. on the boundary)."""
    todo = locations.index[locations.kelurahan_kode.isna()]
    if not len(todo) or facts.kelurahan.empty:
        return
    geoms = locations.geometry.loc[todo].to_numpy()
    lines = shapely.get_type_id(geoms) == 5  # MultiLineString: the point halfway along
    middles = shapely.point_on_surface(geoms)
    middles[lines] = shapely.line_interpolate_point(geoms[lines], 0.5, normalized=True)
    found = shapely.STRtree(facts.kelurahan.geometry.to_numpy()).query_nearest(middles, all_matches=False)
    first = pd.Series(found[1], index=found[0])
    nearest = first[~first.index.duplicated()].sort_index().to_numpy()  # one kelurahan per location, in order
    locations.loc[todo, "kelurahan_kode"] = facts.kelurahan["kode"].to_numpy()[nearest]
    no_kecamatan = todo[locations.loc[todo, "kecamatan_kode"].isna().to_numpy()]
    kecamatan = dict(zip(facts.kelurahan["kode"], facts.kelurahan["kecamatan_kode"], strict=True))
    locations.loc[no_kecamatan, "kecamatan_kode"] = locations.loc[no_kecamatan, "kelurahan_kode"].map(kecamatan)


def _rows(frame: pd.DataFrame) -> list[dict]:
    columns = list(frame.columns)
    return [dict(zip(columns, row, strict=True)) for row in frame.to_numpy(dtype=object).tolist()]


def read_programme_file(path: Path, facts: CityFacts, column_map: dict | None = None) -> ProgrammeFile:
    """Read and check a programme file; the frames hold the good rows, `problems` every problem (a file with
    any problem is not to be written)."""
    tables = read_tables(path, column_map)
    problems = Problems()
    long = None in tables
    needed = [n for n in PART_COLUMNS["program"] if BY_NAME[n].required]
    parts = {"program": tables.get(None if long else "program")}
    if _missing(parts["program"], needed, None if long else "program", problems):
        return _result(problems, tables, [], [], [], False)
    for part in ("indikator", "lokasi"):
        frame = tables.get(None if long else part)
        present = frame is not None and any(c in frame.columns for c in PART_COLUMNS[part])
        parts[part] = frame if present else None
        if present:
            required = [n for n in PART_COLUMNS[part] if BY_NAME[n].required]
            if _missing(frame, required if long else [*KEY, *required], None if long else part, problems):
                return _result(problems, tables, [], [], [], False)
    sheet = (lambda part: None) if long else (lambda part: part)
    programmes: dict[str, dict] = {}
    defined: dict[str, list] = {}  # kode -> [(row number, programme cells)]
    program_cols = [n for n in PART_COLUMNS["program"] if n in parts["program"].columns]
    for n, raw in enumerate(_rows(parts["program"]), start=2):
        if long and not any(raw.get(c) for c in program_cols if c not in KEY):
            continue  # a row naming its programme by key only (its indicator or location)
        where = {"rows": (n,), "sheet": sheet("program")}
        kode = _key(raw, problems, where)
        if kode is None:
            continue
        defined.setdefault(kode, []).append((n, {c: raw.get(c, "") for c in program_cols}))
        if len(defined[kode]) == 1:
            row = _programme(raw, kode, facts, problems, {**where, "programme": kode})
            if row:
                programmes[kode] = row
    for kode, rows in defined.items():
        if len(rows) < 2:
            continue
        if not long:
            problems.add("duplicate_programme", f"the programme {kode} is on {len(rows)} rows; give each "
                         "programme once in the program sheet", rows=tuple(r for r, _ in rows), sheet="program",
                         programme=kode)
            programmes.pop(kode, None)
            continue
        first = rows[0][1]
        for n, cells in rows[1:]:
            differ = [c for c in program_cols if cells[c] != first[c]]
            if differ:
                problems.add("conflicting_programme", f"row {n} differs from row {rows[0][0]} in "
                             f"{', '.join(differ)}; a programme's columns must be the same on all its rows",
                             rows=(rows[0][0], n), programme=kode, column=differ[0])
                programmes.pop(kode, None)
    indicators, locations, seen_ind, seen_loc = [], [], {}, set()
    for part in ("indikator", "lokasi"):
        frame = parts[part]
        if frame is None:
            continue
        cols = [c for c in PART_COLUMNS[part] if c in frame.columns]
        for n, raw in enumerate(_rows(frame), start=2):
            if not any(raw.get(c) for c in cols):
                continue
            where = {"rows": (n,), "sheet": sheet(part)}
            kode = _key(raw, problems, where)
            if kode is None:
                continue
            where["programme"] = kode
            if kode not in defined:
                problems.add(f"orphan_{'indicator' if part == 'indikator' else 'location'}",
                             f"the programme {kode} of this {part} row is not in the file", **where)
                continue
            programme = programmes.get(kode)
            if programme is None:  # the programme has problems; this row's own are reported too
                tahun, kodeskpd, _ = kode.split("-", 2)
                programme = {"kode": kode, "tahun": int(tahun), "kodeskpd": kodeskpd}
            if part == "indikator":
                row = _indicator(raw, programme, facts, problems, where)
                if row:
                    key, cells = (kode, row["kode"], row["periode"], row["wilayah_kode"] or ""), \
                        tuple(raw.get(c, "") for c in cols)
                    if key not in seen_ind:
                        seen_ind[key] = (n, cells)
                        if kode in programmes:
                            indicators.append(row)
                    elif not long or seen_ind[key][1] != cells:  # long form: the same row repeated counts once
                        problems.add("duplicate_indicator", f"indicator {row['kode']} {row['periode']} "
                                     f"{row['wilayah_kode'] or '(whole city)'} is also on row {seen_ind[key][0]}",
                                     **where)
            else:
                same = (kode, *(raw.get(c, "") for c in cols))
                if long and same in seen_loc:
                    continue  # the same location repeated on another indicator row of its programme
                seen_loc.add(same)
                located = _locations(raw, programme, facts, problems, where)
                if kode in programmes:
                    locations.extend(located)
    return _result(problems, tables, list(programmes.values()), indicators, locations, parts["lokasi"] is not None,
                   facts)


def _result(problems: Problems, tables, programmes, indicators, locations, has_locations,
            facts: CityFacts | None = None) -> ProgrammeFile:
    located = gpd.GeoDataFrame(locations, columns=[*LOCATION_FIELDS, "geometry"], geometry="geometry", crs=4326)
    if facts is not None and len(located):
        _fill_wilayah(located, facts)
    return ProgrammeFile(
        programmes=pd.DataFrame(programmes, columns=PROGRAMME_FIELDS, dtype=object),  # whole rupiah stay int
        indicators=pd.DataFrame(indicators, columns=INDICATOR_FIELDS, dtype=object),
        locations=located, problems=sorted(problems.items, key=lambda p: (p.sheet or "", p.rows, p.code)),
        rows=sum(len(t) for t in tables.values()), has_locations=has_locations)
