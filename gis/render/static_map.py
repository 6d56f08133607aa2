"""Static maps (PNG, PDF) for reports and letters: title, legend, scale bar, north arrow and attribution, drawn
from the layers' style specifications. Drawn in the city's metric CRS, so the scale bar is true."""

from __future__ import annotations

import io
from datetime import date

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")  # no display on a server
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from sqlalchemy import Connection, Engine, text  # noqa: E402

from gis.core.errors import InvalidInput  # noqa: E402
from gis.core.language import format_date, format_number  # noqa: E402
from gis.core.scope import Scope  # noqa: E402
from gis.core.settings import Settings  # noqa: E402
from gis.data.catalog import city_bounds  # noqa: E402
from gis.data.cities import City  # noqa: E402
from gis.data.features import city_clause  # noqa: E402
from gis.render.city_view import map_title, resolve_view  # noqa: E402
from gis.render.messages import illustrative_suffix, lang_of, message  # noqa: E402
from gis.render.style_spec import StyleSpec, style_spec  # noqa: E402
from gis.render.webmap import public_map  # noqa: E402
from layers.maps import MapDef  # noqa: E402
from layers.schema import Layer  # noqa: E402

MAX_PIXELS = 4000
DPI = 100
PT_PER_PX = 72 / DPI  # the specification's widths are screen pixels; matplotlib's are points


def _read(conn: Connection, layer: Layer, bbox, cities: Scope = ()) -> gpd.GeoDataFrame:
    cols = ", ".join(f'"{f.name}"' for f in layer.public_fields)
    params: dict = {}
    where = [c for c in [city_clause(cities, params)] if c]
    if bbox:
        where.append("geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)")
        params.update(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))
    sql = f"SELECT {cols + ', ' if cols else ''}geom FROM {layer.id}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return gpd.read_postgis(text(sql), conn, geom_col="geom", params=params)


def _nice_length(span_m: float) -> float:
    target = span_m / 5
    for step in (10, 20, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000):
        if step >= target:
            return step
    return 100000


def scale_label(length_m: float, lang: str) -> str:
    """The scale bar's label: `2,5 km` / `2.5 km`, `500 m`."""
    if length_m >= 1000:
        return f"{format_number(length_m / 1000, lang)} km"
    return f"{format_number(length_m, lang)} m"


def draw_layer(ax, gdf: gpd.GeoDataFrame, spec: StyleSpec) -> None:
    """`gdf` (in the axes' CRS) as the specification says: fill and outline, line, or circle."""
    values = gdf[spec.by] if spec.by else [None] * len(gdf)
    colors = [spec.color_for(v) for v in values]
    strokes = [spec.stroke_for(v) for v in values]
    if spec.kind == "fill":
        if spec.fill_opacity > 0:
            gdf.plot(ax=ax, color=colors, alpha=spec.fill_opacity, edgecolor="none")
        gdf.boundary.plot(ax=ax, color=strokes, linewidth=spec.stroke_width * PT_PER_PX, alpha=spec.stroke_opacity)
    elif spec.kind == "line":
        gdf.plot(ax=ax, color=strokes, linewidth=spec.stroke_width * PT_PER_PX, alpha=spec.stroke_opacity)
    else:
        gdf.plot(ax=ax, color=colors, markersize=(2 * spec.radius * PT_PER_PX) ** 2, edgecolor=strokes,
                 linewidth=spec.stroke_width * PT_PER_PX, zorder=5)


def legend_handles(layers: list[Layer], lang: str) -> list[Artist]:
    """One heading per layer with categories, then one swatch per legend entry of its specification."""
    handles: list[Artist] = []
    for layer in layers:
        spec = style_spec(layer)
        title = (layer.title_en if lang == "en" else layer.title_id) + (
            illustrative_suffix(lang) if layer.illustrative else "")
        single = len(spec.legend) == 1 and spec.legend[0].value is None
        if not single:
            handles.append(Patch(color="none", label=title))
        for entry in spec.legend:
            label = title if single else "  " + entry.label(lang)
            if spec.kind == "line":
                handles.append(Line2D([], [], color=entry.color, lw=2, label=label))
            elif spec.kind == "circle":
                handles.append(Line2D([], [], marker="o", color="none", markerfacecolor=entry.color,
                                      markeredgecolor=spec.stroke or entry.color, markersize=7, label=label))
            else:
                handles.append(Patch(facecolor=entry.color, edgecolor="#555", label=label))
    return handles


def render_map(conn: Connection, mapdef: MapDef, catalog: dict[str, Layer], *, metric_crs: int, bbox=None,
               width: int = 1200, height: int = 900, fmt: str = "png", lang: str = "id", cities: Scope = (),
               extent=None, title: str | None = None) -> bytes:
    """The map's visible layers with their public fields only (static maps go to the public): only the features
    of `cities` when given, framing `bbox`, else `extent` (the cities'), else every city's boundary."""
    if not (100 <= width <= MAX_PIXELS and 100 <= height <= MAX_PIXELS):
        raise InvalidInput(f"width and height must be between 100 and {MAX_PIXELS} pixels")
    if fmt not in ("png", "pdf"):
        raise InvalidInput("format must be png or pdf")
    if bbox is not None and not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
        raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat with min < max")
    fig = plt.figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    ax = fig.add_axes([0.02, 0.08, 0.70, 0.82])
    ax.set_facecolor("#F4F1EA")
    drawn: list[Layer] = []
    for layer_id in mapdef.visible:
        layer = catalog.get(layer_id)
        if layer is None or not layer.public:
            continue
        gdf = _read(conn, layer, bbox, cities)
        if gdf.empty:
            continue
        draw_layer(ax, gdf.to_crs(metric_crs), style_spec(layer))
        drawn.append(layer)
    if not drawn:
        raise InvalidInput("nothing to draw in this extent")
    if bbox is None:  # default: the city, with a margin
        city = extent or city_bounds(conn)
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
    fig.legend(handles=legend_handles(drawn, lang), loc="upper left", bbox_to_anchor=(0.735, 0.90), fontsize=6.5,
               frameon=False)
    title = title or (mapdef.title_en if lang == "en" else mapdef.title_id)
    fig.text(0.02, 0.95, title, fontsize=14, weight="bold")
    fig.text(0.02, 0.92, f"{message('static_printed', lang)}: {format_date(date.today(), lang)}", fontsize=7,
             color="#555")
    # Scale bar (metres, the axes are in the metric CRS) and north arrow.
    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    length = _nice_length(xmax - xmin)
    sx, sy = xmin + (xmax - xmin) * 0.05, ymin + (ymax - ymin) * 0.05
    ax.plot([sx, sx + length], [sy, sy], color="black", lw=3, solid_capstyle="butt", zorder=10)
    # The label stands a few points above the bar, so it never touches it at any map size.
    ax.annotate(scale_label(length, lang), xy=(sx + length / 2, sy), xytext=(0, 4), textcoords="offset points",
                ha="center", va="bottom", fontsize=8, zorder=10)
    ax.annotate(message("north", lang), xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction",
                ha="center", fontsize=11, weight="bold", arrowprops={"arrowstyle": "-|>", "color": "black"})
    sources = "; ".join(dict.fromkeys(layer.source for layer in drawn))
    fig.text(0.02, 0.03, f"{message('source', lang)}: {sources}. CRS: EPSG:{metric_crs}.", fontsize=6,
             color="#333", wrap=True)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=DPI)
    plt.close(fig)
    return buf.getvalue()


def render_city_map(conn: Connection, settings: Settings, mapdef: MapDef, catalog: dict[str, Layer],
                    cities: list[City], city: str | None = None, **kwargs) -> bytes:
    """`mapdef` drawn for the cities `city` names (codes or `all`; default the service's own city): their
    features only, their extent, their title, and their metric CRS for a true scale bar."""
    view = resolve_view(cities, city, settings.city.kode)
    return render_map(conn, mapdef, catalog, metric_crs=view.metric_crs(settings.city.metric_crs),
                      cities=view.scope, extent=view.bbox, title=map_title(mapdef, view, lang_of(kwargs.get("lang"))),
                      **kwargs)


def render_public_map(engine: Engine, settings: Settings, catalog: dict[str, Layer], cities: list[City],
                      map_id: str, *, city: str | None = None, **kwargs) -> bytes:
    """The public map `map_id` as a PNG or PDF for the cities `city` names."""
    mapdef = public_map(map_id)
    with engine.connect() as conn:
        return render_city_map(conn, settings, mapdef, catalog, cities, city, **kwargs)
