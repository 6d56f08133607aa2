"""A city's atlas as one PDF: a cover, an index (each page's area and number), then one printed page per
kecamatan - or per kelurahan/desa - in the layout of `print_map`, framed on that area with its neighbours
greyed. The city's layers are read once and each page takes its part."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from sqlalchemy import Connection, text

from gis.core.errors import InvalidInput
from gis.core.language import format_date
from gis.core.settings import Settings
from gis.data.cities import City
from gis.render.city_view import map_title, resolve_view
from gis.render.messages import illustrative_suffix, lang_of, message
from gis.render.print_layout import PRINT_DPI, Box, page_layout
from gis.render.print_map import (
    FONTS,
    PrintArea,
    PrintInfo,
    _to_lonlat,
    _to_metric,
    draw_print_page,
    load_context,
    load_frames,
    load_names,
    new_page,
    print_layers,
)
from gis.render.print_page import fit_text, points_axes, text_size
from layers.maps import MAPS
from layers.schema import Layer

LEVELS = ("kecamatan", "kelurahan")
FIRST_AREA_PAGE = 3  # after the cover and the index


@dataclass
class AtlasInfo:
    pages: int
    entries: list[tuple[int, str, str]] = field(default_factory=list)  # (page, code, name)
    page_info: list[PrintInfo] = field(default_factory=list)


def atlas_units(conn: Connection, code: str, level: str, metric_crs: int) -> gpd.GeoDataFrame:
    extra = ("u.jenis, (SELECT k.nama FROM kecamatan k WHERE k.kode = u.kecamatan_kode) AS kecamatan"
             if level == "kelurahan" else "'kecamatan' AS jenis, NULL AS kecamatan")
    return gpd.read_postgis(text(
        f"SELECT u.kode, u.nama, {extra}, ST_Transform(u.geom, :srid) AS geom FROM {level} u "
        "WHERE u.kabkota = :c ORDER BY u.kode"), conn, geom_col="geom", params={"c": code, "srid": metric_crs})


def _unit_title(row, level: str) -> str:
    kind = "Kecamatan" if level == "kecamatan" else str(row.jenis or "kelurahan").capitalize()
    return f"{kind} {row.nama}"


def _cover(layout, city: City, level: str, units: gpd.GeoDataFrame, layers: list[Layer], lang: str, on: date):
    fig = new_page(layout)
    w, h = layout.size
    m = 28.35
    head = Box(m, h - m - 120, w - m, h - m)
    y = fit_text(fig, head, head.y1 - 10, f"{message('atlas', lang)} {city.name}", 26, 14, weight="bold")
    kind = "kecamatan" if level == "kecamatan" else "kelurahan/desa"
    y = fit_text(fig, head, y - 6, f"{message('atlas_pages_of', lang).capitalize()} {kind} ({len(units)})", 13, 9)
    fit_text(fig, head, y - 4, format_date(on, lang), 10, 8, color="#333333")
    ax = fig.add_axes(Box(m, m + 70, w - m, head.y0 - 10).fraction((w, h)))
    units.plot(ax=ax, color="#EFEFEF", edgecolor="#555555", linewidth=0.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    illustrative = [layer for layer in layers if layer.illustrative]
    notes = Box(m, m, w - m, m + 60)
    y = fit_text(fig, notes, notes.y1, f"{message('source', lang)}: "
                 + "; ".join(dict.fromkeys(layer.source for layer in layers)), 7, 5, color="#333333")
    if illustrative:
        names = ", ".join((la.title_en if lang == "en" else la.title_id) + illustrative_suffix(lang)
                          for la in illustrative)
        fit_text(fig, notes, y - 2, f"{message('illustrative_note', lang)} {names}", 7, 5, color="#A00000")
    return fig


def _index(layout, entries: list[tuple[int, str, str]], lang: str):
    """The contents: page number, code and name of each area, in as many columns as they need."""
    fig = new_page(layout)
    w, h = layout.size
    box = Box(28.35, 28.35, w - 28.35, h - 28.35)
    fit_text(fig, box, box.y1, message("atlas_contents", lang), 18, 12, weight="bold")
    ax = points_axes(fig, Box(box.x0, box.y0, box.x1, box.y1 - 34))
    room = box.height - 40
    measure = text_size(fig)
    longest = max(entries, key=lambda e: len(f"{e[2]}  ({e[1]})"))
    size = 9.0
    while True:  # the largest size at which the columns the entries need fit across the page
        rows = max(1, int(room // (size * 1.45)))
        cols = -(-len(entries) // rows)
        col_w = measure(f"{longest[2]}  ({longest[1]})", size)[0] + 40 * size / 9
        if cols * col_w <= box.width or size <= 3:
            break
        size -= 0.25
    col_w = box.width / max(cols, 1)
    ax.text(0, room + 4, f"{message('atlas_page', lang)}", fontsize=size, weight="bold", va="bottom")
    for i, (page, code, name) in enumerate(entries):
        c, r = divmod(i, rows)
        x, y = c * col_w, room - (r + 1) * size * 1.45
        ax.text(x + 18 * size / 9, y, str(page), fontsize=size, ha="right")
        ax.text(x + 26 * size / 9, y, f"{name}  ({code})", fontsize=size)
    return fig


def render_atlas(conn: Connection, settings: Settings, catalog: dict[str, Layer], cities: list[City],
                 city_code: str, *, level: str = "kecamatan", paper: str | None = None,
                 orientation: str | None = None, layers: str | None = None, lang: str = "id",
                 progress: Callable[[str], None] = lambda name: None) -> tuple[bytes, AtlasInfo]:
    """The atlas of the city `city_code`: cover, index, and a page per kecamatan or kelurahan/desa."""
    lang = lang_of(lang)
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)} (got {str(level)[:20]!r})")
    held = {c.code: c for c in cities}
    if city_code not in held:
        raise InvalidInput(f"no city {str(city_code)[:20]!r} is held; cities: "
                           + (", ".join(f"{c.code} ({c.name})" for c in cities) or "none yet"))
    layout = page_layout(paper, orientation)
    city = held[city_code]
    view = resolve_view(cities, city_code, settings.city.kode)
    mapdef = MAPS.get(settings.city.map_id) or next(iter(MAPS.values()))
    chosen = print_layers(layers, mapdef, catalog)
    metric_crs = view.metric_crs(settings.city.metric_crs)
    units = atlas_units(conn, city_code, level, metric_crs)
    if units.empty:
        raise InvalidInput(f"city {city_code} has no {level} to make pages of")
    x0, y0, x1, y1 = _to_metric(city.bbox, metric_crs)
    pad = max(x1 - x0, y1 - y0) * 0.25  # a page framed on a border area shows some of what lies beyond
    box = _to_lonlat((x0 - pad, y0 - pad, x1 + pad, y1 + pad), metric_crs)
    frames = load_frames(conn, chosen, (city_code,), box, metric_crs)
    names = load_names(conn, (city_code,), box, metric_crs)
    context = load_context(conn, (city_code,), metric_crs)
    title = map_title(mapdef, view, lang)
    on = date.today()
    info = AtlasInfo(pages=FIRST_AREA_PAGE - 1 + len(units))
    info.entries = [(FIRST_AREA_PAGE + i, row.kode, _unit_title(row, level))
                    for i, row in enumerate(units.itertuples())]
    buf = io.BytesIO()
    with matplotlib.rc_context(FONTS), PdfPages(buf) as pdf:
        pdf.savefig(_cover(layout, city, level, units, chosen, lang, on), dpi=PRINT_DPI)
        pdf.savefig(_index(layout, info.entries, lang), dpi=PRINT_DPI)
        for (page, _code, name), row in zip(info.entries, units.itertuples(), strict=True):
            progress(name)
            fig = new_page(layout)
            within = (f"Kecamatan {row.kecamatan}",) if row.kecamatan else ()
            area = PrintArea(tuple(row.geom.bounds), row.geom, (city.name, *within, name), (city_code,),
                             (city_code,))
            page_info = draw_print_page(fig, layout, title=title, area=area, frames=frames, names=names,
                                        context=context, layers=chosen, metric_crs=metric_crs, lang=lang, on=on)
            w, _ = layout.size
            fig.text((w - 28.35) / w, 10 / layout.size[1], f"{message('atlas_page', lang)} {page}", ha="right",
                     fontsize=7, color="#333333")
            info.page_info.append(page_info)
            pdf.savefig(fig, dpi=PRINT_DPI)
    return buf.getvalue(), info
