"""A MapLibre GL style built from the layer declarations (the same colours as the legends and web map)."""

from __future__ import annotations

from layers.schema import Layer


def _color(layer: Layer):
    style = layer.style
    entries = [e for e in style.legend if e.value is not None]
    if not style.by or not entries:
        return style.color
    expr: list = ["match", ["get", style.by]]
    for entry in entries:
        expr += [entry.value, entry.color]
    return expr + [style.color]


def maplibre_style(layers: list[Layer], tilejson_url: str, center: tuple[float, float], zoom: int) -> dict:
    style_layers: list[dict] = [{"id": "background", "type": "background", "paint": {"background-color": "#F4F1EA"}}]
    for layer in layers:
        color, common = _color(layer), {"source": "petakota", "source-layer": layer.id, "minzoom": layer.min_zoom}
        if layer.is_polygon:
            style_layers.append({"id": f"{layer.id}-fill", "type": "fill", **common,
                                 "paint": {"fill-color": color, "fill-opacity": layer.style.fill_opacity}})
            style_layers.append({"id": f"{layer.id}-line", "type": "line", **common,
                                 "paint": {"line-color": color, "line-width": layer.style.weight}})
        elif "Line" in layer.geometry_type:
            style_layers.append({"id": f"{layer.id}-line", "type": "line", **common,
                                 "paint": {"line-color": color, "line-width": layer.style.weight}})
        else:
            style_layers.append({"id": f"{layer.id}-circle", "type": "circle", **common,
                                 "paint": {"circle-color": color, "circle-radius": 5,
                                           "circle-stroke-color": "#FFFFFF", "circle-stroke-width": 1}})
    return {
        "version": 8,
        "name": "PetaKota",
        "center": list(center),
        "zoom": zoom,
        "sources": {"petakota": {"type": "vector", "url": tilejson_url}},
        "layers": style_layers,
        "metadata": {"petakota:illustrative": [layer.id for layer in layers if layer.illustrative]},
    }
