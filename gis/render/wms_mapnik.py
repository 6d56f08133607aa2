"""Map images for WMS GetMap (and the tiled WMS clients of geoportals), drawn by Mapnik - chosen over Pillow and
matplotlib by measurement (bench/wms_renderers.py: 10-20 ms per 256-pixel image over the city against 100-270
ms). The map is written as Mapnik XML from the web map's style specification (`style_spec`: colours per
category, fill opacity, outline widths, circles), and Mapnik reads the layer tables through its PostGIS plugin:
PostGIS selects, reprojects and simplifies to the image's pixel size (so Mapnik never reprojects), Mapnik draws
anti-aliased (AGG). A Mapnik map draws one image at a time: drawn maps go back to a pool per layer set."""

from __future__ import annotations

import os
import re
import threading
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy.engine import make_url

from gis.render.style_spec import StyleSpec, style_spec
from gis.render.wms_draw import View
from layers.schema import Layer
from layers.tables import CITY_COLUMN


def _import_mapnik():
    """Mapnik's wheel points PROJ_LIB and GDAL_DATA at its own (empty) data folders for the whole process on
    import, which would leave rasterio and pyproj without proj.db: the variables are put back as they were
    (Mapnik itself never reprojects here, PostGIS does)."""
    saved = {name: os.environ.get(name) for name in ("PROJ_LIB", "PROJ_DATA", "GDAL_DATA")}
    import mapnik

    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    return mapnik


mapnik = _import_mapnik()

SMALL_FEATURE_PX = 2  # layers that keep small features draw one at least this many pixels wide (as the tiles do)
FORMATS = {"png": "png32", "png8": "png8:m=h", "jpeg": "jpeg88"}
_KEPT_LAYER_SETS = 64
_CITY_CODE = re.compile(r"^[0-9.]{2,13}$")
_free: dict[str, list] = {}  # Mapnik XML -> maps not being drawn now
_lock = threading.Lock()


def _table(layer: Layer, srid: int, colour_field: str | None, cities: tuple[str, ...]) -> str:
    """The SQL Mapnik reads a layer through: geometry `g` in the map's CRS (the stored Web Mercator column for
    EPSG:3857) and the colour field, only what lies in the box (!bbox! and !pixel_width! are Mapnik's tokens)."""
    if srid == 3857:
        geom, where = "geom_3857", "geom_3857 && !bbox!"
    else:
        # Mapnik first reads the columns with an unbounded box (LIMIT 0), which no projection can take
        geom = f"ST_Transform(geom, {int(srid)})"
        where = "geom && CASE WHEN ST_XMax(!bbox!) > 1e10 THEN NULL ELSE ST_Transform(!bbox!, 4326) END"
    if cities:
        codes = ", ".join(f"'{c}'" for c in cities if _CITY_CODE.match(c))
        where += f" AND {CITY_COLUMN} IN ({codes or 'NULL'})"
    value = f', "{colour_field}"' if colour_field else ""
    shape = "g"
    if layer.keep_small_features and layer.is_polygon:  # a park smaller than 2 px shows as a 2-px square
        shape = (f"CASE WHEN greatest(ST_XMax(g) - ST_XMin(g), ST_YMax(g) - ST_YMin(g)) < "
                 f"{SMALL_FEATURE_PX} * !pixel_width! THEN ST_Expand(ST_PointOnSurface(g), !pixel_width!) ELSE g END")
    return (f"(SELECT {shape} AS g{value} FROM (SELECT id, {geom} AS g{value} FROM {layer.id} WHERE {where}) s "
            f"ORDER BY id) AS t")


def _symbols(spec: StyleSpec, color: str) -> str:
    stroke = spec.stroke or color
    if spec.kind == "fill":
        return (f'<PolygonSymbolizer fill="{color}" fill-opacity="{spec.fill_opacity}" gamma="0.5"/>'
                f'<LineSymbolizer stroke="{stroke}" stroke-width="{spec.stroke_width}" '
                f'stroke-opacity="{spec.stroke_opacity}"/>')
    if spec.kind == "line":
        return (f'<LineSymbolizer stroke="{color}" stroke-width="{spec.stroke_width}" '
                f'stroke-opacity="{spec.stroke_opacity}" stroke-linejoin="round" stroke-linecap="round"/>')
    size = 2 * spec.radius
    return (f'<MarkersSymbolizer fill="{color}" fill-opacity="{spec.fill_opacity}" width="{size}" height="{size}" '
            f'stroke="{stroke}" stroke-width="{spec.stroke_width}" allow-overlap="true" ignore-placement="true"/>')


def _style(name: str, spec: StyleSpec, by: str | None) -> str:
    rules = []
    if by:
        for value, color in spec.categories:
            literal = value.replace("\\", "\\\\").replace("'", "\\'")
            rules.append(f"<Rule><Filter>{escape(f'[{by}] = {chr(39)}{literal}{chr(39)}')}</Filter>"
                         f"{_symbols(spec, color)}</Rule>")
        rules.append(f"<Rule><ElseFilter/>{_symbols(spec, spec.color)}</Rule>")
    else:
        rules.append(f"<Rule>{_symbols(spec, spec.color)}</Rule>")
    return f"<Style name={quoteattr(name)}>{''.join(rules)}</Style>"


def map_xml(layers: list[tuple[Layer, bool]], srid: int, database_url: str,
            background: tuple[int, int, int] | None, cities: tuple[str, ...] = ()) -> str:
    """Mapnik XML drawing `layers` (each with whether the caller reads its private fields) in order, the first at
    the bottom; a layer coloured by a private field shows one colour to the public."""
    url = make_url(database_url)
    extent = "-180,-90,180,90" if srid == 4326 else "-1e8,-1e8,1e8,1e8"
    connection = {"type": "postgis", "host": url.host or "localhost", "port": url.port or 5432,
                  "user": url.username or "postgres", "password": url.password or "", "dbname": url.database,
                  "geometry_field": "g", "srid": srid, "extent": extent, "simplify_geometries": "true",
                  "persist_connection": "true", "max_size": 4}
    styles, parts = [], []
    for index, (layer, private) in enumerate(layers):
        spec = style_spec(layer)
        by = spec.by if spec.by and (private or layer.field(spec.by).public) else None
        name = f"{index}-{layer.id}"
        styles.append(_style(name, spec, by))
        params = {**connection, "table": _table(layer, srid, by, cities)}
        source = "".join(f"<Parameter name={quoteattr(k)}>{escape(str(v))}</Parameter>" for k, v in params.items())
        parts.append(f"<Layer name={quoteattr(name)} srs=\"epsg:{srid}\"><StyleName>{escape(name)}</StyleName>"
                     f"<Datasource>{source}</Datasource></Layer>")
    fill = f' background-color="rgb({background[0]},{background[1]},{background[2]})"' if background else ""
    return f'<Map srs="epsg:{srid}"{fill}>{"".join(styles)}{"".join(parts)}</Map>'


def _take(xml: str) -> mapnik.Map:
    """A free map for `xml`, else a new one (loading one reads each table's columns: worth keeping)."""
    with _lock:
        free = _free.get(xml)
        if free:
            return free.pop()
    m = mapnik.Map(256, 256)
    mapnik.load_map_from_string(m, xml)
    m.aspect_fix_mode = mapnik.aspect_fix_mode.RESPECT  # WMS: exactly the box asked, pixels need not be square
    return m


def _give_back(xml: str, m: mapnik.Map) -> None:
    with _lock:
        if xml not in _free and len(_free) >= _KEPT_LAYER_SETS:
            _free.pop(next(iter(_free)))  # the oldest layer set
        _free.setdefault(xml, []).append(m)


def render(layers: list[tuple[Layer, bool]], view: View, background: tuple[int, int, int] | None, fmt: str,
           database_url: str, cities: tuple[str, ...] = ()) -> bytes:
    """`layers` in `view`, encoded as `fmt` (png, png8 or jpeg); transparent when `background` is None."""
    xml = map_xml(layers, view.srid, database_url, background, cities)
    m = _take(xml)
    try:
        m.resize(view.width, view.height)
        m.zoom_to_box(mapnik.Box2d(view.x0, view.y0, view.x1, view.y1))
        image = mapnik.Image(view.width, view.height)
        mapnik.render(m, image)
    finally:
        _give_back(xml, m)
    return image.to_string(FORMATS[fmt])
