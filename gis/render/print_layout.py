"""The page of a printed map: ISO paper (A4, A3) in portrait or landscape, and where the map frame and the title
block's parts (title, north arrow, scale, legend, locator inset, notes) sit on it, in PostScript points (1/72
inch, origin bottom-left, as in the PDF). Also the cartographic numbers a print needs: a round scale 1:N that
holds the area asked for, the scale bar's length and the coordinate grid's step."""

from __future__ import annotations

import math
from dataclasses import dataclass

from gis.core.errors import InvalidInput

MM = 72 / 25.4  # points per millimetre
PAPERS = {"A4": (210, 297), "A3": (297, 420)}  # ISO 216, millimetres (short side, long side)
ORIENTATIONS = ("portrait", "landscape")
PRINT_DPI = 300  # raster parts of a PDF, and a print's PNG
METRES_PER_POINT_AT_1 = 0.0254 / 72  # one point on paper at 1:1
# Round scales a planning office prints at; past the last, the next 1-2-5 step.
NICE_SCALES = (500, 1000, 1250, 2000, 2500, 5000, 7500, 10000, 12500, 15000, 20000, 25000, 30000, 40000, 50000,
               60000, 75000, 100000, 125000, 150000, 200000, 250000, 300000, 400000, 500000, 750000, 1000000)
FRAME_MARGIN = 1.04  # the area asked for never touches the frame


@dataclass(frozen=True)
class Box:
    """A rectangle on the page in points."""
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def intersects(self, other: Box, pad: float = 0.0) -> bool:
        return not (self.x1 + pad <= other.x0 or other.x1 + pad <= self.x0 or
                    self.y1 + pad <= other.y0 or other.y1 + pad <= self.y0)

    def contains(self, other: Box) -> bool:
        return self.x0 <= other.x0 and self.y0 <= other.y0 and other.x1 <= self.x1 and other.y1 <= self.y1

    def fraction(self, page: tuple[float, float]) -> list[float]:
        """[left, bottom, width, height] as fractions of the page (what matplotlib's add_axes takes)."""
        w, h = page
        return [self.x0 / w, self.y0 / h, self.width / w, self.height / h]

    def as_list(self) -> list[float]:
        return [round(v, 2) for v in (self.x0, self.y0, self.x1, self.y1)]


@dataclass(frozen=True)
class PageLayout:
    paper: str
    orientation: str
    size: tuple[float, float]  # width, height in points
    map: Box
    title: Box
    north: Box
    scale: Box
    legend: Box
    inset: Box
    notes: Box


def check_paper(paper: str | None, orientation: str | None) -> tuple[str, str]:
    """`A4`/`a3` and `portrait`/`landscape` (default A4 landscape); anything else is refused naming the choices."""
    p = (paper or "A4").strip().upper()
    o = (orientation or "landscape").strip().lower()
    if p not in PAPERS:
        raise InvalidInput(f"paper must be one of {', '.join(PAPERS)} (got {str(paper)[:20]!r})")
    if o not in ORIENTATIONS:
        raise InvalidInput(f"orientation must be one of {', '.join(ORIENTATIONS)} (got {str(orientation)[:20]!r})")
    return p, o


def page_size(paper: str, orientation: str) -> tuple[float, float]:
    short, long = (v * MM for v in PAPERS[paper])
    return (short, long) if orientation == "portrait" else (long, short)


def page_layout(paper: str, orientation: str) -> PageLayout:
    """Portrait: the title across the top, the map, then the title block in three columns (north arrow and
    scale; legend; locator inset and notes). Landscape: the map on the left, the title block as a right column.
    Room is left left of and below the frame for the grid's labels."""
    paper, orientation = check_paper(paper, orientation)
    w, h = page_size(paper, orientation)
    m = 10 * MM  # page margin
    k = w / page_size("A4", orientation)[0]  # A3 scales the block with the page
    gutter = 16 * k  # grid labels
    if orientation == "portrait":
        title = Box(m, h - m - 40 * k, w - m, h - m)
        panel_top = m + 0.29 * h
        col = (w - 2 * m) / 3
        c1, c2, c3 = m, m + col, m + 2 * col
        north = Box(c1, panel_top - 60 * k, c1 + col * 0.35, panel_top)
        scale = Box(c1, m, c1 + col - 6 * k, panel_top - 66 * k)
        legend = Box(c2 + 4 * k, m, c3 - 6 * k, panel_top)
        inset = Box(c3, panel_top - col * 0.8, w - m, panel_top)
        notes = Box(c3, m, w - m, inset.y0 - 6 * k)
        frame = Box(m + gutter, panel_top + gutter, w - m, title.y0 - 6 * k)
    else:
        colw = 0.27 * w
        cx0, cx1 = w - m - colw, w - m
        title = Box(cx0, h - m - 52 * k, cx1, h - m)
        north = Box(cx0, title.y0 - 58 * k, cx0 + colw * 0.3, title.y0 - 4 * k)
        scale = Box(cx0 + colw * 0.34, north.y0, cx1, north.y1)
        inset_h = colw * 0.7
        notes = Box(cx0, m, cx1, m + 64 * k)
        inset = Box(cx0, notes.y1 + 4 * k, cx1, notes.y1 + 4 * k + inset_h)
        legend = Box(cx0, inset.y1 + 6 * k, cx1, north.y0 - 6 * k)
        frame = Box(m + gutter, m + gutter, cx0 - 10 * k, h - m)
    return PageLayout(paper, orientation, (w, h), frame, title, north, scale, legend, inset, notes)


def nice_scale(needed: float) -> int:
    """The smallest round scale denominator at least `needed`."""
    for n in NICE_SCALES:
        if n >= needed:
            return n
    exp = 10 ** math.floor(math.log10(needed))
    return int(next(s * exp for s in (1, 2, 5, 10) if s * exp >= needed))


def frame_extent(bounds: tuple[float, float, float, float], frame: Box) -> tuple[tuple[float, ...], int]:
    """The metric extent the frame shows and its scale denominator: the round scale holding `bounds` (metres,
    the city's CRS) with a small margin, centred on them."""
    x0, y0, x1, y1 = bounds
    span_x, span_y = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    needed = max(span_x / frame.width, span_y / frame.height) * FRAME_MARGIN / METRES_PER_POINT_AT_1
    n = nice_scale(needed)
    per_point = n * METRES_PER_POINT_AT_1
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w, half_h = frame.width * per_point / 2, frame.height * per_point / 2
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h), n


def scale_bar_length(max_metres: float) -> float:
    """The longest 1-2-5 length (metres) not over `max_metres`: a bar that fits its box."""
    exp = 10 ** math.floor(math.log10(max_metres))
    return max(s * exp for s in (1, 2, 5) if s * exp <= max_metres)


def grid_step(span_m: float, lines: int = 5) -> float:
    """A round grid interval (metres) giving about `lines` lines over `span_m`."""
    target = span_m / lines
    exp = 10 ** math.floor(math.log10(target))
    return min((s * exp for s in (1, 2, 2.5, 5, 10)), key=lambda v: abs(v - target))


def grid_values(lo: float, hi: float, step: float) -> list[float]:
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) // step) + 1) if first + i * step <= hi]
