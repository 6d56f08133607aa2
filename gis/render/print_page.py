"""Drawing the parts of a printed page on a matplotlib figure sized to the paper: the map frame (layers, grey
neighbours, the UTM grid with labelled ticks, area names), the north arrow, the scale (1:N and a bar), the
legend of what was drawn, the locator inset, and the title and notes. Positions come from `print_layout`; each
function returns where its ink ended up (points), so a caller - and the tests - can check nothing collides."""

from __future__ import annotations

import textwrap

import geopandas as gpd
import shapely
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon, Rectangle

from gis.core.language import format_number
from gis.render.messages import illustrative_suffix, message
from gis.render.print_labels import LabelCandidate, PlacedLabel, place_labels
from gis.render.print_layout import Box, grid_step, grid_values, scale_bar_length
from gis.render.static_map import PT_PER_PX, scale_label
from gis.render.style_spec import style_spec
from layers.schema import Layer

GRID_COLOR = "#4F6D8F"
MUTE = "#FFFFFF"  # neighbours of the area printed are washed towards white
MUTE_ALPHA = 0.6
RASTERIZE_OVER = 150  # a polygon layer with more features is drawn as a 300 dpi raster inside the PDF
LABEL_HALO = 0.8  # points of light box around a name: under half the room kept between names


def to_points(fig: Figure, artists: list[Artist]) -> Box:
    """The union of the artists' extents on the page, in points."""
    renderer = fig.canvas.get_renderer()
    boxes = [a.get_window_extent(renderer) for a in artists]
    s = 72 / fig.dpi
    return Box(min(b.x0 for b in boxes) * s, min(b.y0 for b in boxes) * s, max(b.x1 for b in boxes) * s,
               max(b.y1 for b in boxes) * s)


def text_size(fig: Figure, weight: str = "normal"):
    """measure(text, size) -> (width, height) in points, as the figure's renderer draws it."""
    from matplotlib.font_manager import FontProperties

    renderer = fig.canvas.get_renderer()
    s = 72 / fig.dpi

    def measure(text: str, size: float) -> tuple[float, float]:
        w, h, _ = renderer.get_text_width_height_descent(text, FontProperties(size=size, weight=weight),
                                                         ismath=False)
        return w * s, h * s

    return measure


def points_axes(fig: Figure, box: Box):
    """Axes covering `box` whose data units are points from its lower-left corner."""
    ax = fig.add_axes(box.fraction(fig_size(fig)))
    ax.set_xlim(0, box.width)
    ax.set_ylim(0, box.height)
    ax.set_axis_off()
    return ax


def fig_size(fig: Figure) -> tuple[float, float]:
    w, h = fig.get_size_inches()
    return w * 72, h * 72


def draw_map_frame(fig: Figure, frame: Box, extent, frames: dict[str, gpd.GeoDataFrame], layers: list[Layer],
                   focus=None):
    """The layers (already in the metric CRS, clipped to `extent`), then the wash over what lies outside
    `focus`; returns the axes and the layers that had something to draw."""
    ax = fig.add_axes(frame.fraction(fig_size(fig)))
    ax.set_facecolor("#FFFFFF")
    drawn = []
    for layer in layers:
        gdf = frames.get(layer.id)
        if gdf is None or gdf.empty:
            continue
        before = len(ax.collections)
        spec = style_spec(layer)
        _draw(ax, gdf, spec)
        if spec.kind == "fill" and len(gdf) > RASTERIZE_OVER:
            for coll in ax.collections[before:]:
                coll.set_rasterized(True)
        drawn.append(layer)
    x0, y0, x1, y1 = extent
    if focus is not None:
        wash = shapely.box(x0, y0, x1, y1).difference(focus)
        if not wash.is_empty:
            gpd.GeoSeries([wash]).plot(ax=ax, color=MUTE, alpha=MUTE_ALPHA, edgecolor="none", zorder=8)
        gpd.GeoSeries([focus]).boundary.plot(ax=ax, color="#000000", linewidth=1.4, zorder=9)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("")  # geopandas names the axes; the grid's labels say it
    ax.set_ylabel("")
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)
    return ax, drawn


def _draw(ax, gdf: gpd.GeoDataFrame, spec) -> None:
    values = gdf[spec.by] if spec.by and spec.by in gdf else [None] * len(gdf)
    colors = [spec.color_for(v) for v in values]
    strokes = [spec.stroke_for(v) for v in values]
    width = spec.stroke_width * PT_PER_PX
    if spec.kind == "fill":
        if spec.fill_opacity > 0:
            gdf.plot(ax=ax, color=colors, alpha=spec.fill_opacity, edgecolor="none")
        gdf.boundary.plot(ax=ax, color=strokes, linewidth=width, alpha=spec.stroke_opacity)
    elif spec.kind == "line":
        gdf.plot(ax=ax, color=strokes, linewidth=width, alpha=spec.stroke_opacity)
    else:
        gdf.plot(ax=ax, color=colors, markersize=(2 * spec.radius * PT_PER_PX * 0.7) ** 2, edgecolor=strokes,
                 linewidth=width, zorder=5)


def draw_grid(ax, extent, lang: str) -> tuple[list[float], list[float]]:
    """UTM grid lines at a round interval with their easting (bottom) and northing (left) written out."""
    x0, y0, x1, y1 = extent
    step = grid_step(max(x1 - x0, y1 - y0))
    xs, ys = grid_values(x0, x1, step), grid_values(y0, y1, step)
    east, north = ("mT", "mU") if lang == "id" else ("mE", "mN")
    for x in xs:
        ax.axvline(x, color=GRID_COLOR, linewidth=0.35, alpha=0.8, zorder=10)
    for y in ys:
        ax.axhline(y, color=GRID_COLOR, linewidth=0.35, alpha=0.8, zorder=10)
    ax.set_xticks(xs, labels=[f"{int(round(x))} {east}" for x in xs])
    ax.set_yticks(ys, labels=[f"{int(round(y))} {north}" for y in ys])
    ax.tick_params(labelsize=5.5, length=3, width=0.5, direction="out", top=True, right=True, pad=1.5)
    for label in ax.get_yticklabels():
        label.set_rotation(90)
        label.set_verticalalignment("center")
    return xs, ys


def draw_labels(fig: Figure, frame: Box, extent, names: gpd.GeoDataFrame, focus=None,
                keep_clear: tuple[Box, ...] = ()) -> tuple[list[PlacedLabel], list[str]]:
    """Kelurahan/desa names at a point inside each area, without overlaps (see print_labels)."""
    x0, y0, x1, y1 = extent
    per_x, per_y = frame.width / (x1 - x0), frame.height / (y1 - y0)
    candidates = []
    for name, geom in zip(names["nama"], names.geometry, strict=True):
        visible = geom.intersection(shapely.box(x0, y0, x1, y1))
        if visible.is_empty or not name:
            continue
        p = visible.representative_point()
        candidates.append(LabelCandidate(str(name), frame.x0 + (p.x - x0) * per_x, frame.y0 + (p.y - y0) * per_y,
                                         visible.area, muted=focus is not None and not focus.contains(p)))
    placed, dropped = place_labels(candidates, text_size(fig), frame, keep_clear)
    w, h = fig_size(fig)
    for label in placed:
        # A light box under each name keeps it readable over roads and fills (a stroked halo would turn the
        # name into outlines, and the PDF would lose it as text).
        fig.text(label.x / w, label.y / h, label.text, fontsize=label.size, ha="center", va="center",
                 color="#8A8A8A" if label.muted else "#1A1A1A", zorder=20,
                 bbox={"fc": "#FFFFFF", "ec": "none", "alpha": 0.55, "pad": LABEL_HALO})
    return placed, dropped


def draw_north(fig: Figure, box: Box, lang: str) -> Box:
    """A north arrow (grid north: the map is drawn in UTM) with the letter above it."""
    ax = points_axes(fig, box)
    cx, h = box.width / 2, box.height
    tip, base, half = h - 14, 4, min(box.width, h) * 0.16
    left = Polygon([(cx, tip), (cx - half, base), (cx, base + (tip - base) * 0.28)], closed=True, fc="#FFFFFF",
                   ec="#000000", lw=0.8)
    right = Polygon([(cx, tip), (cx + half, base), (cx, base + (tip - base) * 0.28)], closed=True, fc="#000000",
                    ec="#000000", lw=0.8)
    ax.add_patch(left)
    ax.add_patch(right)
    letter = ax.text(cx, tip + 2, message("north", lang), ha="center", va="bottom", fontsize=10, weight="bold")
    return to_points(fig, [left, right, letter])


def draw_scale(fig: Figure, box: Box, scale: int, lang: str) -> tuple[Box, Box, float]:
    """`Skala 1:25.000` and a bar of a round length in four black and white parts, its ends written below it.
    Returns (the bar's box, the whole scale's box, the bar's length in metres)."""
    ax = points_axes(fig, box)
    per_point = scale * 0.0254 / 72
    room = box.width - 24  # the end label sticks out past the bar's end
    length = scale_bar_length(room * per_point)
    bar_pt = length / per_point
    top = box.height - 4
    heading = ax.text(0, top, f"{message('print_scale', lang)} 1:{format_number(scale, lang, decimals=0)}",
                      ha="left", va="top", fontsize=8, weight="bold")
    bar_y, bar_h = top - 22, 4.0
    parts = []
    for i in range(4):
        parts.append(Rectangle((i * bar_pt / 4, bar_y), bar_pt / 4, bar_h, fc="#000000" if i % 2 == 0 else "#FFFFFF",
                               ec="#000000", lw=0.6))
        ax.add_patch(parts[-1])
    ends = [ax.text(0, bar_y - 2.5, "0", ha="center", va="top", fontsize=6),
            ax.text(bar_pt, bar_y - 2.5, scale_label(length, lang), ha="center", va="top", fontsize=6)]
    return to_points(fig, parts), to_points(fig, [heading, *parts, *ends]), length


def legend_entries(drawn: list[Layer], frames: dict[str, gpd.GeoDataFrame], lang: str) -> list[Artist]:
    """A heading per layer drawn with categories, then one swatch per value present on the page (the declared
    label); a single-colour layer is one swatch with its title."""
    handles: list[Artist] = []
    for layer in drawn:
        spec = style_spec(layer)
        gdf = frames[layer.id]
        present = set(gdf[spec.by].dropna()) if spec.by and spec.by in gdf else set()
        entries = [e for e in spec.legend if e.value is None or e.value in present] or list(spec.legend[:1])
        title = (layer.title_en if lang == "en" else layer.title_id) + (
            illustrative_suffix(lang) if layer.illustrative else "")
        single = len(spec.legend) == 1 and spec.legend[0].value is None
        if not single:
            handles.append(Patch(color="none", label=title))
        for entry in entries:
            label = title if single else "  " + entry.label(lang)
            if spec.kind == "line":
                handles.append(Line2D([], [], color=entry.color, lw=1.6, label=label))
            elif spec.kind == "circle":
                handles.append(Line2D([], [], marker="o", color="none", markerfacecolor=entry.color,
                                      markeredgecolor="#555555", markersize=5, label=label))
            else:
                handles.append(Patch(facecolor=entry.color, edgecolor="#555555", lw=0.5, label=label))
    return handles


def draw_legend(fig: Figure, box: Box, handles: list[Artist], lang: str) -> Box:
    """The legend in `box`: the largest font (and fewest columns) at which it fits."""
    w, h = fig_size(fig)
    for size in (7.0, 6.5, 6.0, 5.5, 5.0, 4.5, 4.0):
        for ncol in (1, 2):
            legend = fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(box.x0 / w, box.y1 / h),
                                fontsize=size, title=message("legend", lang), title_fontsize=size + 1.5,
                                frameon=False, ncol=ncol, borderaxespad=0, borderpad=0, handlelength=1.6,
                                labelspacing=0.35, columnspacing=0.8, alignment="left")
            drawn = to_points(fig, [legend])
            if box.contains(Box(drawn.x0 + 0.01, drawn.y0 + 0.01, drawn.x1 - 0.01, drawn.y1 - 0.01)):
                return drawn
            legend.remove()
    legend = fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(box.x0 / w, box.y1 / h), fontsize=4,
                        frameon=False, ncol=3, borderaxespad=0)
    return to_points(fig, [legend])


def draw_inset(fig: Figure, box: Box, context: gpd.GeoDataFrame, shown: set[str], extent, lang: str) -> None:
    """The cities around (grey), those printed (darker), and the printed area as a red rectangle."""
    ax = fig.add_axes(box.fraction(fig_size(fig)))
    ax.set_facecolor("#F7F7F7")
    if not context.empty:
        colours = ["#9A9A9A" if code in shown else "#DDDDDD" for code in context["kode"]]
        context.plot(ax=ax, color=colours, edgecolor="#FFFFFF", linewidth=0.4)
    x0, y0, x1, y1 = extent
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="#D00000", lw=1.0, zorder=5))
    bx0, by0, bx1, by1 = context.total_bounds if not context.empty else extent
    bx0, by0, bx1, by1 = min(bx0, x0), min(by0, y0), max(bx1, x1), max(by1, y1)
    # At least three times the printed area, so a whole-city print still shows where it lies.
    span = max(bx1 - bx0, by1 - by0, 3 * max(x1 - x0, y1 - y0)) * 1.08
    aspect = box.width / box.height
    cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
    half_w, half_h = (span / 2, span / 2 / aspect) if aspect >= 1 else (span / 2 * aspect, span / 2)
    half_w, half_h = max(half_w, (bx1 - bx0) / 2 * 1.05), max(half_h, (by1 - by0) / 2 * 1.05)
    ax.set_xlim(cx - half_w, cx + half_w)
    ax.set_ylim(cy - half_h, cy + half_h)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.03, 0.97, message("print_locator", lang), transform=ax.transAxes, ha="left", va="top", fontsize=6,
            weight="bold", bbox={"fc": "#FFFFFF", "ec": "none", "pad": 1})


def fit_text(fig: Figure, box: Box, y: float, text: str, size: float, min_size: float, **kwargs) -> float:
    """`text` at the top-left of a line at `y` (points), shrunk to the box's width, else wrapped; returns the
    y below it."""
    measure = text_size(fig, kwargs.get("weight", "normal"))
    while size > min_size and measure(text, size)[0] > box.width:
        size -= 0.5
    lines = [text]
    if measure(text, size)[0] > box.width:
        chars = max(10, int(len(text) * box.width / measure(text, size)[0]))
        lines = textwrap.wrap(text, chars)
    w, h = fig_size(fig)
    for line in lines:
        fig.text(box.x0 / w, y / h, line, fontsize=size, ha="left", va="top", **kwargs)
        y -= size * 1.3
    return y
