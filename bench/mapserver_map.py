"""A MapServer 8 mapfile for the same layers, drawn in the same style as PetaKota's WMS: written from the layer
declarations' style specification (`style_spec`), one CLASS per category (CLASSITEM + EXPRESSION) in the same
colours, fill opacities, outline widths and circle sizes, and a last CLASS for values with no category. MapServer
reads the same PostGIS tables, the stored Web Mercator column (`geom_3857`, as PetaKota's renderer does), so
neither server reprojects and both ask PostGIS for the same rows of the box. A colour field that is private is
not used (one colour for the public), as in PetaKota's anonymous GetMap."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from gis.render.style_spec import StyleSpec, style_spec
from layers.schema import Layer

MS_TYPES = {"fill": "POLYGON", "line": "LINE", "circle": "POINT"}


def _quote(value: str) -> str:
    """A mapfile string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _percent(opacity: float) -> int:
    return round(opacity * 100)


def _styles(spec: StyleSpec, color: str) -> list[str]:
    stroke = spec.stroke or color
    if spec.kind == "fill":
        return [f"STYLE COLOR {_quote(color)} OPACITY {_percent(spec.fill_opacity)} END",
                f"STYLE OUTLINECOLOR {_quote(stroke)} WIDTH {spec.stroke_width} "
                f"OPACITY {_percent(spec.stroke_opacity)} END"]
    if spec.kind == "line":
        return [f"STYLE COLOR {_quote(color)} OPACITY {_percent(spec.stroke_opacity)} WIDTH {spec.stroke_width} "
                f"LINECAP ROUND LINEJOIN ROUND END"]
    return [f'STYLE SYMBOL "circle" SIZE {2 * spec.radius} COLOR {_quote(color)} '
            f"OPACITY {_percent(spec.fill_opacity)} OUTLINECOLOR {_quote(stroke)} "
            f"WIDTH {spec.stroke_width} END"]


def colour_field(layer: Layer) -> str | None:
    """The field that picks the colour for an anonymous caller: None when the layer has one colour or the field
    is private."""
    spec = style_spec(layer)
    return spec.by if spec.by and layer.field(spec.by).public else None


def layer_block(layer: Layer, connection: str) -> str:
    spec = style_spec(layer)
    by = colour_field(layer)
    value = f', "{by}"' if by else ""
    data = f"geom_3857 from (select id, geom_3857{value} from {layer.id}) as t using unique id using srid=3857"
    lines = [f"LAYER NAME {_quote(layer.id)} TYPE {MS_TYPES[spec.kind]} STATUS ON",
             f"CONNECTIONTYPE POSTGIS CONNECTION {_quote(connection)}",
             "PROCESSING \"CLOSE_CONNECTION=DEFER\"",  # keep the connection between requests, as Mapnik does
             f"DATA {_quote(data)}",
             'PROJECTION "init=epsg:3857" END',
             f"METADATA \"wms_title\" {_quote(layer.title_en)} END"]
    if by:
        lines.append(f"CLASSITEM {_quote(by)}")
        for category, color in spec.categories:
            lines += [f"CLASS NAME {_quote(category)} EXPRESSION {_quote(category)}", *_styles(spec, color), "END"]
    lines += ['CLASS NAME "other"', *_styles(spec, spec.color), "END", "END"]
    return "\n  ".join(lines)


def connection_string(database_url: str) -> str:
    url = make_url(database_url)
    parts = {"host": url.host or "localhost", "port": url.port or 5432, "dbname": url.database,
             "user": url.username or "postgres", "password": url.password}
    return " ".join(f"{k}={v}" for k, v in parts.items() if v)


def mapfile(layers: list[Layer], database_url: str, extent: tuple[float, float, float, float]) -> str:
    """The mapfile serving `layers` (the first at the bottom) by WMS in EPSG:3857 over `extent` (Web Mercator
    metres), reading the database of `database_url`."""
    connection = connection_string(database_url)
    x0, y0, x1, y1 = extent
    blocks = "\n".join(layer_block(layer, connection) for layer in layers)
    return f"""MAP
  NAME "petakota"
  SIZE 256 256
  UNITS METERS
  EXTENT {x0} {y0} {x1} {y1}
  IMAGECOLOR 255 255 255
  PROJECTION "init=epsg:3857" END
  OUTPUTFORMAT NAME "png" DRIVER "AGG/PNG" MIMETYPE "image/png" IMAGEMODE RGBA EXTENSION "png" END
  SYMBOL NAME "circle" TYPE ELLIPSE FILLED TRUE POINTS 1 1 END END
  WEB METADATA "wms_enable_request" "*" "wms_srs" "EPSG:3857" "wms_title" "PetaKota" END END
  {blocks}
END
"""
