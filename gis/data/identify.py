"""What is at a clicked point: the features of each visible layer there, most specific first (points, then
lines, nearest first; then polygons, smallest first), each with its properties as label/value pairs written for
the reader's language (labels from the declarations, coded values by their declared or legend labels, numbers
and dates as `gis.core.language` writes them) and the raw value.

A point or line counts when it lies within a few screen pixels of the click at the map's zoom; a polygon when it
contains the click (a layer drawing small features at a minimum size also counts a small polygon whose marker
is within those pixels). Private fields reach only a key that reads them: every private field of the layer for
an unlimited key, in the features lying in its cities for a key limited to cities."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from numbers import Number

from sqlalchemy import Connection, text

from gis.core.errors import InvalidInput
from gis.core.language import format_date, format_datetime, format_number, lang_of
from gis.data.auth import Principal
from layers.schema import Field, Layer
from layers.tables import CITY_COLUMN

CLICK_PIXELS = 5  # the tolerance of a click (a finger on a phone covers more; the map may ask a higher zoom)
MAX_LAYERS = 30
PER_LAYER = 20  # features per layer at one point, at most
EARTH_CIRCUMFERENCE_M = 40_075_016.686
_YES_NO = {"id": ("Ya", "Tidak"), "en": ("Yes", "No")}
_EMPTY = "\u2014"
_ORDER = {"point": 0, "line": 1, "polygon": 2}


@dataclass(frozen=True)
class Point:
    lon: float
    lat: float


def check_point(lon: float | None, lat: float | None) -> Point:
    missing = [name for name, v in (("lon", lon), ("lat", lat)) if v is None]
    if missing:
        raise InvalidInput(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} required: the clicked "
                           f"point in WGS 84 degrees, e.g. lon=98.49&lat=3.6")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise InvalidInput(f"lon {lon} is outside -180..180: give the longitude in degrees")
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise InvalidInput(f"lat {lat} is outside -90..90: give the latitude in degrees")
    return Point(lon, lat)


def check_layers(value: str | None, catalog: dict[str, Layer], who: Principal) -> list[Layer]:
    """The layers named (in their order, once each), each one the caller sees; an unknown one is refused
    naming the layers there are."""
    names = list(dict.fromkeys(n.strip() for n in (value or "").split(",") if n.strip()))
    visible = [layer_id for layer_id, layer in catalog.items() if who.sees_layer(layer)]
    if not names:
        raise InvalidInput(f"layers is required: the visible layers, comma-separated; layers: {', '.join(visible)}")
    if len(names) > MAX_LAYERS:
        raise InvalidInput(f"at most {MAX_LAYERS} layers per request")
    unknown = [n for n in names if n not in visible]
    if unknown:
        raise InvalidInput(f"unknown layer {', '.join(repr(n[:60]) for n in unknown)} in layers; layers: "
                           f"{', '.join(visible)}")
    return [catalog[n] for n in names]


def tolerance_m(zoom: float, lat: float, pixels: float = CLICK_PIXELS) -> float:
    """Metres covered by `pixels` screen pixels of a Web Mercator map at `zoom` and latitude `lat`."""
    return pixels * EARTH_CIRCUMFERENCE_M * math.cos(math.radians(lat)) / (256 * 2 ** zoom)


def geometry_kind(layer: Layer) -> str:
    if layer.is_polygon:
        return "polygon"
    return "line" if "Line" in layer.geometry_type else "point"


# --- formatting ---------------------------------------------------------------------------------------------

def format_field(layer: Layer, field: Field, value: object, lang: str) -> str:
    """A value as a popup shows it in `lang`."""
    if value is None or value == "":
        return _EMPTY
    labels = layer.value_labels(field.name)
    if labels and str(value) in labels:
        return labels[str(value)][lang == "en"]
    if isinstance(value, bool):
        return _YES_NO[lang][0 if value else 1]
    if isinstance(value, datetime):
        return format_datetime(value, lang)
    if isinstance(value, date):
        return format_date(value, lang)
    if isinstance(value, Number) and not math.isfinite(float(value)):
        return _EMPTY if math.isnan(float(value)) else str(value)
    # A measured number - a number field (float, or Decimal from a numeric column), or a fraction wherever it
    # is - has at most two decimals in the language's marks: 1.350,51 / 1,350.51.
    fraction = isinstance(value, (float, Decimal)) and not float(value).is_integer()
    if (field.type == "number" and isinstance(value, Number)) or fraction:
        return format_number(float(value), lang)
    if isinstance(value, (float, Decimal)):  # a whole number in an integer field: as written (2024, not 2.024)
        return str(int(value))
    if field.type == "bigint" and isinstance(value, int):  # amounts (Rp) and counts: grouped
        return format_number(value, lang, decimals=0)
    return str(value)  # text, and integers as written (years, versions, codes)


def _raw(value: object) -> object:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def properties(layer: Layer, row: dict, include_private: bool, lang: str) -> list[dict]:
    fields = layer.fields if include_private else layer.public_fields
    return [{"name": f.name, "label": f.title_en if lang == "en" else f.title_id, "value": _raw(row[f.name]),
             "text": format_field(layer, f, row[f.name], lang), **({"private": True} if not f.public else {})}
            for f in fields]


# --- the query ----------------------------------------------------------------------------------------------

def _layer_sql(layer: Layer, who: Principal, cities: tuple[str, ...], keep_small: bool) -> str:
    kind = geometry_kind(layer)
    fields = layer.fields if who.may_read_layer(layer.id) else layer.public_fields  # never fetched otherwise
    columns = ", ".join(f't."{f.name}"' for f in fields)
    if not who.may_read_layer(layer.id):
        private = "false"
    elif who.cities is None:
        private = "true"
    else:
        private = f"coalesce(t.{CITY_COLUMN} = ANY(CAST(:key_cities AS text[])), false)"
    near = "t.geom && ST_Expand(pt.g, :deg) AND ST_DWithin(t.geom::geography, pt.g::geography, :tol)"
    if kind == "polygon":
        where = "ST_Intersects(t.geom, pt.g)"
        if keep_small:
            where = (f"({where} OR (t.geom && ST_Expand(pt.g, :deg) AND "
                     f"ST_DWithin(ST_PointOnSurface(t.geom)::geography, pt.g::geography, :tol)))")
        measure = (f"ST_Area(ST_Transform(t.geom, coalesce((SELECT c.metric_crs FROM kota c WHERE c.kode = "
                   f"t.{CITY_COLUMN}), :metric_srid)))")
        order = "area_m2"
    else:
        where, measure, order = near, "ST_Distance(t.geom::geography, pt.g::geography)", "distance_m"
    if cities:
        where += f" AND t.{CITY_COLUMN} = ANY(CAST(:scope_cities AS text[]))"
    return (f"SELECT t.id AS _id, {columns}{', ' if columns else ''}{private} AS _private, {measure} AS {order}, "
            f"ST_XMin(t.geom) AS x0, ST_YMin(t.geom) AS y0, ST_XMax(t.geom) AS x1, ST_YMax(t.geom) AS y1 "
            f"FROM {layer.id} t, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g) pt "
            f"WHERE {where} ORDER BY {order}, t.id LIMIT {PER_LAYER}")


def identify(conn: Connection, point: Point, layers: list[Layer], who: Principal, zoom: float = 16,
             cities: tuple[str, ...] = (), lang: str = "id", metric_srid: int = 32647) -> dict:
    """The features of `layers` at `point`, most specific first. `metric_srid` measures polygons lying in no
    city held (a city's own metric CRS otherwise)."""
    lang = lang_of(lang)
    tol = tolerance_m(zoom, point.lat)
    # a box in degrees that surely holds the tolerance circle (the exact test is in metres)
    deg = tol / (111_320 * max(math.cos(math.radians(point.lat)), 0.01))
    params = {"lon": point.lon, "lat": point.lat, "tol": tol, "deg": deg, "metric_srid": metric_srid,
              "scope_cities": list(cities), "key_cities": list(who.cities or ())}
    found = []
    for layer in layers:
        kind = geometry_kind(layer)
        for row in conn.execute(text(_layer_sql(layer, who, cities, layer.keep_small_features)),
                                params).mappings():
            measure = {"area_m2": round(row["area_m2"], 2)} if kind == "polygon" else \
                {"distance_m": round(row["distance_m"], 2)}
            found.append({
                "layer": layer.id, "layer_title": layer.title_en if lang == "en" else layer.title_id,
                "id": row["_id"], "geometry_type": kind, **measure,
                "bbox": [round(row[k], 7) for k in ("x0", "y0", "x1", "y1")],
                "properties": properties(layer, row, bool(row["_private"]), lang),
            })
    found.sort(key=lambda f: (_ORDER[f["geometry_type"]], f.get("distance_m", 0), f.get("area_m2", 0)))
    return {"lon": point.lon, "lat": point.lat, "zoom": zoom, "tolerance_m": round(tol, 2), "lang": lang,
            "layers": [layer.id for layer in layers], "features": found}
