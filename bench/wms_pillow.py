"""The Pillow candidate of bench/wms_renderers.py: PostGIS cuts, reprojects and simplifies each layer to the
image's pixel size; Pillow draws on a canvas three times larger through one 8-bit coverage mask per colour and
averages it down (anti-aliasing). Measured slower than Mapnik, which PetaKota uses (gis/render/wms_mapnik.py)."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import shapely
from PIL import Image, ImageDraw
from sqlalchemy import Connection, text

from gis.data.features import city_clause
from gis.render.style_spec import StyleSpec, style_spec
from gis.render.wms_draw import View, rgb
from layers.schema import Layer

SMALL_FEATURE_PX = 2
MAX_FEATURES = 50_000


def supersampling(view: View) -> int:
    """How many times larger the canvas is drawn than the image (anti-aliasing), less for big images."""
    pixels = view.width * view.height
    return 3 if pixels <= 1024 * 1024 else 2 if pixels <= 2048 * 2048 else 1


def read_layer(conn: Connection, layer: Layer, view: View, colour_field: str | None,
               cities: tuple[str, ...] = ()) -> tuple[list, list]:
    """The geometries of `layer` within `view` (in its CRS, clipped and simplified to a quarter pixel) and the
    value of `colour_field` of each."""
    params = {"x0": view.x0, "y0": view.y0, "x1": view.x1, "y1": view.y1, "srid": view.srid,
              "tol": view.resolution / 4, "pad": view.resolution * 8}
    if view.srid == 3857:  # the stored Web Mercator column of the tiles, indexed
        geom, where = "geom_3857", "geom_3857 && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3857)"
    else:
        geom = f"ST_Transform(geom, {int(view.srid)})"
        where = "geom && ST_Transform(ST_MakeEnvelope(:x0, :y0, :x1, :y1, :srid), 4326)"
    scope = city_clause(cities, params)
    if scope:
        where += f" AND {scope}"
    cut = f"ST_ClipByBox2D({geom}, ST_Expand(ST_MakeEnvelope(:x0, :y0, :x1, :y1, {int(view.srid)}), :pad))"
    shape = cut if layer.is_polygon or "Line" in layer.geometry_type else geom
    value = f', "{colour_field}"' if colour_field else ", NULL"
    sql = (f"SELECT ST_AsBinary(ST_Simplify({shape}, :tol, true)){value} FROM {layer.id} "
           f"WHERE {where} ORDER BY id LIMIT {MAX_FEATURES}")
    rows = conn.execute(text(sql), params).all()
    return [shapely.from_wkb(bytes(r[0])) for r in rows if r[0] is not None], [r[1] for r in rows]


class Canvas:
    """An RGBA image `scale` times the view's size; each colour is painted through an 8-bit coverage mask."""

    def __init__(self, view: View):
        self.view = view
        self.scale = supersampling(view)
        self.size = (view.width * self.scale, view.height * self.scale)
        self.image = Image.new("RGBA", self.size, (0, 0, 0, 0))
        self.sx = self.size[0] / (view.x1 - view.x0)
        self.sy = self.size[1] / (view.y1 - view.y0)

    def pixels(self, coords: np.ndarray) -> list[tuple[float, float]]:
        x = (coords[:, 0] - self.view.x0) * self.sx
        y = (self.view.y1 - coords[:, 1]) * self.sy
        return list(zip(x.tolist(), y.tolist(), strict=True))

    def mask(self) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        m = Image.new("L", self.size, 0)
        return m, ImageDraw.Draw(m)

    def paint(self, mask: Image.Image, color: str, opacity: float) -> None:
        if opacity <= 0 or mask.getbbox() is None:
            return
        alpha = mask if opacity >= 1 else mask.point(lambda v: round(v * opacity))
        layer = Image.new("RGBA", self.size, (*rgb(color), 0))
        layer.putalpha(alpha)
        self.image.alpha_composite(layer)

    def finish(self, background: tuple[int, int, int] | None) -> Image.Image:
        image = self.image
        if self.scale > 1:  # averages the canvas down: the edges' coverage becomes their alpha
            image = image.resize((self.view.width, self.view.height), Image.Resampling.BOX)
        if background is None:
            return image
        out = Image.new("RGBA", image.size, (*background, 255))
        out.alpha_composite(image)
        return out.convert("RGB")


def _polygons(geom) -> list:
    return [p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon) and not p.is_empty]


def _lines(geom) -> list:
    out = []
    for part in shapely.get_parts(geom):
        if isinstance(part, shapely.Polygon):
            out += [part.exterior, *part.interiors]
        elif isinstance(part, shapely.LineString) and not part.is_empty:
            out.append(part)
    return out


def _small(canvas: Canvas, geom) -> tuple[float, float] | None:
    """The point to mark a polygon too small to see at (in canvas pixels), or None when it shows."""
    x0, y0, x1, y1 = geom.bounds
    limit = SMALL_FEATURE_PX * canvas.scale
    if (x1 - x0) * canvas.sx >= limit or (y1 - y0) * canvas.sy >= limit:
        return None
    p = shapely.point_on_surface(geom)
    return canvas.pixels(np.array([[p.x, p.y]]))[0]


def draw_layer(canvas: Canvas, spec: StyleSpec, geoms: list, values: list, keep_small: bool = False) -> None:
    """One layer as its specification says: filled polygons with outlines, lines, or circles."""
    s = canvas.scale
    groups: dict[tuple[str, str], list] = {}
    for geom, value in zip(geoms, values, strict=True):
        groups.setdefault((spec.color_for(value), spec.stroke_for(value)), []).append(geom)
    width = max(1, round(spec.stroke_width * s))
    for (color, stroke), group in groups.items():
        if spec.kind == "circle":
            fill, fill_draw = canvas.mask()
            ring, ring_draw = canvas.mask()
            r = spec.radius * s
            for geom in group:
                for x, y in canvas.pixels(shapely.get_coordinates(geom)):
                    fill_draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
                    ring_draw.ellipse((x - r, y - r, x + r, y + r), outline=255, width=width)
            canvas.paint(fill, color, spec.fill_opacity)
            canvas.paint(ring, stroke, spec.stroke_opacity)
            continue
        lines, line_draw = canvas.mask()
        if spec.kind == "fill":
            fill, fill_draw = canvas.mask()
            for geom in group:
                point = _small(canvas, geom) if keep_small else None
                if point is not None:
                    half = SMALL_FEATURE_PX * s / 2
                    fill_draw.rectangle((point[0] - half, point[1] - half, point[0] + half, point[1] + half),
                                        fill=255)
                    continue
                for poly in _polygons(geom):
                    fill_draw.polygon(canvas.pixels(shapely.get_coordinates(poly.exterior)), fill=255)
                    for hole in poly.interiors:
                        fill_draw.polygon(canvas.pixels(shapely.get_coordinates(hole)), fill=0)
            canvas.paint(fill, color, spec.fill_opacity)
        for geom in group:
            for line in _lines(geom):
                coords = canvas.pixels(shapely.get_coordinates(line))
                if len(coords) > 1:
                    line_draw.line(coords, fill=255, width=width, joint="curve")
        canvas.paint(lines, stroke, spec.stroke_opacity)


def render(conn: Connection, layers: list[tuple[Layer, bool]], view: View, background: tuple[int, int, int] | None,
           cities: tuple[str, ...] = ()) -> Image.Image:
    """`layers` (each with whether the caller reads its private fields) drawn in order, the first at the bottom;
    transparent when `background` is None. A layer coloured by a private field shows one colour to the public."""
    canvas = Canvas(view)
    for layer, private in layers:
        spec = style_spec(layer)
        by = spec.by if spec.by and (private or layer.field(spec.by).public) else None
        geoms, values = read_layer(conn, layer, view, by, cities)
        draw_layer(canvas, spec if by or not spec.by else _single(spec), geoms, values, layer.keep_small_features)
    return canvas.finish(background)


def _single(spec: StyleSpec) -> StyleSpec:
    return replace(spec, by=None, categories=())


def encode(image: Image.Image, fmt: str) -> bytes:
    """PNG (24/32-bit), PNG8 (a 256-colour palette, alpha kept) or JPEG."""
    out = io.BytesIO()
    if fmt == "jpeg":
        image.convert("RGB").save(out, "JPEG", quality=88)
    elif fmt == "png8":
        image.quantize(256, method=Image.Quantize.FASTOCTREE).save(out, "PNG", optimize=False)
    else:
        image.save(out, "PNG", compress_level=1)  # speed over a few per cent of bytes: WMS clients wait
    return out.getvalue()


