"""Measuring drawn geometries in the city's metric CRS (hectares and metres, never degrees)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import shape

from gis.core.errors import InvalidInput
from gis.data.edits import check_coordinates


def measure(geojson: dict, metric_crs: int) -> dict:
    if not isinstance(geojson, dict):
        raise InvalidInput("geometry must be a GeoJSON geometry object")
    check_coordinates(geojson)
    try:
        geom = shape(geojson)
    except Exception:
        raise InvalidInput("geometry is not valid GeoJSON") from None
    if geom.is_empty:
        raise InvalidInput("geometry is empty")
    xy = shapely.get_coordinates(geom)
    if not np.isfinite(xy).all() or (np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any():
        raise InvalidInput("coordinates must be longitude/latitude (CRS84) within -180..180, -90..90")
    metric = gpd.GeoSeries([geom], crs=4326).to_crs(metric_crs).iloc[0]
    polygonal = geom.geom_type.endswith("Polygon")
    return {
        "type": geom.geom_type,
        "crs": f"EPSG:{metric_crs}",
        "area_m2": metric.area if polygonal else 0.0,
        "area_ha": metric.area / 1e4 if polygonal else 0.0,
        "length_m": metric.boundary.length if polygonal else metric.length,
        "valid": bool(geom.is_valid),
    }
