"""Adding a whole layer from a file (fields inferred), all in one transaction."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

from gis.core.errors import InvalidInput
from gis.data import store
from gis.data.registry import create_layer
from layers.schema import Field, Layer, Style

_DTYPES = {"i": "bigint", "u": "bigint", "f": "number", "b": "boolean", "M": "date"}


def layer_from_frame(gdf: gpd.GeoDataFrame, layer_id: str, title: str, title_en: str, source: str,
                     illustrative: bool, private: set[str]) -> Layer:
    kinds = set(gdf.geom_type.dropna().str.replace("Multi", ""))
    if len(kinds) != 1 or kinds - {"Point", "LineString", "Polygon"}:
        raise InvalidInput(f"a layer holds one kind of geometry; the file has {', '.join(sorted(kinds)) or 'none'}")
    kind = kinds.pop()
    geometry_type = {"Point": "Point", "LineString": "MultiLineString", "Polygon": "MultiPolygon"}[kind]
    unknown = private - set(gdf.columns)
    if unknown:
        raise InvalidInput(f"private fields not in the file: {', '.join(sorted(unknown))}")
    fields = [Field(c.lower(), _DTYPES.get(gdf[c].dtype.kind, "text"), c, c, public=c not in private)
              for c in gdf.columns if c != gdf.geometry.name]
    if geometry_type == "MultiPolygon" and "area_ha" not in {f.name for f in fields}:
        fields.append(Field("area_ha", "number", "Luas (ha)", "Area (ha)", computed=True))
    return Layer(id=layer_id, title_id=title, title_en=title_en, geometry_type=geometry_type,
                 fields=tuple(fields), style=Style(color="#3388ff"), source=source, illustrative=illustrative)


def add_layer_from_file(engine, path: Path, layer_id: str, title: str, title_en: str, source: str,
                        illustrative: bool, private: set[str], metric_srid: int) -> int:
    gdf = gpd.read_file(path)
    if gdf.empty:
        raise InvalidInput(f"{path.name} has no features")
    if gdf.crs is None:
        raise InvalidInput(f"{path.name} declares no coordinate reference system")
    gdf = gdf.to_crs(4326)
    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        i = int(invalid.values.argmax())
        raise InvalidInput(f"feature {i + 1}: invalid geometry ({shapely.is_valid_reason(gdf.geometry.iloc[i])})")
    layer = layer_from_frame(gdf, layer_id, title, title_en, source, illustrative, private)
    gdf.columns = [c.lower() if c != gdf.geometry.name else c for c in gdf.columns]
    with engine.begin() as conn:
        create_layer(conn, layer, metric_srid)
        return store.insert_features(conn, layer, gdf)
