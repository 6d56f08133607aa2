"""A MapLibre GL style built from the style specifications (the same colours, widths and legends as the web map,
the static maps and explore())."""

from __future__ import annotations

from gis.render.style_spec import StyleSpec, style_spec
from layers.schema import Layer

BACKGROUND = "#F4F1EA"


def _color(spec: StyleSpec):
    if not spec.categories:
        return spec.color
    expr: list = ["match", ["get", spec.by]]
    for value, color in spec.categories:
        expr += [value, color]
    return expr + [spec.color]


def _paint_layers(spec: StyleSpec, common: dict) -> list[dict]:
    color = _color(spec)
    stroke = spec.stroke or color
    if spec.kind == "circle":
        return [{"id": f"{spec.layer}-circle", "type": "circle", **common,
                 "paint": {"circle-color": color, "circle-radius": spec.radius, "circle-opacity": spec.fill_opacity,
                           "circle-stroke-color": stroke, "circle-stroke-width": spec.stroke_width,
                           "circle-stroke-opacity": spec.stroke_opacity}}]
    line = {"id": f"{spec.layer}-line", "type": "line", **common,
            "paint": {"line-color": stroke, "line-width": spec.stroke_width, "line-opacity": spec.stroke_opacity}}
    if spec.kind == "line":
        return [line]
    return [{"id": f"{spec.layer}-fill", "type": "fill", **common,
             "paint": {"fill-color": color, "fill-opacity": spec.fill_opacity}}, line]


def maplibre_style(layers: list[Layer], tilejson_url: str, center: tuple[float, float], zoom: int) -> dict:
    style_layers: list[dict] = [{"id": "background", "type": "background", "paint": {"background-color": BACKGROUND}}]
    for layer in layers:
        common = {"source": "petakota", "source-layer": layer.id, "minzoom": layer.min_zoom}
        style_layers += _paint_layers(style_spec(layer), common)
    return {
        "version": 8,
        "name": "PetaKota",
        "center": list(center),
        "zoom": zoom,
        "sources": {"petakota": {"type": "vector", "url": tilejson_url}},
        "layers": style_layers,
        "metadata": {"petakota:illustrative": [layer.id for layer in layers if layer.illustrative]},
    }
