"""Reading an RDTR package as published: the zoning layer and its special-provision overlays, with the data
standard's attribute names (layers.rdtr), in the CRS the file declares. No database: the importer validates and
writes what this returns.

Accepted: a GeoPackage; a Shapefile (the .shp: that one layer; or a directory: every .shp in it); a .zip holding
a GeoPackage, a FileGDB folder or shapefiles (read through GDAL's /vsizip/); a FileGDB directory (.gdb).
Attribute and layer names are matched case-insensitively.
- Zones: the polygon layer carrying KODSZN (or the field map's "layer"); when no layer carries it and one
  polygon layer is not an overlay, that one (the validator then reports the missing field).
- Overlays: another polygon layer whose name contains an overlay code of layers.rdtr.OVERLAYS (`LP2B_2`,
  `lp2b_2_binjai`) or the code's first part as a word (`KRB_BINJAI`), or one named in the field map's
  "overlays"; else a polygon layer with a KODE/JNSKKH/KODKKH column whose values are overlay codes or names.
- Overlay flag columns on the zones (`KRB_03`...) are kept as text columns.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from gis.core.errors import InvalidInput
from layers.rdtr import NUMERIC_FIELDS, OVERLAYS, STANDARD_FIELDS, column

_POLYGONAL = {"Polygon", "MultiPolygon"}
_OVERLAY_CODE_COLUMNS = ("KODE", "JNSKKH", "KODKKH")
_MAP_KEYS = set(STANDARD_FIELDS) | set(OVERLAYS)


class PackageError(InvalidInput):
    """A file-level problem: the package cannot be read as an RDTR (see `code` and `problem`)."""

    def __init__(self, code: str, message_id: str, message_en: str, **details):
        super().__init__(message_en)
        self.code = code
        self.problem = {"code": code, "severity": "error", "message": {"id": message_id, "en": message_en},
                        "features": [], "location": None, **details}


@dataclass
class RdtrPackage:
    zones: gpd.GeoDataFrame
    overlays: dict[str, gpd.GeoDataFrame]
    source: str
    zone_layer: str
    crs: CRS
    fields: dict[str, str] = field(default_factory=dict)


def read_field_map(path) -> dict:
    """A field map file: {"KODSZN": "kode_subzona", ..., "layer": "...", "overlays": {"LP2B_2": "..."}}."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as e:
        raise InvalidInput(f"field map {path.name}: cannot be read ({e.strerror or e})") from e
    except ValueError as e:
        raise InvalidInput(f"field map {path.name} is not valid JSON ({e}); expected an object such as "
                           '{"KODSZN": "kode_subzona", "NAMSZN": "nama_sub"}') from e
    return check_field_map(data, path.name)


def check_field_map(data, name: str = "field map") -> dict:
    """The field map with its keys in upper case, or InvalidInput naming each key that is not a standard name."""
    if not isinstance(data, dict):
        raise InvalidInput(f"{name}: expected a JSON object mapping standard names to the file's field names")
    out: dict = {}
    for key, value in data.items():
        k = str(key).strip()
        if k.lower() == "layer":
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(f'{name}: "layer" must be the name of the zoning layer')
            out["layer"] = value.strip()
        elif k.lower() == "overlays":
            if not isinstance(value, dict):
                raise InvalidInput(f'{name}: "overlays" must map overlay codes to layer names')
            bad = sorted(str(c) for c in value if str(c).upper() not in OVERLAYS)
            if bad:
                raise InvalidInput(f"{name}: unknown overlay code(s) {', '.join(bad)}; "
                                   f"known: {', '.join(OVERLAYS)}")
            out["overlays"] = {str(c).upper(): str(v) for c, v in value.items()}
        elif k.upper() in _MAP_KEYS:
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(f"{name}: {k} must map to the file's field name (text)")
            out[k.upper()] = value.strip()
        else:
            raise InvalidInput(f"{name}: {k!r} is not a standard name; use {', '.join(STANDARD_FIELDS)}, an "
                               f'overlay code ({", ".join(OVERLAYS)}), "layer" or "overlays"')
    return out


def read_package(path, field_map: dict | None = None, max_bytes: int = 1 << 30) -> RdtrPackage:
    """The zones and overlays of an RDTR package, or PackageError (no_layer, no_crs, unreadable,
    file_too_large, field_map_absent, not_polygons)."""
    path = Path(path)
    fmap = check_field_map(field_map or {})
    if not path.exists():
        raise PackageError("unreadable", f"{path} tidak ditemukan", f"{path} does not exist")
    _check_size(path, max_bytes)
    sources = _sources(path)
    if not sources:
        raise PackageError("no_layer", f"{path.name} tidak memuat layer peta (GeoPackage, Shapefile, FileGDB)",
                           f"{path.name} holds no map layer (GeoPackage, Shapefile or FileGDB)")
    infos = {name: _info(ds, layer, path) for name, (ds, layer) in sources.items()}
    zone_name = _zone_layer(infos, fmap, path)
    zinfo = infos[zone_name]
    if zinfo["crs"] is None:
        raise PackageError("no_crs", f"layer {zone_name} tidak menyatakan sistem koordinat (mis. .prj hilang)",
                           f"layer {zone_name} declares no coordinate reference system (e.g. a missing .prj); "
                           "add it or save the file with its CRS", layer=zone_name)
    crs = CRS.from_user_input(zinfo["crs"])
    used = _resolve_fields(zinfo["fields"], fmap, zone_name)
    zones = _read_zones(sources[zone_name], zone_name, zinfo, used, path)
    overlays = _read_overlays(sources, infos, zone_name, fmap, path)
    return RdtrPackage(zones=zones, overlays=overlays, source=str(path), zone_layer=zone_name, crs=crs,
                       fields=used)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    if path.suffix.lower() == ".shp":
        return sum(p.stat().st_size for p in path.parent.glob(path.stem + ".*") if p.is_file())
    return path.stat().st_size


def _check_size(path: Path, max_bytes: int) -> None:
    size = _size(path)
    if size <= max_bytes and path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:  # what GDAL would inflate
            size = max(size, sum(i.file_size for i in z.infolist()))
    if size > max_bytes:
        mb, limit = size / 2**20, max_bytes / 2**20
        raise PackageError("file_too_large", f"{path.name} berukuran {mb:,.0f} MB, melebihi batas {limit:,.0f} MB",
                           f"{path.name} is {mb:,.0f} MB, over the {limit:,.0f} MB limit; split the package or "
                           "raise the limit", size_bytes=size, max_bytes=max_bytes)


def _sources(path: Path) -> dict[str, tuple[str, str | None]]:
    """Layer name -> (GDAL datasource, layer within it)."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return _zip_sources(path)
    if path.is_dir() and suffix != ".gdb":
        shps = sorted(p for p in path.iterdir() if p.suffix.lower() == ".shp")
        if shps:
            return {p.stem: (str(p), None) for p in shps}
        inner = sorted(p for p in path.iterdir() if p.suffix.lower() in (".gpkg", ".gdb"))
        return _layers_of(str(inner[0]), path) if inner else {}
    if suffix == ".shp":
        return {path.stem: (str(path), None)}
    return _layers_of(str(path), path)


def _zip_sources(path: Path) -> dict[str, tuple[str, str | None]]:
    try:
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if not n.startswith("__MACOSX")]
    except (zipfile.BadZipFile, OSError) as e:
        raise PackageError("unreadable", f"{path.name} bukan arsip zip yang utuh", f"{path.name} is not a readable "
                           f"zip archive ({e})") from e
    root = f"/vsizip/{path.resolve()}"
    for ext in (".gpkg", ".gdb"):
        inner = sorted({n[: n.lower().index(ext) + len(ext)] for n in names if ext in n.lower()})
        if inner:
            return _layers_of(f"{root}/{inner[0]}", path)
    return {Path(n).stem: (f"{root}/{n}", None) for n in sorted(names) if n.lower().endswith(".shp")}


def _layers_of(datasource: str, path: Path) -> dict[str, tuple[str, str | None]]:
    try:
        layers = pyogrio.list_layers(datasource)
    except Exception as e:  # GDAL's own message says why (corrupt file, unknown format)
        raise _unreadable(path, e) from e
    return {str(name): (datasource, str(name)) for name, _ in layers}


def _unreadable(path: Path, e: Exception) -> PackageError:
    return PackageError("unreadable", f"{path.name} tidak dapat dibaca GDAL: {e}",
                        f"{path.name} cannot be read by GDAL: {e}. Use a GeoPackage, Shapefile set, zip or FileGDB")


def _info(datasource: str, layer: str | None, path: Path) -> dict:
    try:
        info = pyogrio.read_info(datasource, layer=layer)
    except Exception as e:
        raise _unreadable(path, e) from e
    return {"fields": [str(f) for f in info["fields"]], "crs": info["crs"], "fid_column": info["fid_column"],
            "geometry_type": str(info["geometry_type"] or "").replace(" Z", "").replace(" M", "")}


def _find(fields: list[str], name: str) -> str | None:
    exact = [f for f in fields if f.strip().upper() == name.strip().upper()]
    return exact[0] if exact else None


def _find_layer(infos: dict, name: str) -> str | None:
    return next((n for n in infos if n.upper() == name.upper()), None)


def _overlay_of_name(name: str) -> str | None:
    upper = name.upper()
    for code in OVERLAYS:
        if code in upper:
            return code
    words = set(re.split(r"[^A-Z0-9]+", upper.replace("_", " ")))
    return next((code for code in OVERLAYS if code.split("_")[0] in words), None)


def _maybe_polygonal(info: dict) -> bool:
    return info["geometry_type"] not in ("Point", "MultiPoint", "LineString", "MultiLineString")


def _zone_layer(infos: dict, fmap: dict, path: Path) -> str:
    names = ", ".join(infos)
    if "layer" in fmap:
        found = _find_layer(infos, fmap["layer"])
        if found is None:
            raise PackageError("field_map_absent", f"layer {fmap['layer']!r} dari peta atribut tidak ada; layer: "
                               f"{names}", f"the field map names layer {fmap['layer']!r}, which {path.name} does "
                               f"not have; its layers: {names}", field=fmap["layer"], available=list(infos))
        return _check_polygons(found, infos[found])
    kodszn = fmap.get("KODSZN", "KODSZN")
    carrying = sorted((n for n, info in infos.items() if _find(info["fields"], kodszn)),
                      key=lambda n: _overlay_of_name(n) is not None)
    if carrying:
        polygons = [n for n in carrying if _maybe_polygonal(infos[n])]
        return polygons[0] if polygons else _check_polygons(carrying[0], infos[carrying[0]])
    plain = [n for n in infos if _overlay_of_name(n) is None]
    if len(plain) == 1:
        return _check_polygons(plain[0], infos[plain[0]])
    raise PackageError("no_layer", f"tidak ada layer zonasi dengan atribut {kodszn} di {path.name}; layer: {names}",
                       f"no zoning layer with a {kodszn} field in {path.name} (layers: {names}); name it with "
                       '"layer" in a field map, or map KODSZN to the file\'s field', available=list(infos))


def _check_polygons(name: str, info: dict) -> str:
    if not _maybe_polygonal(info):
        raise _not_polygons(name, info["geometry_type"])
    return name


def _not_polygons(name: str, kind: str) -> PackageError:
    return PackageError("not_polygons", f"layer zonasi {name} berisi {kind}, bukan poligon",
                        f"the zoning layer {name} holds {kind} geometries, not polygons", layer=name)


def _resolve_fields(fields: list[str], fmap: dict, layer: str) -> dict[str, str]:
    used, absent = {}, []
    for name in (*STANDARD_FIELDS, *OVERLAYS):
        wanted = fmap.get(name, name)
        found = _find(fields, wanted)
        if found is not None:
            used[name] = found
        elif name in fmap:
            absent.append(f"{name} -> {wanted}")
    if absent:
        listed = ", ".join(fields)
        raise PackageError("field_map_absent", f"peta atribut menyebut kolom yang tidak ada di layer {layer}: "
                           f"{'; '.join(absent)}. Kolom yang ada: {listed}",
                           f"the field map names fields that layer {layer} does not have: {'; '.join(absent)}. "
                           f"Its fields: {listed}", field=absent, available=fields)
    return used


def _read(source: tuple[str, str | None], path: Path) -> gpd.GeoDataFrame:
    datasource, layer = source
    try:
        return pyogrio.read_dataframe(datasource, layer=layer, fid_as_index=True)
    except Exception as e:
        raise _unreadable(path, e) from e


def _fids(gdf: gpd.GeoDataFrame, info: dict) -> list[int]:
    # Shapefiles have no FID of their own: GDAL numbers records from 0, the standard's row number from 1.
    offset = 0 if info["fid_column"] else 1
    return [int(i) + offset for i in gdf.index]


def as_text(values: pd.Series) -> list[str | None]:
    """Text values as written in the file (1.0 read from a number column -> "1"), None for empty."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
            continue
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        s = str(v).strip()
        out.append(s or None)
    return out


def _multipolygons(geoms, name: str) -> list:
    kinds = {g.geom_type for g in geoms if g is not None and not g.is_empty}
    if kinds - _POLYGONAL:
        raise _not_polygons(name, ", ".join(sorted(kinds - _POLYGONAL)))
    geoms = shapely.force_2d(geoms)
    return [shapely.MultiPolygon([g]) if g is not None and g.geom_type == "Polygon" else g for g in geoms]


def _read_zones(source, name: str, info: dict, used: dict[str, str], path: Path) -> gpd.GeoDataFrame:
    raw = _read(source, path)
    data: dict[str, list] = {}
    for std, found in used.items():
        if std in NUMERIC_FIELDS:
            text = pd.Series(as_text(raw[found]), dtype=object).str.replace(",", ".", regex=False)
            data[column(std)] = pd.to_numeric(text, errors="coerce").astype(float).tolist()
        else:
            data[column(std)] = as_text(raw[found])
    data["fid"] = _fids(raw, info)
    return gpd.GeoDataFrame(data, geometry=_multipolygons(raw.geometry.values, name), crs=raw.crs)


def _read_overlays(sources: dict, infos: dict, zone_name: str, fmap: dict, path: Path) -> dict:
    chosen: dict[str, list[str]] = {}
    for code, layer in fmap.get("overlays", {}).items():
        found = _find_layer(infos, layer)
        if found is None:
            raise PackageError("field_map_absent", f"layer overlay {layer!r} ({code}) tidak ada di {path.name}",
                               f"the field map names overlay layer {layer!r} ({code}), which {path.name} does "
                               f"not have; its layers: {', '.join(infos)}", field=layer, available=list(infos))
        chosen.setdefault(found, []).append(code)
    out: dict[str, list[gpd.GeoDataFrame]] = {}
    for name, info in infos.items():
        if name == zone_name or not _maybe_polygonal(info) or info["crs"] is None:
            continue
        code = chosen[name][0] if name in chosen else _overlay_of_name(name)
        code_column = next((f for c in _OVERLAY_CODE_COLUMNS if (f := _find(info["fields"], c))), None)
        if code is None and code_column is None:
            continue
        raw = _read(sources[name], path)
        if code is not None:
            codes = [code] * len(raw)
        else:
            codes = [_overlay_of_value(v) for v in as_text(raw[code_column])]
        namobj = _find(info["fields"], "NAMOBJ")
        frame = gpd.GeoDataFrame({"kode": codes, "namobj": as_text(raw[namobj]) if namobj else [None] * len(raw),
                                  "fid": _fids(raw, info)}, geometry=_multipolygons(raw.geometry.values, name),
                                 crs=raw.crs)
        frame = frame[frame["kode"].notna()]
        for kode, part in frame.groupby("kode", sort=False):
            out.setdefault(str(kode), []).append(part)
    return {k: gpd.GeoDataFrame(pd.concat([p.to_crs(parts[0].crs) for p in parts], ignore_index=True),
                                crs=parts[0].crs) for k, parts in out.items()}


def _overlay_of_value(value: str | None) -> str | None:
    if not value:
        return None
    by_code = _overlay_of_name(value)
    if by_code:
        return by_code
    return next((code for code, (name_id, _) in OVERLAYS.items() if name_id.lower() == value.lower()), None)
