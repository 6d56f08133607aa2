"""Conversions between what analysts hold (GeoDataFrames, shapely geometries, dates) and what the service
speaks (GeoJSON in lon/lat, OGC CRS URIs, query values), and the typed results of processes."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
MAX_PAGE = 10_000  # the service's largest `limit`


def _plain(value: Any) -> Any:
    """A value as strict JSON: numpy scalars -> numbers, dates -> YYYY-MM-DD (or ISO time), NaN/NaT/NA -> None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() and value.tzinfo is None \
            else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _geometry(value: Any) -> dict:
    """A GeoJSON geometry (lon/lat) from a shapely geometry, a GeoDataFrame/GeoSeries (their union, reprojected
    to EPSG:4326), a GeoJSON Feature or a GeoJSON geometry."""
    if isinstance(value, gpd.GeoDataFrame):
        value = value.geometry
    if isinstance(value, gpd.GeoSeries):
        if value.crs is not None:
            value = value.to_crs(4326)
        value = value[~(value.isna() | value.is_empty)].union_all()
    if isinstance(value, BaseGeometry):
        return mapping(value)
    if isinstance(value, Mapping):
        if value.get("type") == "Feature":
            return dict(value["geometry"])
        return dict(value)
    raise TypeError(f"expected a shapely geometry, GeoDataFrame, GeoSeries or GeoJSON, got {type(value).__name__}")


def _input(value: Any) -> Any:
    """A process input as JSON: geometries become GeoJSON (lon/lat), the rest plain JSON."""
    if isinstance(value, BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries):
        return _geometry(value)
    if isinstance(value, Mapping):
        return {str(k): _input(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_input(v) for v in value]
    return _plain(value)


def _features(data: gpd.GeoDataFrame | Mapping | Iterable) -> list[dict]:
    """GeoJSON Features (lon/lat) to write, from a GeoDataFrame (its index is ignored: the service numbers new
    features), a Feature, a FeatureCollection or a list of Features."""
    if isinstance(data, gpd.GeoDataFrame):
        if data.crs is None:
            raise ValueError("the GeoDataFrame has no CRS: set it (e.g. gdf.set_crs(4326)) before writing")
        gdf = data.to_crs(4326)
        geom_col = gdf.geometry.name
        out = []
        for row, geom in zip(gdf.drop(columns=geom_col).to_dict("records"), gdf.geometry, strict=True):
            props = {k: v for k, v in ((str(k), _plain(v)) for k, v in row.items()) if v is not None}
            out.append({"type": "Feature", "properties": props,
                        "geometry": None if geom is None or geom.is_empty else mapping(geom)})
        return out
    if isinstance(data, Mapping):
        if data.get("type") == "FeatureCollection":
            return _features(data.get("features") or [])
        data = [data]
    out = []
    for f in data:
        if not isinstance(f, Mapping):
            raise TypeError(f"expected GeoJSON Features, got {type(f).__name__}")
        geom = f.get("geometry")
        out.append({"type": "Feature", "properties": _plain(dict(f.get("properties") or {})),
                    "geometry": None if geom is None else _geometry(geom)})
    return out


def _crs_request(crs: Any) -> str | None:
    """The `crs` query value for a wanted output CRS: None (CRS84, lon/lat) for WGS 84 in any axis order."""
    if crs is None:
        return None
    if isinstance(crs, str) and crs.strip("<>").rstrip("/").endswith("CRS84"):
        return None
    c = CRS.from_user_input(crs)
    if c.is_geographic and c.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return None
    epsg = c.to_epsg()
    if epsg is None:
        raise ValueError(f"crs {crs!r} has no EPSG code; the service offers CRS84 and a few EPSG codes")
    return EPSG_URI.format(epsg)


def _content_crs(header: str | None) -> tuple[str, bool]:
    """(CRS for the frame, whether the coordinates come latitude first) from a Content-Crs header."""
    uri = (header or "").strip().strip("<>")
    m = re.search(r"EPSG/0/(\d+)$", uri)
    if not m:
        return "EPSG:4326", False  # CRS84, or no header: GeoJSON's lon/lat
    epsg = int(m.group(1))
    return f"EPSG:{epsg}", epsg == 4326  # the service's EPSG:4326 is latitude, longitude (OGC axis order)


def _frame(features: list[dict], crs: str, lat_lon: bool = False, layer: str | None = None,
           fields: Mapping[str, str] | None = None) -> gpd.GeoDataFrame:
    """A GeoDataFrame from GeoJSON Features: index = feature ids (when they have them), date fields as dates."""
    props = pd.DataFrame.from_records([f.get("properties") or {} for f in features])
    if not features and fields:
        props = pd.DataFrame(columns=list(fields))
    geoms = np.array([shape(f["geometry"]) if f.get("geometry") else None for f in features], dtype=object)
    if lat_lon and len(geoms):
        geoms = shapely.transform(geoms, lambda xy: xy[:, ::-1])
    ids = [f.get("id") for f in features]
    index = pd.Index(ids, name="id") if ids and all(i is not None for i in ids) else pd.RangeIndex(len(features))
    props.index = index
    for name, kind in (fields or {}).items():
        if kind == "date" and name in props.columns:
            props[name] = pd.to_datetime(props[name], errors="coerce")
    gdf = gpd.GeoDataFrame(props, geometry=gpd.GeoSeries(list(geoms), index=index, crs=crs), crs=crs)
    if layer:
        gdf.attrs["layer"] = layer
    return gdf


def _is_feature_collection(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get("type") == "FeatureCollection" and "features" in value


def _is_raster_ref(value: Any) -> bool:
    return isinstance(value, Mapping) and "id" in value and "tiles" in value and "type" not in value


# --- process results --------------------------------------------------------------------------------------

def _names(value: Iterable[str] | str) -> list[str]:
    return [p.strip() for p in value.split(",")] if isinstance(value, str) else list(value)


def _datetime_param(value: Any) -> str:
    """A `datetime` query value: one date, or an interval from a (start, end) tuple (None = open)."""
    if isinstance(value, tuple | list):
        start, end = value
        return f"{_plain(start) or '..'}/{_plain(end) or '..'}"
    return str(_plain(value))
