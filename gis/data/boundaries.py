"""Importing a city's administrative boundaries (how another kota/kabupaten adopts the service).

Any file GDAL reads (GeoJSON, GeoPackage, Shapefile...) with Kemendagri codes and names. It is checked whole
before anything is written, then written in one transaction: all or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely
from pyproj import CRS
from sqlalchemy import Connection, Engine, text

from gis.core.errors import InvalidInput, NotFound
from gis.data import store
from gis.data.cities import zoom_for

LEVELS = ("kota", "kecamatan", "kelurahan")
# Level 4 is kelurahan in a kota and mostly desa in a kabupaten: one layer (`kelurahan`, with `jenis`).
LEVEL_ALIASES = {"desa": "kelurahan", "kabkota": "kota"}
# Column names seen in Indonesian boundary files (Kemendagri/BIG exports, cahyadsn, RDTR data standard).
CODE_FIELDS = ("kode", "KODE", "kode_wilayah", "KDEPUM", "KDCPUM", "KDPKAB", "kode_kel", "kode_kec", "code")
NAME_FIELDS = ("nama", "NAMA", "NAMOBJ", "WADMKD", "WADMKC", "WADMKK", "name", "NAME")
# Kemendagri codes nest: 12.75 (kota) . 04 (kecamatan) . 1005 (kelurahan)
CODE_PARTS = {"kota": 2, "kecamatan": 3, "kelurahan": 4}
# Parents' names a kelurahan/desa file may carry (used to name kecamatan and the kab/kota dissolved from it).
PARENT_NAME_FIELDS = {"kecamatan_nama": ("kecamatan", "nama_kecamatan", "WADMKC"),
                      "kota_nama": ("kabkota", "kota", "nama_kabkota", "WADMKK")}
# Parent codes a file may carry itself; they must agree with the feature's own code (codes nest).
PARENT_FIELDS = {"kecamatan": ("kecamatan_kode", "kode_kec", "KDCPUM"),
                 "kota": ("kota_kode", "kabkota_kode", "kode_kab", "KDPKAB")}


def _pick(columns, wanted: str | None, candidates: tuple[str, ...], what: str) -> str:
    if wanted:
        if wanted not in columns:
            raise InvalidInput(f"the {what} field {wanted!r} is not in the file (fields: {', '.join(columns)})")
        return wanted
    for c in candidates:
        if c in columns:
            return c
    raise InvalidInput(
        f"no {what} field found: expected one of {', '.join(candidates)} (or name it with --{what}-field); "
        f"the file has: {', '.join(columns) or 'no attribute fields'}"
    )


def _normalise_code(raw, level: str, label: str) -> str:
    code = str(raw).strip()
    if code.isdigit():  # 1275041005 -> 12.75.04.1005
        code = ".".join(filter(None, (code[:2], code[2:4], code[4:6], code[6:])))
    if len(code.split(".")) != CODE_PARTS[level]:
        raise InvalidInput(f"{label}: code {raw!r} is not a Kemendagri {level} code (e.g. 12.75.04.1005)")
    return code


def read_boundaries(path: Path, level: str, code_field: str | None = None, name_field: str | None = None,
                    repair: bool = False, crs: str | None = None) -> gpd.GeoDataFrame:
    """Read and check a boundary file; returns rows ready for the `level` layer, in EPSG:4326."""
    level = LEVEL_ALIASES.get(level, level)
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)} (or desa), got {level!r}")
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InvalidInput(f"cannot read {path.name}: {exc}") from exc
    if gdf.empty:
        raise InvalidInput(f"{path.name} has no features")
    if crs:
        try:
            gdf = gdf.set_crs(CRS.from_user_input(crs), allow_override=True)
        except Exception as exc:
            raise InvalidInput(f"unknown CRS {crs!r}: {exc}") from exc
    if gdf.crs is None:
        raise InvalidInput(f"{path.name} declares no coordinate reference system; give it with --crs EPSG:xxxx")
    try:
        gdf = gdf.to_crs(4326)
    except Exception as exc:
        raise InvalidInput(f"cannot reproject {path.name} from {gdf.crs.name!r} to EPSG:4326: {exc}") from exc

    code_col = _pick(list(gdf.columns.drop("geometry")), code_field, CODE_FIELDS, "code")
    name_col = _pick(list(gdf.columns.drop("geometry")), name_field, NAME_FIELDS, "name")
    rows, geoms, seen = [], [], set()
    parent_names = {key: next((c for c in fields if c in gdf.columns), None)
                    for key, fields in PARENT_NAME_FIELDS.items()} if level == "kelurahan" else {}
    for i, (raw_code, name, geom) in enumerate(zip(gdf[code_col], gdf[name_col], gdf.geometry, strict=False)):
        label = f"feature {i + 1} ({name or raw_code})"
        if raw_code is None or str(raw_code).strip() in ("", "nan", "None"):
            raise InvalidInput(f"{label}: empty code")
        code = _normalise_code(raw_code, level, label)
        if code in seen:
            raise InvalidInput(f"{label}: code {code} appears twice")
        seen.add(code)
        geoms.append(_checked_geometry(geom, label, repair))
        parts = code.split(".")
        row = {"kode": code, "nama": str(name).strip() if name else code}
        if level == "kota":
            row["provinsi_kode"] = parts[0]
        if level == "kecamatan":
            row["kota_kode"] = ".".join(parts[:2])
        if level == "kelurahan":
            row.update(kecamatan_kode=".".join(parts[:3]), kota_kode=".".join(parts[:2]),
                       jenis="desa" if parts[3].startswith("2") else "kelurahan")
            row.update({key: gdf[col].iloc[i] for key, col in parent_names.items() if col})
        rows.append(row)
    out = gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)
    _check_nesting(gdf, out, level, name_col)
    return out


def _check_nesting(source: gpd.GeoDataFrame, rows: gpd.GeoDataFrame, level: str, name_col: str) -> None:
    """A parent code the file states (e.g. `kecamatan_kode`) must be the prefix of the feature's own code."""
    bad = []
    for parent, fields in PARENT_FIELDS.items():
        column = next((c for c in fields if c in source.columns), None)
        if column is None or CODE_PARTS[parent] >= CODE_PARTS[level]:
            continue
        for i, (stated, code, name) in enumerate(zip(source[column], rows.kode, source[name_col], strict=True)):
            if stated is None or str(stated).strip() in ("", "nan", "None"):
                continue
            stated = _normalise_code(stated, parent, f"feature {i + 1} ({name})")
            prefix = ".".join(code.split(".")[:CODE_PARTS[parent]])
            if stated != prefix:
                bad.append(f"{name} {code} (its {column} is {stated})")
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise InvalidInput(f"codes do not nest: {len(bad)} features have a code outside their stated parent's "
                           f"prefix: {'; '.join(bad[:5])}{more}. Nothing was written")


def _checked_geometry(geom, label: str, repair: bool):
    if geom is None or geom.is_empty:
        raise InvalidInput(f"{label}: empty geometry")
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidInput(f"{label}: a boundary must be a polygon, got {geom.geom_type}")
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        if not repair:
            raise InvalidInput(f"{label}: invalid geometry ({reason}); fix the file or import with --repair")
        fixed = shapely.make_valid(geom)
        polys = [g for g in getattr(fixed, "geoms", [fixed]) if g.geom_type in ("Polygon", "MultiPolygon")]
        geom = shapely.union_all(polys)
        if geom.is_empty:
            raise InvalidInput(f"{label}: invalid geometry ({reason}) and nothing polygonal is left after repair")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidInput(f"{label}: coordinates out of range after reprojection; is the CRS right?")
    return geom


def import_boundaries(engine: Engine, path: Path, level: str, **options) -> int:
    """Check the whole file, then upsert it on the Kemendagri code in one transaction. A feature of a city not
    held is refused by the database once a city is held (`petakota city add` adopts a whole city)."""
    gdf = read_boundaries(path, level, **options)
    with engine.begin() as conn:
        return store.insert_features(conn, LEVEL_ALIASES.get(level, level), gdf, upsert=True)


# --- adopting a whole city ------------------------------------------------------------------------------------

SLIVER_SHARE = 0.005  # overlap with a held city above this share of the smaller one is not a border sliver
LEVEL4_KINDS = ("kelurahan", "desa")


@dataclass(frozen=True)
class Adopted:
    code: str
    name: str
    kind: str
    metric_crs: int
    kecamatan: int
    level4: int  # kelurahan + desa
    desa: int
    replaced: bool  # the city was held already: its boundaries were brought to the files
    removed: int  # kecamatan and kelurahan/desa of the city no longer in the files


def city_kind(code: str) -> str:
    """Kemendagri numbers a province's kabupaten 01-69 and its kota 71-99."""
    return "kota" if int(code.split(".")[1]) >= 71 else "kabupaten"


def utm_crs(bounds: tuple[float, float, float, float]) -> int:
    """The WGS 84 / UTM zone (EPSG) of a city; refused when the city spans two zones (then --crs decides)."""
    west, south, east, north = bounds
    zones = {int((lon + 180) // 6) + 1 for lon in (west, east)}
    if len(zones) > 1:
        raise InvalidInput(f"the city spans UTM zones {' and '.join(map(str, sorted(zones)))}; choose its metric "
                           "CRS with --crs EPSG:xxxx")
    return (32600 if (south + north) / 2 >= 0 else 32700) + zones.pop()


def _metric_crs(crs: str | None, bounds) -> int:
    if not crs:
        return utm_crs(bounds)
    try:
        parsed = CRS.from_user_input(crs)
    except Exception as exc:
        raise InvalidInput(f"unknown CRS {crs!r}: {exc}") from None
    epsg = parsed.to_epsg()
    if not parsed.is_projected or epsg is None or parsed.axis_info[0].unit_name not in ("metre", "meter"):
        raise InvalidInput(f"--crs must be a projected CRS in metres with an EPSG code (e.g. EPSG:32647), "
                           f"got {parsed.name!r}")
    return epsg


def _one_city(level4: gpd.GeoDataFrame, city: str | None, path: Path) -> tuple[gpd.GeoDataFrame, str]:
    counts = level4.kota_kode.value_counts().sort_index()
    if city:
        if city not in counts:
            raise InvalidInput(f"{path.name} has no features of city {city}; it holds "
                               + ", ".join(f"{c} ({n})" for c, n in counts.items()))
        return level4[level4.kota_kode == city].reset_index(drop=True), city
    if len(counts) > 1:
        raise InvalidInput(f"{path.name} mixes {len(counts)} cities: "
                           + ", ".join(f"{c} ({n} features)" for c, n in counts.items())
                           + "; give --city CODE to adopt one of them. Nothing was written")
    return level4, counts.index[0]


def _multi(geom):
    return shapely.MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom


def _name_of(level4: gpd.GeoDataFrame, column: str, code_column: str, code: str) -> str | None:
    if column not in level4.columns:
        return None
    names = level4.loc[level4[code_column] == code, column].dropna()
    return str(names.iloc[0]) if len(names) else None


def _kecamatan(level4: gpd.GeoDataFrame, path: Path | None, code: str, **options) -> gpd.GeoDataFrame:
    """The city's kecamatan: from their file, checked against the kelurahan/desa, or dissolved from these."""
    if path is None:
        dissolved = level4.dissolve(by="kecamatan_kode", as_index=False)[["kecamatan_kode", "geometry"]]
        dissolved = dissolved.rename(columns={"kecamatan_kode": "kode"})
        dissolved["nama"] = [_name_of(level4, "kecamatan_nama", "kecamatan_kode", k) or f"Kecamatan {k}"
                             for k in dissolved.kode]
        dissolved["kota_kode"] = code
        return dissolved.set_geometry([_multi(g) for g in dissolved.geometry], crs=4326)
    kec = read_boundaries(path, "kecamatan", **options)
    strays = kec[kec.kota_kode != code]
    if len(strays):
        raise InvalidInput(f"{path.name}: kecamatan of another city: "
                           + ", ".join(f"{n} {k}" for n, k in zip(strays.nama[:5], strays.kode[:5], strict=True)))
    orphans = level4[~level4.kecamatan_kode.isin(set(kec.kode))]
    if len(orphans):
        raise InvalidInput(f"codes do not nest: {len(orphans)} kelurahan/desa have no kecamatan in {path.name}: "
                           + "; ".join(f"{n} {k}" for n, k in zip(orphans.nama[:5], orphans.kode[:5], strict=True))
                           + ". Nothing was written")
    # Each kelurahan/desa must lie in the kecamatan its code names (tolerance: the files' own slivers).
    by_code = dict(zip(kec.kode, kec.geometry, strict=True))
    points = level4.geometry.representative_point()
    astray = [f"{n} {k} (not inside kecamatan {p})" for n, k, p, pt in
              zip(level4.nama, level4.kode, level4.kecamatan_kode, points, strict=True)
              if not by_code[p].buffer(0.0005).contains(pt)]
    if astray:
        raise InvalidInput(f"codes do not nest: {len(astray)} kelurahan/desa lie outside the kecamatan their code "
                           f"names: {'; '.join(astray[:5])}. Nothing was written")
    return kec


def _kabkota(level4: gpd.GeoDataFrame, path: Path | None, code: str, **options) -> gpd.GeoDataFrame:
    if path is None:
        name = _name_of(level4, "kota_nama", "kota_kode", code) or \
            f"{'Kota' if city_kind(code) == 'kota' else 'Kabupaten'} {code}"
        return gpd.GeoDataFrame({"kode": [code], "nama": [name], "provinsi_kode": [code.split(".")[0]]},
                                geometry=[_multi(shapely.union_all(list(level4.geometry)))], crs=4326)
    kab = read_boundaries(path, "kota", **options)
    if list(kab.kode) != [code]:
        raise InvalidInput(f"{path.name} must hold the one kab/kota {code}; it holds {', '.join(kab.kode)}")
    return kab


def _overlaps(conn: Connection, kab: gpd.GeoDataFrame, code: str, srid: int) -> None:
    """A new city may touch a held one along their border (slivers of imperfect topology), never cover it."""
    rows = conn.execute(text(
        "SELECT kode, nama, ST_Area(ST_Transform(ST_Intersection(geom, g), :srid)) / 1e4 AS shared, "
        "least(ST_Area(ST_Transform(geom, :srid)), ST_Area(ST_Transform(g, :srid))) / 1e4 AS smaller "
        "FROM kota, (SELECT ST_GeomFromWKB(:wkb, 4326) AS g) new WHERE kode <> :code AND ST_Intersects(geom, g)"),
        {"wkb": shapely.to_wkb(kab.geometry.iloc[0]), "code": code, "srid": srid}).all()
    covered = [r for r in rows if r.shared > SLIVER_SHARE * r.smaller]
    if covered:
        raise InvalidInput("the city overlaps a city held: " + ", ".join(
            f"{r.kode} {r.nama} ({r.shared:,.1f} ha shared)" for r in covered)
            + "; is it a second copy of a held city under another code? Nothing was written")


def read_city(path: Path, level: str = "kelurahan", kecamatan: Path | None = None, kabkota: Path | None = None,
              city: str | None = None, **options) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read and check a city's files: (kab/kota, kecamatan, kelurahan/desa), nothing written."""
    if level not in LEVEL4_KINDS:
        raise InvalidInput(f"--level must be kelurahan or desa, got {level!r}")
    level4, code = _one_city(read_boundaries(path, "kelurahan", **options), city, path)
    kec = _kecamatan(level4, kecamatan, code, **options)
    kab = _kabkota(level4, kabkota, code, **options)
    return kab, kec, level4


def _kind(code: str, name: str) -> str:
    lowered = name.lower()
    if lowered.startswith("kota"):
        return "kota"
    return "kabupaten" if lowered.startswith("kab") else city_kind(code)


def add_city(engine: Engine, path: Path, level: str = "kelurahan", *, kecamatan: Path | None = None,
             kabkota: Path | None = None, population: int | None = None, crs: str | None = None,
             city: str | None = None, crs_of_file: str | None = None, **options) -> Adopted:
    """Adopt a city from its kelurahan/desa file (kecamatan and kab/kota from theirs, or dissolved): every file
    checked whole first, then one transaction. `crs` is the city's metric CRS (default: its UTM zone),
    `crs_of_file` the CRS of files that declare none. Adopting a city held already brings its boundaries to the files
    (upserts on the codes, and removes its kecamatan and kelurahan/desa no longer in them): never a copy."""
    kab, kec, level4 = read_city(path, level, kecamatan, kabkota, city, crs=crs_of_file, **options)
    code, name = kab.kode.iloc[0], kab.nama.iloc[0]
    bounds = tuple(float(v) for v in kab.total_bounds)
    srid = _metric_crs(crs, bounds)
    if population is not None and population < 0:
        raise InvalidInput(f"--population must be 0 or more, got {population}")
    inside = kab.geometry.iloc[0].representative_point()
    kab = kab.assign(jenis=_kind(code, name), metric_crs=srid, center_lon=inside.x, center_lat=inside.y,
                     zoom=zoom_for(bounds))
    if population is not None:  # else a re-adoption keeps the population held
        kab["population"] = population
    with engine.begin() as conn:
        # One adoption at a time: two overlapping cities cannot both pass the overlap check.
        conn.execute(text("LOCK TABLE kota IN SHARE ROW EXCLUSIVE MODE"))
        _overlaps(conn, kab, code, srid)
        held = conn.execute(text("SELECT 1 FROM kota WHERE kode = :c"), {"c": code}).first() is not None
        store.insert_features(conn, "kota", kab, upsert=True)
        store.insert_features(conn, "kecamatan", kec, upsert=True)
        store.insert_features(conn, "kelurahan", level4, upsert=True)
        removed = sum(conn.execute(text(f"DELETE FROM {table} WHERE kota_kode = :c AND kode <> ALL(:keep)"),
                                   {"c": code, "keep": list(codes)}).rowcount
                      for table, codes in (("kelurahan", level4.kode), ("kecamatan", kec.kode)))
        _adopt_unplaced(conn, code)
        conn.execute(text("ANALYZE kota, kecamatan, kelurahan"))  # the planner sees the new city at once
    return Adopted(code, name, _kind(code, name), srid, len(kec), len(level4), int((level4.jenis == "desa").sum()),
                   held, removed)


def _adopt_unplaced(conn: Connection, code: str) -> None:
    """Rows written while no city was held have no city: those in the new one are now its own (the trigger
    places them again)."""
    from gis.data.registry import load_catalog
    from layers.tables import city_source

    for layer in load_catalog(conn).values():
        if city_source(layer) == "geom":
            conn.execute(text(f"UPDATE {layer.id} SET kabkota = NULL WHERE kabkota IS NULL AND ST_Intersects(geom, "
                              "(SELECT geom FROM kota WHERE kode = :c))"), {"c": code})


def remove_city(engine: Engine, code: str) -> dict[str, int]:
    """Remove a city and every row of every layer in it (one transaction; the history keeps what was deleted).
    Returns the rows removed per layer."""
    from gis.data.registry import load_catalog

    with engine.begin() as conn:
        held = dict(conn.execute(text("SELECT kode, nama FROM kota ORDER BY kode")).all())
        if code not in held:
            raise NotFound(f"no city {code[:20]!r} is held; cities held: "
                           + (", ".join(f"{k} {n}" for k, n in held.items()) or "none"))
        layers = [layer_id for layer_id in load_catalog(conn) if layer_id != "kota"] + ["kota"]
        counts = {layer_id: conn.execute(text(f"DELETE FROM {layer_id} WHERE kabkota = :c"), {"c": code}).rowcount
                  for layer_id in layers}
    return counts
