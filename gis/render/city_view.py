"""Which cities a map shows: `?city=12.07` (one kab/kota), `?city=12.75,12.07` or `?city=all` (a region), or
nothing (the service's own city). The web map, the embed and static maps all resolve their view here, so they
agree on the title, the view, the scope of their tiles and the metric CRS of their scale bar."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Connection, text

from gis.core.scope import Scope, parse_cities
from gis.core.settings import Settings
from gis.data.cities import City, zoom_for
from gis.render.messages import message
from layers.maps import MapDef
from layers.schema import Layer
from layers.tables import CITY_COLUMN

EVERY_CITY = "all"


@dataclass(frozen=True)
class CityView:
    cities: tuple[City, ...]  # in view (empty: no city held yet, the settings' city is shown)
    held: tuple[City, ...]  # every city held, for the switcher
    region: bool  # several cities in view

    @property
    def codes(self) -> Scope:
        return tuple(c.code for c in self.cities)

    @property
    def scope(self) -> Scope:
        """What the view's tiles and queries carry as `?city=`: nothing when every city held is in view (the
        unscoped answer is the same and its cached tiles are shared), else the codes in view."""
        if len(self.cities) == len(self.held):
            return ()
        return self.codes

    @property
    def query(self) -> str:
        return f"city={','.join(self.scope)}" if self.scope else ""

    @property
    def bbox(self) -> tuple[float, float, float, float] | None:
        if not self.cities:
            return None
        boxes = [c.bbox for c in self.cities]
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes))

    def name(self, lang: str) -> str:
        """`Kabupaten Karo`; a region as `Kabupaten Karo, Kabupaten Deli Serdang dan Kota Medan`."""
        names = [c.name for c in self.cities]
        if len(names) <= 1:
            return names[0] if names else ""
        return f"{', '.join(names[:-1])} {message('and', lang)} {names[-1]}"

    def metric_crs(self, default: int) -> int:
        """The metric CRS of the cities in view (the most common one for a region spanning UTM zones)."""
        crss = [c.metric_crs for c in self.cities if c.metric_crs]
        return Counter(crss).most_common(1)[0][0] if crss else default

    def to_config(self, settings: Settings) -> dict:
        """The view for the web map's script: a city opens at its own center and zoom, a region fits its box."""
        if not self.cities:
            city = settings.city
            return {"name": city.name, "codes": [], "scope": [], "center_lon": city.center_lon,
                    "center_lat": city.center_lat, "zoom": city.zoom, "bbox": None}
        bbox = self.bbox
        one = self.cities[0] if len(self.cities) == 1 else None
        center = one.center if one else ((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2)
        return {"name": self.name("id"), "codes": list(self.codes), "scope": list(self.scope),
                "center_lon": center[0], "center_lat": center[1], "zoom": one.zoom if one else zoom_for(bbox),
                "bbox": list(bbox), "fit": one is None}


def resolve_view(held: list[City], value: str | None, default_code: str) -> CityView:
    """The cities `value` names (codes, comma-separated, or `all`); nothing named: the service's own city when it
    is held, else the first held. An unknown code is refused naming the choices."""
    held_t = tuple(held)
    if value and value.strip().lower() == EVERY_CITY:
        return CityView(held_t, held_t, len(held_t) > 1)
    codes = parse_cities(value, {c.code: c.name for c in held})
    if not codes:
        default = next((c for c in held if c.code == default_code), held[0] if held else None)
        return CityView((default,) if default else (), held_t, False)
    chosen = tuple(c for c in held if c.code in codes)
    return CityView(chosen, held_t, len(chosen) > 1)


def map_title(mapdef: MapDef, view: CityView, lang: str) -> str:
    """The map's declared title for the city it was drawn for; another city or a region gets the map's title
    pattern with their names (a map without a pattern, such as a project's, keeps its title)."""
    own = not view.cities or view.codes == (mapdef.city,)
    pattern = mapdef.city_title_en if lang == "en" else mapdef.city_title_id
    if own or not pattern:
        return mapdef.title_en if lang == "en" else mapdef.title_id
    return pattern.format(city=view.name(lang))


def layers_present(conn: Connection, layers: list[Layer], codes: Scope) -> dict[str, list[str]]:
    """layer id -> the cities among `codes` where the layer has features (one indexed probe per pair), so the
    legend lists what the city in view holds."""
    if not layers or not codes:
        return {layer.id: [] for layer in layers}
    parts = [f"SELECT '{layer.id}' AS layer, c FROM unnest(CAST(:codes AS text[])) c "
             f"WHERE EXISTS (SELECT 1 FROM {layer.id} WHERE {CITY_COLUMN} = c)" for layer in layers]
    out: dict[str, list[str]] = {layer.id: [] for layer in layers}
    for layer_id, code in conn.execute(text(" UNION ALL ".join(parts)), {"codes": list(codes)}):
        out[layer_id].append(code)
    return out
