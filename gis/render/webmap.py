"""The web map page (planner map and public embed) from the map and layer declarations, and the static export
of an embed (HTML + assets + PMTiles) that the city website can host with no server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from gis.analyses import rules
from gis.core.settings import Settings
from gis.render import STATIC_DIR, TEMPLATES_DIR
from layers.maps import MapDef
from layers.schema import Layer

TEMPLATES = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]))
EMBED_ASSETS = ("vendor/leaflet", "vendor/leaflet.vectorgrid", "vendor/pmtiles", "petakota")


def safe_json(value) -> Markup:
    """JSON for a <script type="application/json"> element: nothing in it can close the element."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _layer_config(layer: Layer, visible: bool, tiles: str, private: bool) -> dict:
    d = layer.to_dict(include_private=private)
    return {"id": layer.id, "title": d["title"], "geometry_type": layer.geometry_type,
            "illustrative": layer.illustrative, "visible": visible, "style": d["style"], "legend": d["legend"],
            "source": layer.source, "tiles": tiles,
            "fields": [{"name": f["name"], "title": f["title"]} for f in d["fields"]]}


def map_config(settings: Settings, mapdef: MapDef, layers: list[Layer], *, embed: bool, base: str,
               pmtiles: str | None = None, private: bool = False) -> dict:
    def tiles(layer: Layer) -> str:
        if pmtiles:  # one archive holds every layer; the page reads it through a fetch shim
            return "pmtiles://{z}/{x}/{y}"
        return f"{base}/collections/{layer.id}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}"

    city = settings.city
    return {
        "base": base, "embed": embed, "pmtiles": pmtiles,
        "title": {"id": mapdef.title_id, "en": mapdef.title_en},
        "city": {"name": city.name, "center_lon": city.center_lon, "center_lat": city.center_lat, "zoom": city.zoom},
        "basemap": ({"url": settings.basemap_url, "attribution": settings.basemap_attribution}
                    if settings.basemap_url else None),
        "attribution": "; ".join(dict.fromkeys(layer.source for layer in layers)),
        "layers": [_layer_config(layer, layer.id in mapdef.visible, tiles(layer), private) for layer in layers],
        "target_ha": rules.ESTATE_TARGET_HA.value,
    }


def render_page(config: dict, title: str, lang: str, static: str) -> str:
    return TEMPLATES.get_template("webmap.html").render(
        config_json=safe_json(config), title=title, lang=lang, embed=config["embed"], static=static,
        pmtiles=bool(config.get("pmtiles")))


def export_static_embed(settings: Settings, mapdef: MapDef, layers: list[Layer], out_dir: Path,
                        pmtiles_name: str, lang: str = "id") -> Path:
    """index.html + the scripts it needs; tiles come from `pmtiles_name` next to it (written separately)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for rel in EMBED_ASSETS:
        shutil.copytree(STATIC_DIR / rel, out_dir / "static" / rel, dirs_exist_ok=True)
    config = map_config(settings, mapdef, layers, embed=True, base=".", pmtiles=pmtiles_name)
    page = out_dir / "index.html"
    page.write_text(render_page(config, mapdef.title_id if lang != "en" else mapdef.title_en, lang, "static"))
    return page
