"""Writing GeoDataFrames into layer tables, driven by the layer declarations. Identifiers come only from the
declarations (never from user input); values are always bound parameters."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import datetime

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import Connection, text

from gis.core.errors import InvalidInput
from gis.data.cities import inside_cities
from gis.data.registry import find_layer
from layers.schema import Layer


def geom_sql(layer: Layer) -> str:
    """SQL for the bound `:wkb` parameter as a geometry of the layer's type (Multi* promoted)."""
    expr = "ST_GeomFromWKB(:wkb, 4326)"
    return f"ST_Multi({expr})" if layer.geometry_type.startswith("Multi") else expr


def _plain(value):
    """numpy / pandas scalars -> plain Python values psycopg understands; NaN/NaT -> NULL."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "to_pydatetime"):
        try:
            value = value.to_pydatetime()
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value.date()
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    return value


def _rows(layer: Layer, gdf: gpd.GeoDataFrame, columns: list[str]) -> Iterable[dict]:
    if gdf.crs is None or gdf.crs.to_epsg() != 4326:
        raise InvalidInput(f"layer {layer.id}: features must be in EPSG:4326 before writing")
    for record, geom in zip(gdf[columns].itertuples(index=False, name=None), gdf.geometry, strict=False):
        row = {c: _plain(v) for c, v in zip(columns, record, strict=False)}
        row["wkb"] = shapely.to_wkb(shapely.force_2d(geom))
        yield row


def _layer(conn: Connection, layer: Layer | str) -> Layer:
    """A declaration, or the live catalog's layer of that id (built-in or added at runtime)."""
    return layer if isinstance(layer, Layer) else find_layer(conn, layer)


def insert_features(conn: Connection, layer: Layer | str, gdf: gpd.GeoDataFrame, upsert: bool = False) -> int:
    """Insert features (upserting on the layer's key if asked). Returns the number written."""
    layer = _layer(conn, layer)
    columns = [f.name for f in layer.fields if not f.computed and f.name in gdf.columns]
    names = ", ".join([*columns, "geom"])
    values = ", ".join([*(f":{c}" for c in columns), geom_sql(layer)])
    sql = f"INSERT INTO {layer.id} ({names}) VALUES ({values})"
    if upsert:
        if not layer.key:
            raise InvalidInput(f"layer {layer.id} has no key to upsert on")
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in [*columns, "geom"] if c != layer.key)
        sql += f" ON CONFLICT ({layer.key}) DO UPDATE SET {updates}"
    rows = list(_rows(layer, gdf, columns))
    if rows:
        with inside_cities():
            conn.execute(text(sql), rows)
    return len(rows)


def replace_features(conn: Connection, layer: Layer | str, gdf: gpd.GeoDataFrame) -> int:
    layer = _layer(conn, layer)
    conn.execute(text(f"DELETE FROM {layer.id}"))
    return insert_features(conn, layer, gdf)


def count(conn: Connection, layer: Layer | str) -> int:
    return conn.execute(text(f"SELECT count(*) FROM {_layer(conn, layer).id}")).scalar_one()


def read_layer(conn: Connection, layer: Layer | str, include_private: bool = False) -> gpd.GeoDataFrame:
    """A whole layer as a GeoDataFrame (EPSG:4326), private fields only when asked; `attrs` carry the layer's
    id and declaration (JSON)."""
    layer = _layer(conn, layer)
    fields = layer.fields if include_private else layer.public_fields
    cols = ", ".join(["id", *(f.name for f in fields), "geom"])
    gdf = gpd.read_postgis(text(f"SELECT {cols} FROM {layer.id} ORDER BY id"), conn, geom_col="geom")
    # What `gis.render.explore` needs to draw the frame with its layer's style and legend. JSON text, because
    # pandas deep-copies attrs on every operation and a string costs nothing to copy.
    gdf.attrs["layer"] = layer.id
    gdf.attrs["declaration"] = json.dumps(layer.to_dict(include_private=include_private))
    return gdf


def write_rows(conn: Connection, table: str, rows: list[dict], key: Iterable[str]) -> None:
    """Replace a non-spatial table's rows (ITBX, raster registry)."""
    if not rows:
        return
    cols = list(rows[0])
    key_cols = ", ".join(key)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c not in key)
    conn.execute(
        text(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)}) "
             f"ON CONFLICT ({key_cols}) DO UPDATE SET {updates}"),
        [{c: _plain(r.get(c)) for c in cols} for r in rows],
    )
