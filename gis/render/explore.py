"""Folium maps for notebooks and generated pages, with the same styles and legends as the web map and no CDN:
Leaflet and jQuery come from the service's /static (or are inlined when there is no service to point at)."""

from __future__ import annotations

import base64
import html
import json
import math
import numbers
from datetime import date

import folium
import geopandas as gpd

from gis.core.language import format_date, format_number
from gis.render import STATIC_DIR
from gis.render.messages import illustrative_suffix
from gis.render.style_spec import StyleSpec, style_spec
from layers import CATALOG
from layers.schema import Layer, layer_from_dict

VENDOR = STATIC_DIR / "vendor"
ASSETS_JS = {"leaflet": "leaflet/leaflet.js", "jquery": "jquery/jquery.min.js"}
ASSETS_CSS = {"leaflet_css": "leaflet/leaflet.css"}


def _asset_url(rel: str, base_url: str | None) -> str:
    if base_url:
        return f"{base_url.rstrip('/')}/static/vendor/{rel}"
    kind = "text/css" if rel.endswith(".css") else "text/javascript"
    return f"data:{kind};base64," + base64.b64encode((VENDOR / rel).read_bytes()).decode()


def offline_map(base_url: str | None = None, **kwargs) -> folium.Map:
    """A folium Map whose scripts and styles are the project's own copies (no CDN: intranets have none)."""
    m = folium.Map(tiles=None, **kwargs)
    m.default_js = [(name, _asset_url(rel, base_url)) for name, rel in ASSETS_JS.items()]
    m.default_css = [(name, _asset_url(rel, base_url)) for name, rel in ASSETS_CSS.items()]
    return m


NO_LAYER = {"color": "#3388ff", "weight": 1.5, "fillOpacity": 0.4}  # a frame of no declared layer


def leaflet_style(spec: StyleSpec, value: object) -> dict:
    """Leaflet path options for a feature whose `spec.by` field is `value` (the web map's script does the same)."""
    return {"color": spec.stroke_for(value), "weight": spec.stroke_width, "opacity": spec.stroke_opacity,
            "fillColor": spec.color_for(value), "fillOpacity": spec.fill_opacity,
            "fill": spec.kind != "line"}


def _style(spec: StyleSpec | None):
    def style(feature):
        if spec is None:
            return NO_LAYER
        return leaflet_style(spec, feature["properties"].get(spec.by) if spec.by else None)

    return style


def _swatch(color: str) -> str:
    return (f'<span style="display:inline-block;width:12px;height:12px;background:{color};'
            f'margin-right:6px;border:1px solid #555"></span>')


def legend_html(layer: Layer, lang: str = "id") -> str:
    title = layer.title_en if lang == "en" else layer.title_id
    rows = "".join(f"<div>{_swatch(e.color)}{html.escape(e.label(lang))}</div>" for e in style_spec(layer).legend)
    return (f'<div style="position:absolute;bottom:24px;right:10px;z-index:9999;background:white;padding:6px 8px;'
            f'font:12px sans-serif;border:1px solid #999;max-height:50%;overflow:auto">'
            f"<b>{html.escape(title)}{illustrative_suffix(lang) if layer.illustrative else ''}</b>{rows}"
            f'<div style="color:#666;margin-top:4px">{html.escape(layer.source)}</div></div>')


def declaration_of(data: gpd.GeoDataFrame, layer: str | Layer | None) -> Layer | None:
    """The declaration to draw `data` with: `layer` itself, the one the frame carries (frames from
    `Client.read` and `store.read_layer` carry theirs, runtime layers included), else the built-in catalog's."""
    if isinstance(layer, Layer):
        return layer
    layer_id = layer or data.attrs.get("layer", "")
    try:
        carried = json.loads(data.attrs.get("declaration") or "{}")
        if carried.get("id") == layer_id:
            return layer_from_dict(carried)
    except (KeyError, TypeError, ValueError, AttributeError):  # e.g. public fields only, the key a private one
        pass
    return CATALOG.get(layer_id)


def _field_title(layer: Layer | None, name: str, lang: str) -> str:
    known = {f.name: f for f in layer.fields} if layer is not None else {}
    if name not in known:
        return name
    return known[name].title_en if lang == "en" else known[name].title_id


def _tooltip_columns(gdf: gpd.GeoDataFrame, fields: list[str], lang: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Tooltips show numbers and dates as the page's language writes them (`1.350,51`): a text copy of each
    such column, next to the original (which the styles still read)."""
    gdf, shown = gdf.copy(), []
    for name in fields:
        column = gdf[name]
        if column.dtype.kind in "if" or column.map(lambda v: isinstance(v, (date, float))).any():
            text = f"{name} ({lang})"
            gdf[text] = column.map(lambda v: _shown(v, lang))
            shown.append(text)
        else:
            shown.append(name)
    return gdf, shown


def _shown(value: object, lang: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return format_number(int(value), lang)
    if isinstance(value, numbers.Real):
        return format_number(float(value), lang)
    if isinstance(value, date):
        return format_date(value, lang)
    return str(value)


def explore(data: gpd.GeoDataFrame, layer: str | Layer | None = None, *, m: folium.Map | None = None,
            column: str | None = None, base_url: str | None = None, lang: str = "id",
            tooltip: list[str] | None = None) -> folium.Map:
    """Draw a GeoDataFrame on a folium map with the style and legend of its layer declaration: `layer` names
    it or is it (frames from `Client.read` and `store.read_layer` carry theirs, so layers added at runtime draw
    with their own style too). `column` colours by another field instead (numeric columns get a
    yellow-to-red ramp). Add to an existing map with `m=`."""
    decl = declaration_of(data, layer)
    gdf = data.to_crs(4326)
    if m is None:
        m = offline_map(base_url)
        west, south, east, north = gdf.total_bounds
        m.fit_bounds([[south, west], [north, east]])
    spec = style_spec(decl) if decl is not None else None
    style = _style(spec)
    if column and (spec is None or column != spec.by) and gdf[column].dtype.kind in "fi":
        lo, hi = float(gdf[column].min()), float(gdf[column].max())

        def style(feature, lo=lo, hi=hi):  # noqa: F811 - a numeric choropleth replaces the declared style
            v = feature["properties"].get(column)
            t = 0.0 if v is None or hi == lo else (float(v) - lo) / (hi - lo)
            return {"color": "#555", "weight": 0.5, "fillOpacity": 0.75,
                    "fillColor": f"#{255:02x}{int(235 - 200 * t):02x}{int(160 - 160 * t):02x}"}

    fields = tooltip or [c for c in gdf.columns if c != gdf.geometry.name][:8]
    gdf, shown = _tooltip_columns(gdf, fields, lang)
    name = (decl.title_en if lang == "en" else decl.title_id) if decl else (layer or "data")
    marker = folium.CircleMarker(radius=spec.radius) if spec is not None and spec.kind == "circle" else None
    tip = folium.GeoJsonTooltip(fields=shown, aliases=[_field_title(decl, f, lang) for f in fields]) if fields else None
    folium.GeoJson(gdf.to_json(default=str), name=name, style_function=style, marker=marker, tooltip=tip).add_to(m)
    if decl is not None:
        m.get_root().html.add_child(folium.Element(legend_html(decl, lang)))
    return m
