"""One style specification per layer, and every renderer draws from it: the MapLibre style.json, the web map's
configuration (what its script draws and lists in the legend), explore() (folium) and the static map's legend."""

from __future__ import annotations

import geopandas as gpd
import pytest
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from shapely.geometry import LineString, Point, box

from gis.core.settings import Settings
from gis.render.explore import explore
from gis.render.static_map import legend_handles
from gis.render.style_spec import style_spec
from gis.render.styles import maplibre_style
from gis.render.webmap import map_config
from layers import CATALOG
from layers.maps import MAPS
from layers.schema import Layer, layer_from_dict

LAYERS = sorted(CATALOG)


def declared(layer: Layer) -> tuple[dict, str, list[tuple[str, str]]]:
    """From the declaration itself: value -> colour, the fallback colour, and the legend (label, colour)."""
    by_value = {e.value: e.color for e in layer.style.legend if e.value is not None} if layer.style.by else {}
    legend = [(e.label_id, e.color) for e in layer.style.legend] or [(layer.title_id, layer.style.color)]
    return by_value, layer.style.color, legend


def unmatch(expr) -> tuple[dict, str]:
    """A MapLibre colour (a constant or ["match", ["get", f], v1, c1, ..., fallback]) as value -> colour."""
    if isinstance(expr, str):
        return {}, expr
    assert expr[0] == "match"
    pairs = expr[2:-1]
    return dict(zip(pairs[::2], pairs[1::2], strict=True)), expr[-1]


def sample_frame(layer: Layer, values: list) -> gpd.GeoDataFrame:
    kind = style_spec(layer).kind
    geoms = [box(98.4 + i * 0.01, 3.5, 98.405 + i * 0.01, 3.505) if kind == "fill" else
             LineString([(98.4 + i * 0.01, 3.5), (98.405 + i * 0.01, 3.505)]) if kind == "line" else
             Point(98.4 + i * 0.01, 3.5) for i in range(len(values))]
    data = {layer.style.by: values} if layer.style.by else {"n": list(range(len(values)))}
    return gpd.GeoDataFrame(data, geometry=geoms, crs=4326)


@pytest.mark.parametrize("layer_id", LAYERS)
def test_the_specification_follows_the_declaration(layer_id):
    layer = CATALOG[layer_id]
    spec = style_spec(layer)
    by_value, fallback, legend = declared(layer)
    assert dict(spec.categories) == by_value and spec.color == fallback
    assert [(e.label_id, e.color) for e in spec.legend] == legend
    assert spec.kind == ("fill" if layer.geometry_type.endswith("Polygon") else
                         "line" if "Line" in layer.geometry_type else "circle")
    for value, color in by_value.items():
        assert spec.color_for(value) == color
    assert spec.color_for("no such value") == fallback
    # a runtime layer (stored as JSON) gets the same specification
    assert style_spec(layer_from_dict(layer.to_dict(include_private=True))) == spec


@pytest.mark.parametrize("layer_id", LAYERS)
def test_maplibre_style_agrees(layer_id):
    layer = CATALOG[layer_id]
    spec = style_spec(layer)
    by_value, fallback, _ = declared(layer)
    paint = {sl["type"]: sl["paint"] for sl in maplibre_style([layer], "http://x/tilejson.json", (98.5, 3.6), 12)
             ["layers"] if sl.get("source-layer") == layer_id}
    if spec.kind == "circle":
        assert unmatch(paint["circle"]["circle-color"]) == (by_value, fallback)
        assert paint["circle"]["circle-radius"] == spec.radius
        assert paint["circle"]["circle-stroke-color"] == spec.stroke
        assert paint["circle"]["circle-opacity"] == spec.fill_opacity
        return
    assert unmatch(paint["line"]["line-color"]) == (by_value, fallback)  # outlines in the feature's colour
    assert paint["line"]["line-width"] == spec.stroke_width
    assert paint["line"]["line-opacity"] == spec.stroke_opacity
    if spec.kind == "fill":
        assert unmatch(paint["fill"]["fill-color"]) == (by_value, fallback)
        assert paint["fill"]["fill-opacity"] == layer.style.fill_opacity
    else:
        assert "fill" not in paint


def test_web_map_configuration_agrees():
    layers = [CATALOG[i] for i in LAYERS]
    cfg = map_config(Settings(), MAPS["binjai"], layers, embed=False, base="http://x", private=True)
    for layer, lc in zip(layers, cfg["layers"], strict=True):
        by_value, fallback, legend = declared(layer)
        style = lc["style"]
        assert {c["value"]: c["color"] for c in style["categories"]} == by_value and style["color"] == fallback
        assert [(e["label"]["id"], e["color"]) for e in style["legend"]] == legend
        assert style == style_spec(layer).to_dict()


@pytest.mark.parametrize("layer_id", LAYERS)
def test_explore_agrees(layer_id):
    layer = CATALOG[layer_id]
    spec = style_spec(layer)
    by_value, fallback, legend = declared(layer)
    values = [*by_value, "no such value"] if layer.style.by else [None, None]
    m = explore(sample_frame(layer, values), layer_id, base_url="http://x")
    geojson = next(c for c in m._children.values() if type(c).__name__ == "GeoJson")
    for feature in geojson.data["features"]:
        value = feature["properties"].get(layer.style.by) if layer.style.by else None
        drawn = geojson.style_function(feature)
        expected = by_value.get(value, fallback)
        assert drawn["fillColor"] == expected
        assert drawn["color"] == (spec.stroke or expected) and drawn["weight"] == spec.stroke_width
        assert drawn["fillOpacity"] == spec.fill_opacity
    page = m.get_root().render()
    for label, color in legend:
        assert f"background:{color};" in page and label.replace("&", "&amp;") in page


def test_static_map_legend_agrees():
    layers = [CATALOG[i] for i in LAYERS]
    handles = legend_handles(layers, "id")
    expected = []
    for layer in layers:
        _, _, legend = declared(layer)
        single = len(legend) == 1 and not layer.style.by
        expected += ([] if single else [None]) + [color for _, color in legend]
    colours = []
    for h in handles:
        if isinstance(h, Patch):
            colours.append(None if h.get_facecolor()[3] == 0 else to_hex(h.get_facecolor()))
        else:
            assert isinstance(h, Line2D)
            colours.append(to_hex(h.get_markerfacecolor() if h.get_marker() not in (None, "None", "")
                                  else h.get_color()))
    assert colours == [c.lower() if c else None for c in expected]
    labels = [h.get_label().strip() for h in handles]
    for layer in layers:
        for label, _ in declared(layer)[2]:
            assert any(label in text for text in labels), label
