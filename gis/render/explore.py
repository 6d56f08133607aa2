"""Folium maps for notebooks and generated pages, with the same styles and legends as the web map and no CDN:
Leaflet and jQuery come from the service's /static (or are inlined when there is no service to point at)."""

from __future__ import annotations

import base64
import html
import json

import folium
import geopandas as gpd

from gis.render import STATIC_DIR
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


def _style(layer: Layer | None, column: str | None):
    def style(feature):
        props = feature["properties"]
        if layer is None:
            return {"color": "#3388ff", "weight": 1.5, "fillOpacity": 0.4}
        key = column or layer.style.by
        color = layer.style.color_for(props.get(key)) if key else layer.style.color
        return {"color": color, "fillColor": color, "weight": layer.style.weight,
                "fillOpacity": layer.style.fill_opacity}

    return style


def legend_html(layer: Layer, lang: str = "id") -> str:
    title = layer.title_id if lang == "id" else layer.title_en
    badge = " (ilustratif)" if lang == "id" else " (illustrative)"
    rows = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;background:{e.color};'
        f'margin-right:6px;border:1px solid #555"></span>{html.escape(e.label_id if lang == "id" else e.label_en)}'
        f"</div>" for e in (layer.style.legend or ()))
    if not rows:
        rows = (f'<div><span style="display:inline-block;width:12px;height:12px;background:{layer.style.color};'
                f'margin-right:6px"></span>{html.escape(title)}</div>')
    return (f'<div style="position:absolute;bottom:24px;right:10px;z-index:9999;background:white;padding:6px 8px;'
            f'font:12px sans-serif;border:1px solid #999;max-height:50%;overflow:auto">'
            f"<b>{html.escape(title)}{badge if layer.illustrative else ''}</b>{rows}"
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
    style = _style(decl, column)
    if column and (decl is None or column != decl.style.by) and gdf[column].dtype.kind in "fi":
        lo, hi = float(gdf[column].min()), float(gdf[column].max())

        def style(feature, lo=lo, hi=hi):  # noqa: F811 - a numeric choropleth replaces the declared style
            v = feature["properties"].get(column)
            t = 0.0 if v is None or hi == lo else (float(v) - lo) / (hi - lo)
            return {"color": "#555", "weight": 0.5, "fillOpacity": 0.75,
                    "fillColor": f"#{255:02x}{int(235 - 200 * t):02x}{int(160 - 160 * t):02x}"}

    fields = tooltip or [c for c in gdf.columns if c != gdf.geometry.name][:8]
    name = (decl.title_id if lang == "id" else decl.title_en) if decl else (layer or "data")
    folium.GeoJson(gdf.to_json(default=str), name=name, style_function=style,
                   tooltip=folium.GeoJsonTooltip(fields=fields) if fields else None).add_to(m)
    if decl is not None:
        m.get_root().html.add_child(folium.Element(legend_html(decl, lang)))
    return m
