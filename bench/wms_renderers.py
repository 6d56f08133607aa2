"""WMS renderer comparison: 256x256 GetMap images over the city (Web Mercator, the tiles a tiled WMS client asks
for at zooms 13-15), the public map's layers in the style specification, drawn cold (no image cache) by

  mapnik      gis/render/wms_mapnik, what GetMap uses: Mapnik 4 reading the tables through its PostGIS plugin
  pillow      bench/wms_pillow (PostGIS cuts and simplifies, Pillow draws 3x and averages down)
  matplotlib  the static maps' renderer (gis/render/static_map.draw_layer) on a 256-pixel figure

and prints p50/p90 milliseconds per image of each.
Usage: DATABASE_URL=postgresql://... python bench/wms_renderers.py [images per zoom, default 20]"""

from __future__ import annotations

import io
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench import wms_pillow  # noqa: E402
from gis.core.settings import Settings  # noqa: E402
from gis.render import wms_draw, wms_mapnik  # noqa: E402
from gis.render.static_map import draw_layer  # noqa: E402
from gis.render.style_spec import style_spec  # noqa: E402
from layers import CATALOG  # noqa: E402

LAYERS = ("zoning", "kelurahan", "parks", "rivers", "roads", "business_centers")
HALF = 20037508.342789244


def tiles(conn, zooms=(13, 14, 15), per_zoom: int = 20) -> list[wms_draw.View]:
    """Web Mercator tiles over the city's extent, spread evenly, `per_zoom` of each zoom."""
    x0, y0, x1, y1 = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                       "(SELECT ST_Extent(geom_3857) e FROM kelurahan) s")).one()
    views = []
    for z in zooms:
        size = 2 * HALF / 2 ** z
        cols = range(math.floor((x0 + HALF) / size), math.floor((x1 + HALF) / size) + 1)
        rows = range(math.floor((HALF - y1) / size), math.floor((HALF - y0) / size) + 1)
        every = [(c, r) for r in rows for c in cols]
        step = max(1, len(every) // per_zoom)
        for c, r in every[::step][:per_zoom]:
            left, top = -HALF + c * size, HALF - r * size
            views.append(wms_draw.View(3857, left, top - size, left + size, top, 256, 256))
    return views


def pillow(conn, view: wms_draw.View) -> bytes:
    layers = [(CATALOG[name], False) for name in LAYERS]
    return wms_pillow.encode(wms_pillow.render(conn, layers, view, (255, 255, 255)), "png")


def matplotlib_render(conn, view: wms_draw.View) -> bytes:
    fig = plt.figure(figsize=(2.56, 2.56), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    for name in LAYERS:
        layer = CATALOG[name]
        spec = style_spec(layer)
        cols = f', "{spec.by}"' if spec.by else ""
        gdf = gpd.read_postgis(text(f"SELECT geom_3857 AS geom{cols} FROM {name} WHERE geom_3857 && "
                                    f"ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3857)"), conn, geom_col="geom",
                               params={"x0": view.x0, "y0": view.y0, "x1": view.x1, "y1": view.y1})
        if len(gdf):
            draw_layer(ax, gdf, spec)
    ax.set_xlim(view.x0, view.x1)
    ax.set_ylim(view.y0, view.y1)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100)
    plt.close(fig)
    return out.getvalue()


def main() -> None:
    per_zoom = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    settings = Settings()
    engine = create_engine(settings.sqlalchemy_url)
    with engine.connect() as conn:
        views = tiles(conn, per_zoom=per_zoom)
        candidates = {"pillow": lambda v: pillow(conn, v), "matplotlib": lambda v: matplotlib_render(conn, v)}
        url = os.environ.get("DATABASE_URL", settings.database_url)
        layers = [(CATALOG[name], False) for name in LAYERS]
        candidates = {"mapnik": lambda v: wms_mapnik.render(layers, v, (255, 255, 255), "png", url), **candidates}
        print(f"{len(views)} images of 256x256 (zooms 13-15), layers: {', '.join(LAYERS)}")
        for name, render in candidates.items():
            render(views[0])  # warm: imports, fonts, connections
            times = []
            for view in views:
                start = time.perf_counter()
                render(view)
                times.append((time.perf_counter() - start) * 1000)
            times.sort()
            p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
            print(f"{name:11s} p50 {statistics.median(times):7.1f} ms  p90 {p90:7.1f} ms  "
                  f"({len(times) / (sum(times) / 1000):.0f} images/s on one core)")


if __name__ == "__main__":
    main()
