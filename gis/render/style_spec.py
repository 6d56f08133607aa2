"""The one style specification of a layer, built from its declaration in `layers/`. Every renderer draws from it:
the web map and the embed (as JSON for the script), static PNG/PDF maps, explore() and the MapLibre style.json.
A colour, a width or a legend entry is decided here once, so the maps and their legends cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass

from layers.schema import Layer

# How each kind of geometry is drawn. Widths and radii are CSS pixels (static maps convert them to points).
POINT_RADIUS = 5.0
POINT_FILL_OPACITY = 0.9
POINT_STROKE = "#FFFFFF"
POINT_STROKE_WIDTH = 1.0
LINE_OPACITY = 0.9  # lines are slightly see-through so that crossings stay readable
# Polygon outlines are thinner than the declared weight (which is a line's width): areas are read by their fill.
POLYGON_OUTLINE_SHARE = 0.6
POLYGON_OUTLINE_MIN = 0.5


@dataclass(frozen=True)
class LegendItem:
    label_id: str
    label_en: str
    color: str
    value: str | None = None  # the value of `StyleSpec.by` shown in this colour; None for a single-colour layer

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_id


@dataclass(frozen=True)
class StyleSpec:
    layer: str
    kind: str  # "fill" (polygons), "line" or "circle" (points)
    color: str  # every feature's colour, or the colour of a value with no category
    by: str | None  # the field whose value picks the colour
    categories: tuple[tuple[str, str], ...]  # (value, colour), in legend order
    fill_opacity: float  # polygons and circles; 0 draws outlines only
    stroke: str | None  # outline colour; None: the feature's own colour
    stroke_width: float
    stroke_opacity: float
    radius: float  # circles only
    legend: tuple[LegendItem, ...]  # never empty: a single-colour layer shows its title

    def color_for(self, value: object) -> str:
        if self.by is not None:
            for v, color in self.categories:
                if v == value:
                    return color
        return self.color

    def stroke_for(self, value: object) -> str:
        return self.stroke or self.color_for(value)

    def to_dict(self) -> dict:
        """The JSON the web map's script reads (cfg.layers[i].style)."""
        return {
            "kind": self.kind, "color": self.color, "by": self.by,
            "categories": [{"value": v, "color": c} for v, c in self.categories],
            "fill_opacity": self.fill_opacity, "stroke": self.stroke, "stroke_width": self.stroke_width,
            "stroke_opacity": self.stroke_opacity, "radius": self.radius,
            "legend": [{"label": {"id": e.label_id, "en": e.label_en}, "color": e.color, "value": e.value}
                       for e in self.legend],
        }


def geometry_kind(layer: Layer) -> str:
    if layer.is_polygon:
        return "fill"
    return "line" if "Line" in layer.geometry_type else "circle"


def style_spec(layer: Layer) -> StyleSpec:
    """The normalised style of `layer`: fill, stroke, width, opacity, per-value categories, legend (id / en)."""
    style, kind = layer.style, geometry_kind(layer)
    categories = tuple((e.value, e.color) for e in style.legend if e.value is not None) if style.by else ()
    legend = tuple(LegendItem(e.label_id, e.label_en, e.color, e.value) for e in style.legend) or (
        LegendItem(layer.title_id, layer.title_en, style.color),)
    common = {"layer": layer.id, "kind": kind, "color": style.color, "by": style.by if categories else None,
              "categories": categories, "legend": legend, "radius": 0.0}
    if kind == "circle":
        return StyleSpec(**common | {"radius": POINT_RADIUS}, fill_opacity=POINT_FILL_OPACITY, stroke=POINT_STROKE,
                         stroke_width=POINT_STROKE_WIDTH, stroke_opacity=1.0)
    if kind == "line":
        return StyleSpec(**common, fill_opacity=0.0, stroke=None, stroke_width=style.weight,
                         stroke_opacity=LINE_OPACITY)
    return StyleSpec(**common, fill_opacity=style.fill_opacity, stroke=None,
                     stroke_width=max(style.weight * POLYGON_OUTLINE_SHARE, POLYGON_OUTLINE_MIN), stroke_opacity=1.0)
