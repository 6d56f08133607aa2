"""Printed maps (PDF, or PNG at 300 dpi) on A4 or A3: a map frame on a city, a kecamatan, a kelurahan/desa or a
box, with the title block a planning office files - title, the area shown, date, legend of the layers drawn,
scale 1:N and bar, north arrow, UTM grid, locator inset, sources and the illustrative-data notice. The atlas
(`gis/render/atlas.py`) prints its pages with the same `draw_print_page`."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")  # no display on a server
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from pyproj import CRS, Transformer  # noqa: E402
from shapely.geometry.base import BaseGeometry  # noqa: E402
from sqlalchemy import Connection, text  # noqa: E402

from gis.core.errors import InvalidInput  # noqa: E402
from gis.core.language import format_date  # noqa: E402
from gis.core.scope import Scope  # noqa: E402
from gis.core.settings import Settings  # noqa: E402
from gis.data.cities import City  # noqa: E402
from gis.render.city_view import CityView, map_title, resolve_view  # noqa: E402
from gis.render.messages import lang_of, message  # noqa: E402
from gis.render.print_labels import PlacedLabel  # noqa: E402
from gis.render.print_layout import PRINT_DPI, Box, PageLayout, frame_extent, page_layout  # noqa: E402
from gis.render.print_page import (  # noqa: E402
    draw_grid,
    draw_inset,
    draw_labels,
    draw_legend,
    draw_map_frame,
    draw_north,
    draw_scale,
    fit_text,
    legend_entries,
)
from gis.render.static_map import _read  # noqa: E402
from layers.maps import MapDef  # noqa: E402
from layers.schema import Layer  # noqa: E402

FONTS = {"pdf.fonttype": 42, "font.family": "DejaVu Sans"}  # TrueType in the PDF: names searchable, copyable


@dataclass(frozen=True)
class PrintArea:
    """What a page frames: metric bounds to hold, the area to keep bright (None: everything), its names from
    the city down, and the cities whose features are drawn."""
    bounds: tuple[float, float, float, float]
    focus: BaseGeometry | None
    names: tuple[str, ...]
    scope: Scope
    codes: tuple[str, ...]


@dataclass
class PrintInfo:
    """Where everything went on the page (points, origin bottom-left) and what was drawn."""
    paper: str
    orientation: str
    size: tuple[float, float]
    scale: int
    extent: tuple[float, ...]  # metres, the metric CRS
    metric_crs: int
    frame: Box
    title: str
    area: str
    labels: list[PlacedLabel] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    north: Box | None = None
    scale_bar: Box | None = None
    scale_box: Box | None = None
    bar_metres: float = 0.0
    legend_layers: list[str] = field(default_factory=list)
    legend_box: Box | None = None
    illustrative: bool = False
    grid_x: list[float] = field(default_factory=list)
    grid_y: list[float] = field(default_factory=list)


def print_layers(value: str | None, mapdef: MapDef, catalog: dict[str, Layer]) -> list[Layer]:
    """The layers `?layers=` names (comma-separated ids of the map's public layers), in the map's drawing order;
    none named: the map's visible layers. An id not on the map is refused naming the choices."""
    allowed = [i for i in mapdef.layers if i in catalog and catalog[i].public]
    if not value or not value.strip():
        return [catalog[i] for i in mapdef.visible if i in allowed]
    asked = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in asked if v not in allowed]
    if unknown:
        raise InvalidInput(f"layers: {', '.join(u[:40] for u in unknown)} not on map {mapdef.id!r}; "
                           f"allowed: {', '.join(allowed)}")
    return [catalog[i] for i in allowed if i in asked]


def _to_metric(bounds, metric_crs: int) -> tuple[float, float, float, float]:
    return Transformer.from_crs(4326, metric_crs, always_xy=True).transform_bounds(*bounds)


def _to_lonlat(bounds, metric_crs: int) -> tuple[float, float, float, float]:
    return Transformer.from_crs(metric_crs, 4326, always_xy=True).transform_bounds(*bounds)


def _unit(conn: Connection, table: str, code: str, metric_crs: int) -> gpd.GeoDataFrame:
    cols = "nama, kabkota" + (", jenis, kecamatan_kode" if table == "kelurahan" else "")
    return gpd.read_postgis(text(f"SELECT {cols}, ST_Transform(geom, :srid) AS geom FROM {table} WHERE kode = :k"),
                            conn, geom_col="geom", params={"k": code, "srid": metric_crs})


def resolve_area(conn: Connection, view: CityView, metric_crs: int, lang: str, *, bbox=None,
                 kelurahan: str | None = None, kecamatan: str | None = None) -> PrintArea:
    """The area a print frames: a kelurahan/desa or a kecamatan by its Kemendagri code (its neighbours greyed),
    a lon/lat box, or the cities in view."""
    if sum(v is not None for v in (bbox, kelurahan, kecamatan)) > 1:
        raise InvalidInput("give one of bbox, kelurahan or kecamatan")
    city_name = view.name(lang)
    if kelurahan or kecamatan:
        table, code = ("kelurahan", kelurahan) if kelurahan else ("kecamatan", kecamatan)
        unit = _unit(conn, table, code.strip(), metric_crs)
        if unit.empty:
            form = "PP.KK.CC.DDDD" if table == "kelurahan" else "PP.KK.CC"
            raise InvalidInput(f"no {table} with code {code[:30]!r}; a {table} is named by its Kemendagri code "
                               f"({form}; see /collections/{table}/items)")
        row = unit.iloc[0]
        if view.scope and row.kabkota not in view.codes:
            raise InvalidInput(f"{table} {code} lies in city {row.kabkota}, not in the cities asked for "
                               f"({', '.join(view.codes)})")
        city = next((c for c in view.held if c.code == row.kabkota), None)
        names = [city.name if city else city_name]
        if table == "kelurahan":
            kec = conn.execute(text("SELECT nama FROM kecamatan WHERE kode = :k"), {"k": row.kecamatan_kode}).scalar()
            if kec:
                names.append(f"Kecamatan {kec}")
            names.append(f"{str(row.jenis or 'kelurahan').capitalize()} {row.nama}")
        else:
            names.append(f"Kecamatan {row.nama}")
        geom = unit.geometry.iloc[0]
        return PrintArea(tuple(geom.bounds), geom, tuple(names), (row.kabkota,), (row.kabkota,))
    if bbox is not None:
        if len(bbox) != 4 or not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
            raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat with min < max")
        return PrintArea(_to_metric(bbox, metric_crs), None, (city_name,), view.scope, view.codes)
    if view.bbox is None:
        raise InvalidInput("no city boundary loaded: nothing to print")
    return PrintArea(_to_metric(view.bbox, metric_crs), None, (city_name,), view.scope, view.codes)


def load_frames(conn: Connection, layers: list[Layer], scope: Scope, lonlat_box, metric_crs: int
                ) -> dict[str, gpd.GeoDataFrame]:
    """Each layer's public fields within the box, in the metric CRS."""
    return {layer.id: _metric(_read(conn, layer, lonlat_box, scope), metric_crs) for layer in layers}


def _metric(gdf: gpd.GeoDataFrame, metric_crs: int) -> gpd.GeoDataFrame:
    return (gdf.set_crs(4326) if gdf.crs is None else gdf).to_crs(metric_crs)  # an empty read has no CRS


def load_names(conn: Connection, scope: Scope, lonlat_box, metric_crs: int) -> gpd.GeoDataFrame:
    """Kelurahan/desa names and outlines within the box (labels are printed whether or not the layer is)."""
    from gis.data.registry import find_layer

    return _metric(_read(conn, find_layer(conn, "kelurahan"), lonlat_box, scope)[["nama", "geom"]], metric_crs)


def load_context(conn: Connection, codes: tuple[str, ...], metric_crs: int) -> gpd.GeoDataFrame:
    """The locator's cities: every city held in the province of those printed."""
    return gpd.read_postgis(text(
        "SELECT kode, ST_Transform(ST_SimplifyPreserveTopology(geom, 0.002), :srid) AS geom FROM kota WHERE "
        "provinsi_kode IS NOT DISTINCT FROM (SELECT provinsi_kode FROM kota WHERE kode = ANY(:codes) LIMIT 1) "
        "OR kode = ANY(:codes)"), conn, geom_col="geom", params={"codes": list(codes), "srid": metric_crs})


def _clip(frames: dict[str, gpd.GeoDataFrame], extent) -> dict[str, gpd.GeoDataFrame]:
    x0, y0, x1, y1 = extent
    return {k: v.cx[x0:x1, y0:y1] for k, v in frames.items()}


def crs_name(metric_crs: int) -> str:
    return f"{CRS.from_epsg(metric_crs).name} (EPSG:{metric_crs})"


class _PageCanvas(FigureCanvasAgg):
    """Agg for measuring text; no redraw each time geopandas adds a layer (it asks for one after every plot)."""

    def draw_idle(self, *args, **kwargs) -> None:
        pass


def new_page(layout: PageLayout) -> Figure:
    w, h = layout.size
    fig = Figure(figsize=(w / 72, h / 72), dpi=72)  # one pixel a point while laying out
    _PageCanvas(fig)  # measures text as it will be drawn
    return fig


def draw_print_page(fig: Figure, layout: PageLayout, *, title: str, area: PrintArea, frames, names, context,
                    layers: list[Layer], metric_crs: int, lang: str, on: date | None = None) -> PrintInfo:
    """One printed page on `fig` (a figure of the layout's size): the frame on `area` at a round scale."""
    extent, scale = frame_extent(area.bounds, layout.map)
    info = PrintInfo(layout.paper, layout.orientation, layout.size, scale, extent, metric_crs, layout.map, title,
                     ", ".join(area.names))
    frames = _clip(frames, extent)
    ax, drawn = draw_map_frame(fig, layout.map, extent, frames, layers, area.focus)
    info.grid_x, info.grid_y = draw_grid(ax, extent, lang)
    info.labels, info.dropped = draw_labels(fig, layout.map, extent, names.cx[extent[0]:extent[2],
                                                                               extent[1]:extent[3]], area.focus)
    info.north = draw_north(fig, layout.north, lang)
    info.scale_bar, info.scale_box, info.bar_metres = draw_scale(fig, layout.scale, scale, lang)
    info.legend_layers = [layer.id for layer in drawn]
    info.legend_box = draw_legend(fig, layout.legend, legend_entries(drawn, frames, lang), lang)
    draw_inset(fig, layout.inset, context, set(area.codes), extent, lang)
    box = layout.title
    y = fit_text(fig, box, box.y1, title, 14 * box.width / 227 if layout.orientation == "landscape" else 15, 9,
                 weight="bold")
    fit_text(fig, box, y - 2, info.area, 9, 6, color="#333333")
    info.illustrative = any(layer.illustrative for layer in drawn)
    notes = layout.notes
    y = fit_text(fig, notes, notes.y1, f"{message('static_printed', lang)}: {format_date(on or date.today(), lang)}",
                 6, 5)
    sources = "; ".join(dict.fromkeys(layer.source for layer in drawn))
    y = fit_text(fig, notes, y, f"{message('source', lang)}: {sources}", 5.5, 4.5, color="#333333")
    y = fit_text(fig, notes, y, f"{message('print_crs', lang)}: {crs_name(metric_crs)}, "
                                f"{message('print_grid', lang)}", 5.5, 4.5, color="#333333")
    if info.illustrative:
        fit_text(fig, notes, y - 1, message("illustrative_note", lang), 6, 4.5, color="#A00000", weight="bold")
    return info


def save(fig: Figure, fmt: str) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=PRINT_DPI)
    return buf.getvalue()


def render_print(conn: Connection, settings: Settings, mapdef: MapDef, catalog: dict[str, Layer],
                 cities: list[City], *, city: str | None = None, bbox=None, kelurahan: str | None = None,
                 kecamatan: str | None = None, layers: str | None = None, paper: str | None = None,
                 orientation: str | None = None, fmt: str = "pdf", lang: str = "id") -> tuple[bytes, PrintInfo]:
    """`mapdef` printed on paper for the cities `city` names (or a kelurahan/kecamatan/box in them): the PDF or
    a 300 dpi PNG, and where everything went."""
    if fmt not in ("png", "pdf"):
        raise InvalidInput("format must be png or pdf")
    lang = lang_of(lang)
    layout = page_layout(paper, orientation)
    chosen = print_layers(layers, mapdef, catalog)
    view = resolve_view(cities, city, settings.city.kode)
    metric_crs = view.metric_crs(settings.city.metric_crs)
    area = resolve_area(conn, view, metric_crs, lang, bbox=bbox, kelurahan=kelurahan, kecamatan=kecamatan)
    extent, _ = frame_extent(area.bounds, layout.map)
    box = _to_lonlat(extent, metric_crs)
    frames = load_frames(conn, chosen, area.scope, box, metric_crs)
    if not any(not f.empty for f in frames.values()):
        raise InvalidInput("nothing to draw in this extent: none of the layers has features there")
    with matplotlib.rc_context(FONTS):
        fig = new_page(layout)
        info = draw_print_page(fig, layout, title=map_title(mapdef, view, lang), area=area, frames=frames,
                               names=load_names(conn, area.scope, box, metric_crs),
                               context=load_context(conn, area.codes, metric_crs), layers=chosen,
                               metric_crs=metric_crs, lang=lang)
        return save(fig, fmt), info


def print_public_map(engine, settings: Settings, catalog: dict[str, Layer], cities: list[City], map_id: str,
                     **kwargs) -> bytes:
    """The public map `map_id` printed (see render_print): public layers and fields only."""
    from gis.render.webmap import public_map

    mapdef = public_map(map_id)
    with engine.connect() as conn:
        return render_print(conn, settings, mapdef, catalog, cities, **kwargs)[0]
