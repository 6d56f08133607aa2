"""The programmes a caller sees, as data frames for the status rules (gis/analyses/programmes.py): programmes,
their indicator rows and progress updates, their locations (the three location layers in one GeoDataFrame), the
kecamatan names, and what computed indicators are counted from (the linked projects' acquired parcels and the
cities' business centres).

Which programmes, and whether with their private fields (programmes.catatan, progress.catatan and oleh), is
decided by gis/data/programme_scope.py. One query per table, whatever the number of programmes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from gis.data.auth import Principal
from gis.data.programme_scope import LOCATION_TABLES, private_rows_sql, visible_rows_sql

ACQUIRED = ("compensated", "certified")  # a parcel's land counts as acquired once compensation is paid
PROGRAMME_COLUMNS = ("kode", "kabkota", "kodepemda", "tahun", "kodeskpd", "nama_skpd", "kodeprogram", "nama_program",
                     "kodekegiatan", "nama_kegiatan", "kodesubkegiatan", "nama_subkegiatan", "pagu_rp",
                     "realisasi_rp", "tanggal_mulai", "tanggal_selesai", "project_slug", "publik")
INDICATOR_COLUMNS = ("id", "programme_kode", "kode", "nama", "satuan", "periode", "batas_periode", "target",
                     "realisasi", "wilayah_kode", "sumber")
# `geojson`: the geometry as GeoJSON text (5 decimals, about 1 m), written by the database for the pages that send
# it on without parsing it
LOCATION_COLUMNS = ("layer", "id", "programme_kode", "nama", "kodeskpd", "kecamatan_kode", "kelurahan_kode",
                    "geojson")
PROGRESS_COLUMNS = ("id", "programme_kode", "indicator_id", "tanggal", "realisasi", "realisasi_rp", "status")
DATE_COLUMNS = {"programmes": ("tanggal_mulai", "tanggal_selesai"), "indicators": ("batas_periode",),
                "progress": ("tanggal",)}


@dataclass
class ProgrammeData:
    """What the status rules read. `programmes.private` says whether the caller reads that programme's private
    fields; where it does not, `catatan` (and progress `catatan`, `oleh`) are None. Dates are datetime.date."""

    programmes: pd.DataFrame
    indicators: pd.DataFrame
    progress: pd.DataFrame
    locations: gpd.GeoDataFrame  # layer, id, programme_kode, nama, kodeskpd, kecamatan_kode, kelurahan_kode,
    # geojson, geometry (EPSG:4326)
    kecamatan: pd.DataFrame  # kode, nama, kabkota
    parcels: pd.DataFrame  # project_slug, status, status_date, area_ha: acquired parcels of the linked projects
    centres: pd.DataFrame  # kabkota, kelurahan_kode, status: the cities' business centres
    milestones: pd.DataFrame  # project_slug, nama, planned_date, actual_date: the linked projects' schedule


def _scope(who: Principal, cities: Sequence[str], year: int | None, kode: str | None) -> tuple[str, str, dict]:
    """(CTE of the visible programmes with their `private` flag, the SQL of that flag, parameters)."""
    visible, params = visible_rows_sql(who, "p")
    private, more = private_rows_sql(who, "p")
    params = {**params, **more, "cities": list(cities), "year": year, "kode": kode}
    where = (f"p.kabkota = ANY(CAST(:cities AS text[])) AND (CAST(:year AS integer) IS NULL OR p.tahun = :year) "
             f"AND (CAST(:kode AS text) IS NULL OR p.kode = :kode) AND {visible}")
    return f"WITH v AS (SELECT p.*, ({private}) AS private FROM programmes p WHERE {where})", private, params


def _dates(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    for c in columns:
        frame[c] = pd.to_datetime(frame[c]).dt.date
        frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame


def _frame(conn: Connection, sql: str, params: dict, columns: Sequence[str]) -> pd.DataFrame:
    rows = conn.execute(text(sql), params).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=list(columns))


def load_programme_data(conn: Connection, cities: Sequence[str], who: Principal, year: int | None = None,
                        kode: str | None = None, with_geometry: bool = True) -> ProgrammeData:
    """The programmes of `cities` (Kemendagri codes) that `who` sees, of one year (or all), or the one `kode`.
    Locations carry their geometry as GeoJSON text (`geojson`, to about 1 m) and, `with_geometry`, as shapes."""
    cte, _, params = _scope(who, cities, year, kode)
    cols = ", ".join(f"v.{c}" for c in PROGRAMME_COLUMNS)
    programmes = _frame(conn, f"{cte} SELECT {cols}, CASE WHEN v.private THEN v.catatan END, v.private FROM v "
                              "ORDER BY v.kodeskpd, v.kode", params, (*PROGRAMME_COLUMNS, "catatan", "private"))
    # The other tables by the programmes' codes (an index probe each, whatever the planner knows of fresh rows)
    codes = {"kodes": programmes["kode"].tolist(),
             "private": programmes.loc[programmes["private"].astype(bool), "kode"].tolist(),
             "slugs": programmes["project_slug"].dropna().unique().tolist()}
    cols = ", ".join(f"i.{c}" for c in INDICATOR_COLUMNS)
    indicators = _frame(conn, f"SELECT {cols} FROM programme_indicators i WHERE i.programme_kode = ANY(:kodes) "
                              "ORDER BY i.programme_kode, i.batas_periode, i.kode, i.wilayah_kode, i.id",
                        codes, INDICATOR_COLUMNS)
    cols = ", ".join(f"g.{c}" for c in PROGRESS_COLUMNS)
    progress = _frame(conn, f"SELECT {cols}, CASE WHEN g.programme_kode = ANY(:private) THEN g.catatan END, "
                            "CASE WHEN g.programme_kode = ANY(:private) THEN g.oleh END FROM programme_progress g "
                            "WHERE g.programme_kode = ANY(:kodes) ORDER BY g.programme_kode, g.tanggal, g.id",
                      codes, (*PROGRESS_COLUMNS, "catatan", "oleh"))
    union = " UNION ALL ".join(
        f"SELECT '{t}' AS layer, l.id, l.programme_kode, l.nama, l.kodeskpd, l.kecamatan_kode, l.kelurahan_kode, "
        f"ST_AsGeoJSON(l.geom, 5) FROM {t} l WHERE l.programme_kode = ANY(:kodes)"
        for t in LOCATION_TABLES)
    located = _frame(conn, f"SELECT * FROM ({union}) x ORDER BY layer, id", codes, LOCATION_COLUMNS)
    geometry = (shapely.from_geojson(located["geojson"].to_numpy()) if with_geometry and len(located)
                else [None] * len(located))
    locations = gpd.GeoDataFrame(located, geometry=geometry, crs=4326)
    kecamatan = _frame(conn, "SELECT kode, nama, kabkota FROM kecamatan WHERE kabkota = ANY(CAST(:cities AS text[])) "
                             "ORDER BY kode", params, ("kode", "nama", "kabkota"))
    parcels = _frame(conn, "SELECT project_slug, status, status_date, area_ha FROM project_parcels "
                           "WHERE project_slug = ANY(:slugs) AND status = ANY(:acquired)",
                     {**codes, "acquired": list(ACQUIRED)}, ("project_slug", "status", "status_date", "area_ha"))
    centres = _frame(conn, "SELECT kabkota, kelurahan_kode, status FROM business_centers "
                           "WHERE kabkota = ANY(CAST(:cities AS text[]))", params,
                     ("kabkota", "kelurahan_kode", "status"))
    milestones = _frame(conn, "SELECT project_slug, nama, planned_date, actual_date FROM project_milestones "
                              "WHERE project_slug = ANY(:slugs) ORDER BY project_slug, planned_date, id", codes,
                        ("project_slug", "nama", "planned_date", "actual_date"))
    return ProgrammeData(
        programmes=_dates(programmes, DATE_COLUMNS["programmes"]),
        indicators=_dates(indicators, DATE_COLUMNS["indicators"]), progress=_dates(progress, DATE_COLUMNS["progress"]),
        locations=locations, kecamatan=kecamatan,
        parcels=_dates(parcels, ("status_date",)), centres=centres,
        milestones=_dates(milestones, ("planned_date", "actual_date")))


def programme_years(conn: Connection, cities: Sequence[str], who: Principal) -> list[int]:
    """The years of the programmes `who` sees in `cities`, newest first."""
    cte, _, params = _scope(who, cities, None, None)
    return [r[0] for r in conn.execute(text(f"{cte} SELECT DISTINCT tahun FROM v ORDER BY 1 DESC"), params)]
