"""What WMS images share: the view (box, CRS and size of an image) and the legends drawn from the style
specification (GetLegendGraphic). Maps themselves are drawn by Mapnik (`wms_mapnik`)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from gis.render.style_spec import style_spec
from layers.schema import Layer


@dataclass(frozen=True)
class View:
    """The image's box in its CRS (x is easting or longitude, y northing or latitude) and its size in pixels."""

    srid: int
    x0: float
    y0: float
    x1: float
    y1: float
    width: int
    height: int

    @property
    def resolution(self) -> float:
        return max((self.x1 - self.x0) / self.width, (self.y1 - self.y0) / self.height)


def rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# --- legends -------------------------------------------------------------------------------------------------

LEGEND_SWATCH = 16
LEGEND_ROW = 22


def legend(layer: Layer, lang: str) -> Image.Image:
    """The layer's legend from its specification: a swatch per entry (fill, line or circle) and its label."""
    spec = style_spec(layer)
    font = ImageFont.load_default(size=12)
    labels = [item.label(lang) for item in spec.legend]
    width = LEGEND_SWATCH + 12 + max(int(font.getlength(label)) for label in labels) + 4
    image = Image.new("RGBA", (width, LEGEND_ROW * len(labels) + 4), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    for row, (item, label) in enumerate(zip(spec.legend, labels, strict=True)):
        top = 4 + row * LEGEND_ROW
        box = (2, top, 2 + LEGEND_SWATCH, top + LEGEND_SWATCH)
        colour = rgb(item.color)
        if spec.kind == "fill":
            draw.rectangle(box, fill=(*colour, round(255 * spec.fill_opacity)), outline=(*colour, 255))
        elif spec.kind == "line":
            mid = top + LEGEND_SWATCH // 2
            draw.line((2, mid, 2 + LEGEND_SWATCH, mid), fill=(*colour, 255), width=max(2, round(spec.stroke_width)))
        else:
            draw.ellipse(box, fill=(*colour, round(255 * spec.fill_opacity)), outline=rgb(spec.stroke or item.color))
        draw.text((LEGEND_SWATCH + 10, top + 1), label, fill=(30, 30, 30, 255), font=font)
    return image
