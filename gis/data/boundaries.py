"""Importing a city's administrative boundaries (how another kota/kabupaten adopts the service).

Any file GDAL reads (GeoJSON, GeoPackage, Shapefile...) with Kemendagri codes and names. It is checked whole
before anything is written, then written in one transaction: all or nothing."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely
from pyproj import CRS
from sqlalchemy import Engine

from gis.core.errors import InvalidInput
from gis.data import store

LEVELS = ("kota", "kecamatan", "kelurahan")
# Column names seen in Indonesian boundary files (Kemendagri/BIG exports, cahyadsn, RDTR data standard).
CODE_FIELDS = ("kode", "KODE", "kode_wilayah", "KDEPUM", "KDCPUM", "KDPKAB", "kode_kel", "kode_kec", "code")
NAME_FIELDS = ("nama", "NAMA", "NAMOBJ", "WADMKD", "WADMKC", "WADMKK", "name", "NAME")
# Kemendagri codes nest: 12.75 (kota) . 04 (kecamatan) . 1005 (kelurahan)
CODE_PARTS = {"kota": 2, "kecamatan": 3, "kelurahan": 4}


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
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
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
        rows.append(row)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)


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
    """Check the whole file, then upsert it on the Kemendagri code in one transaction."""
    gdf = read_boundaries(path, level, **options)
    with engine.begin() as conn:
        return store.insert_features(conn, level, gdf, upsert=True)
