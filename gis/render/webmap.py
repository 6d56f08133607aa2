"""The web map page (planner map and public embed) from the map and layer declarations, and the static export
of an embed (HTML + assets + PMTiles) that the city website can host with no server."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import Connection, Engine, text

from gis.analyses import rules
from gis.core.errors import NotFound
from gis.core.language import LOCALES
from gis.core.settings import Settings
from gis.data.cities import City
from gis.render import STATIC_DIR, TEMPLATES_DIR, basemap
from gis.render.city_view import EVERY_CITY, CityView, layers_present, map_title, resolve_view
from gis.render.messages import catalogue, lang_of, message
from gis.render.style_spec import style_spec
from layers.maps import MAPS, PLANNER_ORDER, MapDef
from layers.rdtr import activity_name_en
from layers.schema import Layer

TEMPLATES = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]))
CITY_CODE = re.compile(r"\d{2}\.\d{2}")
EARLY_JS = STATIC_DIR / "petakota" / "early.js"
EMBED_ASSETS = ("vendor/leaflet", "vendor/protomaps-leaflet", "vendor/pmtiles", "petakota")


def safe_json(value) -> Markup:
    """JSON for a <script type="application/json"> element: nothing in it can close the element."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _layer_config(layer: Layer, visible: bool, tiles: str, private: bool, cities: list[str] | None) -> dict:
    fields = layer.fields if private else layer.public_fields
    return {"id": layer.id, "title": {"id": layer.title_id, "en": layer.title_en},
            "geometry_type": layer.geometry_type, "illustrative": layer.illustrative, "visible": visible,
            "style": style_spec(layer).to_dict(), "source": layer.source, "tiles": tiles,
            "cities": cities,  # where the layer has features (None: not known, e.g. a static export)
            "fields": [{"name": f.name, "type": f.type, "title": {"id": f.title_id, "en": f.title_en}}
                       for f in fields]}


def _views(settings: Settings, mapdef: MapDef, view: CityView) -> list[dict]:
    """The switcher's choices: each city held, then the whole region, each with its title in both languages."""
    if len(view.held) < 2:
        return []
    choices = [(c.code, CityView((c,), view.held, False)) for c in view.held]
    choices.append((EVERY_CITY, CityView(view.held, view.held, True)))
    return [{"value": value, "label": v.name("id") if value != EVERY_CITY else None,
             "title": {lang: map_title(mapdef, v, lang) for lang in ("id", "en")},
             "view": v.to_config(settings)} for value, v in choices]


def _fitted(city: dict) -> dict:
    """An embed opens on the whole city, whatever the iframe's size (the city's own zoom suits a full page only)."""
    return {**city, "fit": city.get("bbox") is not None}


def map_config(settings: Settings, mapdef: MapDef, layers: list[Layer], *, embed: bool, base: str,
               view: CityView | None = None, present: dict[str, list[str]] | None = None,
               pmtiles: str | None = None, private: bool = False, lang: str = "id") -> dict:
    view = view or CityView((), (), False)
    query = f"?{view.query}" if view.query else ""

    def tiles(layer: Layer) -> str:
        if pmtiles:  # one archive holds every layer: the page reads it through a fetch shim
            return "pmtiles://{z}/{x}/{y}"
        return f"{base}/collections/{layer.id}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}{query}"

    lang = lang_of(lang)
    return {
        "base": base, "embed": embed, "pmtiles": pmtiles,
        "lang": lang, "locale": LOCALES[lang], "messages": catalogue(lang),
        "title": {"id": map_title(mapdef, view, "id"), "en": map_title(mapdef, view, "en")},
        "city": _fitted(view.to_config(settings)) if embed else view.to_config(settings),
        "cities": _views(settings, mapdef, view),
        # the online basemap, and whether this service reaches it (a static export cannot know: it tries)
        "basemap": ({"url": settings.basemap_url, "attribution": settings.basemap_attribution,
                     "reachable": bool(pmtiles) or basemap.reachable(settings.basemap_url)}
                    if settings.basemap_url else None),
        # the offline basemap: the city's boundaries, roads and rivers, drawn light under everything
        "city_basemap": [{"id": layer.id, "tiles": tiles(layer), **basemap.CITY_BASEMAP[layer.id]}
                         for layer in layers if layer.id in basemap.CITY_BASEMAP],
        "attribution": "; ".join(dict.fromkeys(layer.source for layer in layers)),
        "layers": [_layer_config(layer, layer.id in mapdef.visible, tiles(layer), private,
                                 present.get(layer.id) if present is not None else None) for layer in layers],
        "target_ha": rules.ESTATE_TARGET_HA.value,
    }


EMBED_SCRIPTS = ("vendor/leaflet/leaflet.js", "vendor/protomaps-leaflet/protomaps-leaflet.js",  # in this order
                 "petakota/style.js", "petakota/layout.js", "petakota/map_identify.js", "petakota/map_legend.js",
                 "petakota/map.js")


def _embed_inline(static: str) -> dict[str, Markup]:
    """The embed's styles and scripts, libraries included, to be written into its page."""
    leaflet_css = (STATIC_DIR / "vendor" / "leaflet" / "leaflet.css").read_text()
    css = leaflet_css.replace("url(images/", f"url({static}/vendor/leaflet/images/")
    css += "\n" + (STATIC_DIR / "petakota" / "map.css").read_text()
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)  # comments (links to browsers' bug trackers) weigh and say nothing
    js = "\n".join((STATIC_DIR / name).read_text() for name in EMBED_SCRIPTS)
    if "</script" in js.lower() or "</style" in css.lower():  # would end the page's element early
        raise ValueError("an embedded script or style holds a closing tag")
    return {"css": Markup(css), "js": Markup(js)}


def render_page(config: dict, title: str, static: str) -> str:
    lang = config["lang"]
    # the embed asks for its first tiles while its scripts arrive, and carries its scripts and styles, the two
    # libraries included: on a slow network every file costs a round trip (562 ms on "Fast 3G"), and an embed is
    # mostly opened once by each visitor of the city's website, so the libraries' cache across pages buys little
    early = Markup(EARLY_JS.read_text()) if config["embed"] and not config.get("pmtiles") else None
    inline = _embed_inline(static) if config["embed"] else None
    return TEMPLATES.get_template("webmap.html").render(
        config_json=safe_json(config), title=title, lang=lang, embed=config["embed"], static=static, early_js=early,
        inline=inline,
        pmtiles=bool(config.get("pmtiles")), t=lambda key: message(key, lang))


def _activities(conn: Connection, cities: tuple[str, ...]) -> list[dict]:
    """The activities of the cities' ITBX tables (name as the table words it, KBLI code, English name or None
    where none is known), for the site check's drop-down."""
    rows = conn.execute(text("SELECT DISTINCT kegiatan, kbli FROM itbx WHERE kabkota = ANY(:c) "
                             "AND kegiatan IS NOT NULL ORDER BY 1, 2"), {"c": list(cities)})
    return [{"kegiatan": r.kegiatan, "kbli": r.kbli, "name_en": activity_name_en(r.kegiatan, r.kbli)} for r in rows]


def _project_geometry(conn: Connection, slug: str) -> dict:
    geom = conn.execute(text("SELECT ST_AsGeoJSON(geom) FROM projects WHERE slug = :s"), {"s": slug}).scalar()
    if geom is None:
        raise NotFound(f"no project {slug[:80]!r}")
    return json.loads(geom)


def planner_page(engine: Engine, settings: Settings, catalog: dict[str, Layer], cities: list[City], *,
                 private: bool, base: str, city: str | None = None, project: str | None = None,
                 lang: str = "id") -> str:
    """The planners' map: every layer of the catalog it may see (private ones with `private`), the city's map
    switched on, or a project's map with the project's panel when `project` names one; `city` (codes or `all`)
    chooses the city or region in view."""
    view = resolve_view(cities, city, settings.city.kode)
    order = [i for i in PLANNER_ORDER if i in catalog] + [i for i in catalog if i not in PLANNER_ORDER]
    layers = [catalog[i] for i in order if catalog[i].public or private]
    mapdef = MAPS[settings.city.map_id]
    if project:
        mapdef = MAPS.get(project) or MAPS.get(settings.city.project, mapdef)
    with engine.connect() as conn:
        present = layers_present(conn, layers, tuple(c.code for c in view.held))
        config = map_config(settings, replace(mapdef, layers=tuple(order)), layers, embed=False, base=base,
                            view=view, present=present, private=private, lang=lang)
        config["activities"] = _activities(conn, tuple(c.code for c in view.held))
        if project:
            config["project"], config["project_geometry"] = project, _project_geometry(conn, project)
    return render_page(config, config["title"][lang_of(lang)], f"{base}/static")


def public_map(map_id: str) -> MapDef:
    mapdef = MAPS.get(map_id)
    if mapdef is None or not mapdef.public:
        raise NotFound(f"no public map {map_id[:80]!r}; maps: {', '.join(k for k, m in MAPS.items() if m.public)}"
                       " (or the Kemendagri code of a city held, e.g. 12.75)")
    return mapdef


def is_city_code(value: str) -> bool:
    """`12.07` names a kab/kota (Kemendagri: province.regency); a map id never looks like one."""
    return bool(CITY_CODE.fullmatch(value))


def public_map_for(settings: Settings, cities: list[City], map_or_city: str,
                   city: str | None = None) -> tuple[MapDef, CityView]:
    """A public map and the cities it shows: `/embed/12.06` is the service's public map of that city,
    `/embed/{map id}?city=12.07` a declared map of another city."""
    if is_city_code(map_or_city):
        if map_or_city not in {c.code for c in cities}:
            held = ", ".join(f"{c.code} ({c.name})" for c in cities) or "none yet"
            raise NotFound(f"no city {map_or_city!r} is held; cities: {held}")
        return public_map(settings.city.map_id), resolve_view(cities, map_or_city, settings.city.kode)
    return public_map(map_or_city), resolve_view(cities, city, settings.city.kode)


def embed_page(engine: Engine, settings: Settings, catalog: dict[str, Layer], cities: list[City], map_id: str, *,
               base: str, city: str | None = None, lang: str = "id") -> str:
    """A public map for an <iframe>: its public layers, public fields only, no planner tools; `map_id` is a
    map's id or a city's code."""
    mapdef, view = public_map_for(settings, cities, map_id, city)
    layers = [catalog[i] for i in mapdef.layers if i in catalog and catalog[i].public]
    with engine.connect() as conn:
        present = layers_present(conn, layers, view.codes)
    config = map_config(settings, mapdef, layers, embed=True, base=base, view=view, present=present, lang=lang)
    return render_page(config, config["title"][lang_of(lang)], f"{base}/static")


def export_static_embed(settings: Settings, mapdef: MapDef, layers: list[Layer], out_dir: Path,
                        pmtiles_name: str, lang: str = "id", view: CityView | None = None) -> tuple[Path, bool]:
    """index.html + the scripts it needs; tiles come from `pmtiles_name` next to it (written separately). Only
    files that differ are written (each via a temporary file then a rename, so the website never serves half
    of one); returns the page and whether anything was written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = False
    for rel in EMBED_ASSETS:
        for src in sorted((STATIC_DIR / rel).rglob("*")):
            if src.is_file():
                written |= _write_if_changed(out_dir / "static" / rel / src.relative_to(STATIC_DIR / rel),
                                             src.read_bytes())
    config = map_config(settings, mapdef, layers, embed=True, base=".", view=view, pmtiles=pmtiles_name, lang=lang)
    page = out_dir / "index.html"
    written |= _write_if_changed(page, render_page(config, config["title"][lang_of(lang)], "static").encode())
    return page, written


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return True
