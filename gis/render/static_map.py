"""Static maps (PNG, PDF) for reports and letters: title, legend from the layer declarations, scale bar,
north arrow and attribution. Drawn in the city's metric CRS, so the scale bar is true."""

from __future__ import annotations

import io
from datetime import date

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")  # no display on a server
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from sqlalchemy import Connection, text  # noqa: E402

from gis.core.errors import InvalidInput  # noqa: E402
from gis.data.catalog import city_bounds  # noqa: E402
from layers.maps import MapDef  # noqa: E402
from layers.schema import Layer  # noqa: E402

MAX_PIXELS = 4000


def _read(conn: Connection, layer: Layer, bbox) -> gpd.GeoDataFrame:
    cols = ", ".join(f'"{f.name}"' for f in layer.public_fields)
    sql = f"SELECT {cols + ', ' if cols else ''}geom FROM {layer.id}"
    params = {}
    if bbox:
        sql += " WHERE geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)"
        params = dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))
    return gpd.read_postgis(text(sql), conn, geom_col="geom", params=params)


def _nice_length(span_m: float) -> float:
    target = span_m / 5
    for step in (10, 20, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000):
        if step >= target:
            return step
    return 100000


def render_map(conn: Connection, mapdef: MapDef, catalog: dict[str, Layer], *, bbox=None, width: int = 1200,
               height: int = 900, fmt: str = "png", lang: str = "id", metric_crs: int = 32647) -> bytes:
    """The map's visible layers with their public fields only (static maps go to the public)."""
    if not (100 <= width <= MAX_PIXELS and 100 <= height <= MAX_PIXELS):
        raise InvalidInput(f"width and height must be between 100 and {MAX_PIXELS} pixels")
    if fmt not in ("png", "pdf"):
        raise InvalidInput("format must be png or pdf")
    if bbox is not None and not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
        raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat with min < max")
    fig = plt.figure(figsize=(width / 100, height / 100), dpi=100)
    ax = fig.add_axes([0.02, 0.08, 0.70, 0.82])
    ax.set_facecolor("#F4F1EA")
    handles, sources, drawn = [], [], []
    for layer_id in mapdef.visible:
        layer = catalog.get(layer_id)
        if layer is None or not layer.public:
            continue
        gdf = _read(conn, layer, bbox)
        if gdf.empty:
            continue
        gdf = gdf.to_crs(metric_crs)
        colors = [layer.style.color_for(v) for v in gdf[layer.style.by]] if layer.style.by else layer.style.color
        if layer.is_polygon:
            gdf.plot(ax=ax, color=colors, alpha=max(layer.style.fill_opacity, 0.05) if layer.style.fill_opacity
                     else 0.0, edgecolor="none")
            gdf.boundary.plot(ax=ax, color=colors, linewidth=layer.style.weight * 0.5)
        elif "Line" in layer.geometry_type:
            gdf.plot(ax=ax, color=colors, linewidth=layer.style.weight)
        else:
            gdf.plot(ax=ax, color=colors, markersize=18, edgecolor="white", linewidth=0.5, zorder=5)
        drawn.append(layer)
        sources.append(layer.source)
    if not drawn:
        raise InvalidInput("nothing to draw in this extent")
    if bbox is None:  # default: the city, with a margin
        city = city_bounds(conn)
        if city is not None:
            x0, y0, x1, y1 = city
            dx, dy = (x1 - x0) * 0.05, (y1 - y0) * 0.05
            bbox = (x0 - dx, y0 - dy, x1 + dx, y1 + dy)
    if bbox:
        x0, y0, x1, y1 = gpd.GeoSeries.from_xy([bbox[0], bbox[2]], [bbox[1], bbox[3]], crs=4326).to_crs(
            metric_crs).total_bounds
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    for layer in drawn:
        suffix = (" (ilustratif)" if lang == "id" else " (illustrative)") if layer.illustrative else ""
        title = (layer.title_id if lang == "id" else layer.title_en) + suffix
        kind = "line" if "Line" in layer.geometry_type else ("point" if not layer.is_polygon else "fill")
        entries = list(layer.style.legend)
        if entries:
            handles.append(Patch(color="none", label=title))
        for e in entries or [None]:
            color = e.color if e else layer.style.color
            label = ("  " + (e.label_id if lang == "id" else e.label_en)) if e else title
            handles.append(Line2D([], [], color=color, lw=2, label=label) if kind == "line" else
                           Line2D([], [], marker="o", color="white", markerfacecolor=color, markersize=7, label=label)
                           if kind == "point" else Patch(facecolor=color, edgecolor="#555", label=label))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.735, 0.90), fontsize=6.5, frameon=False)
    fig.text(0.02, 0.95, mapdef.title_id if lang == "id" else mapdef.title_en, fontsize=14, weight="bold")
    fig.text(0.02, 0.92, ("Legenda, skala dan arah utara; " if lang == "id" else "Legend, scale and north; ")
             + date.today().isoformat(), fontsize=7, color="#555")
    # Scale bar (metres, the axes are in the metric CRS) and north arrow.
    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    length = _nice_length(xmax - xmin)
    sx, sy = xmin + (xmax - xmin) * 0.05, ymin + (ymax - ymin) * 0.05
    ax.plot([sx, sx + length], [sy, sy], color="black", lw=3, solid_capstyle="butt", zorder=10)
    ax.text(sx + length / 2, sy + (ymax - ymin) * 0.015, f"{length / 1000:g} km" if length >= 1000 else
            f"{length:g} m", ha="center", fontsize=8, zorder=10)
    ax.annotate("U" if lang == "id" else "N", xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction",
                ha="center", fontsize=11, weight="bold", arrowprops={"arrowstyle": "-|>", "color": "black"})
    fig.text(0.02, 0.03, "Sumber / sources: " + "; ".join(dict.fromkeys(sources)) + f". CRS: EPSG:{metric_crs}.",
             fontsize=6, color="#333", wrap=True)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=100)
    plt.close(fig)
    return buf.getvalue()
