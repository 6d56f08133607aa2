"""The maps take the city from settings: the default map of /map and the metric CRS come from `settings.city`,
and no renderer or map route spells a city's name, project or CRS."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from layers.maps import MAPS
from tests.conftest import serve

ROOT = Path(__file__).resolve().parents[1]
OWN_FILES = [*sorted((ROOT / "gis" / "render").glob("*.py")), ROOT / "api" / "routers" / "maps.py",
             ROOT / "api" / "routers" / "health.py", ROOT / "api" / "html.py"]
CONFIG_RE = re.compile(r'<script type="application/json" id="petakota-config">(.*?)</script>', re.S)




def visible_layers(html: str) -> set[str]:
    cfg = json.loads(CONFIG_RE.search(html).group(1))
    return {layer["id"] for layer in cfg["layers"] if layer["visible"]}


def test_no_city_literals_in_the_renderers_and_map_routes():
    city_words = re.compile(r"binjai|32647", re.I)
    found = {p.name: city_words.findall(p.read_text()) for p in OWN_FILES}
    assert len(found) >= 10  # the scan reads the files
    assert {name: words for name, words in found.items() if words} == {}
    assert city_words.search("/maps/binjai.png")  # the pattern does catch them


def test_planner_map_opens_the_city_map_of_the_settings(settings, engine, http):
    default = http.get("/map")
    assert f"<title>{MAPS[settings.city.map_id].title_id}</title>" in default.text
    own = MAPS[settings.city.map_id]
    other = next(m for m in MAPS.values() if m.id != own.id and set(m.visible) != set(own.visible))
    moved = settings.model_copy(update={"city": settings.city.model_copy(update={"map_id": other.id})})
    with serve(moved) as base:
        r = httpx.get(f"{base}/map", params={"lang": "en"}, timeout=30)
    assert r.status_code == 200
    assert f"<title>{other.title_en}</title>" in r.text
    on_page = {layer["id"] for layer in json.loads(CONFIG_RE.search(r.text).group(1))["layers"]}
    assert visible_layers(r.text) == set(other.visible) & on_page
    assert visible_layers(r.text) != visible_layers(default.text)
