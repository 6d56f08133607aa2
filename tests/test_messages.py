"""The message catalogue (both languages for every key, every key the pages use exists), numbers and dates per
language, and the pages served with ?lang=en in English."""

from __future__ import annotations

import json
import random
import re
from datetime import date, datetime
from html import unescape
from pathlib import Path

import pytest

from api.html import render
from gis.core.language import format_date, format_datetime, format_number, format_value
from gis.render.dashboard_messages import DASHBOARD_MESSAGES
from gis.render.messages import LANGS, MESSAGES, catalogue, lang_of, message
from layers.maps import MAPS

ROOT = Path(__file__).resolve().parents[1]
RENDER = ROOT / "gis" / "render"
CONFIG_RE = re.compile(r'<script type="application/json" id="petakota-config">(.*?)</script>', re.S)


# --- the catalogue ------------------------------------------------------------------------------------------------

def test_every_message_has_both_languages():
    assert LANGS == ("id", "en")
    for key, texts in MESSAGES.items():
        assert set(texts) == set(LANGS), key
        assert all(isinstance(v, str) and v.strip() for v in texts.values()), key


def keys_used() -> dict[str, set[str]]:
    """The message keys the script (t("...")), the templates (L.x, t('x')) and the Python renderers use."""
    script = "\n".join(p.read_text() for p in (RENDER / "static/petakota").glob("map*.js"))  # map.js and its parts
    used = {"map.js": set(re.findall(r"""\bt\(["'](\w+)["']\)""", script))}
    for tpl in (RENDER / "templates").glob("*.html"):
        jinja = " ".join(re.findall(r"\{[{%](.*?)[}%]\}", tpl.read_text(), re.S))  # not the page's own script
        used[tpl.name] = set(re.findall(r"\bL\.(\w+)", jinja)) | set(re.findall(r"""\bt\(["'](\w+)["']\)""", jinja))
    for py in (*RENDER.glob("*.py"), ROOT / "api" / "html.py"):
        used[py.name] = set(re.findall(r"""\bmessage\(["'](\w+)["']""", py.read_text()))
    return used


def test_every_key_used_is_in_the_catalogue():
    used = keys_used()
    assert len(used["map.js"]) > 20 and len(used["base.html"]) > 5 and used["static_map.py"]  # the scan finds them
    assert len(used["dashboard.html"]) > 5  # the dashboard's page speaks from its own catalogue
    own = {"dashboard.html": set(DASHBOARD_MESSAGES)}
    missing = {name: sorted(keys - own.get(name, set(MESSAGES))) for name, keys in used.items()
               if keys - own.get(name, set(MESSAGES))}
    assert missing == {}
    # and the dashboard's Python renderers (the page, the PDF) from the same catalogue
    dashboard = {key for py in RENDER.glob("dashboard*.py")
                 for key in re.findall(r"""\bdashboard_message\(["'](\w+)["']""", py.read_text())}
    assert dashboard and dashboard <= set(DASHBOARD_MESSAGES), sorted(dashboard - set(DASHBOARD_MESSAGES))


def test_lookup_and_language_tags():
    assert message("legend", "en") == "Legend" and message("legend", "id") == "Legenda"
    assert lang_of("en-GB") == "en" and lang_of("EN") == "en" and lang_of("fr") == "id" and lang_of(None) == "id"
    assert catalogue("en")["measureArea"] == MESSAGES["measureArea"]["en"]
    assert set(catalogue("id")) == set(MESSAGES)


# --- numbers and dates -------------------------------------------------------------------------------------------

def test_numbers_per_language():
    assert format_number(1350.512, "id") == "1.350,51"
    assert format_number(1350.512, "en") == "1,350.51"
    assert format_number(47.78, "id", decimals=2) == "47,78" and format_number(47.78, "en", decimals=2) == "47.78"
    assert format_number(2500, "id") == "2.500" and format_number(2.5, "id") == "2,5"
    assert format_number(0.5, "id", decimals=0) == "0" and format_number(-0.001, "en") == "0"
    assert format_number(-1234567.891, "id", decimals=1) == "-1.234.567,9"
    with pytest.raises(ValueError):
        format_number(float("nan"), "id")


def parse(text: str, lang: str) -> float:
    thousands, decimal = (".", ",") if lang == "id" else (",", ".")
    return float(text.replace(thousands, "").replace(decimal, "."))


def test_numbers_round_trip():
    """Any number, written in either language and read back with that language's marks, is the number rounded."""
    rng = random.Random(7)
    for _ in range(2000):
        value = rng.uniform(-1e7, 1e7) if rng.random() < 0.5 else rng.uniform(-10, 10)
        for lang in LANGS:
            text = format_number(value, lang, decimals=2)
            assert parse(text, lang) == pytest.approx(round(value, 2), abs=1e-9), (value, text)
            whole = text.split("," if lang == "id" else ".")[0].lstrip("-")
            groups = whole.split("." if lang == "id" else ",")
            assert all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3, text


def test_dates_per_language():
    assert format_date(date(2026, 11, 30), "id") == "30 November 2026"
    assert format_date("2025-08-17", "id") == "17 Agustus 2025" and format_date("2025-08-17", "en") == "17 August 2025"
    assert format_datetime("2024-05-01T10:00:00Z", "id") == "1 Mei 2024 10:00"
    assert format_datetime(datetime(2024, 3, 9, 8, 5), "en") == "9 March 2024 08:05"
    assert format_value("2024-13-45", "id") is None and format_value(7, "id") is None  # as written
    assert format_value(12.5, "id") == "12,5" and format_value(12.5, "en") == "12.5"


def test_static_map_scale_bar_per_language():
    from gis.render.static_map import scale_label

    assert scale_label(2500, "id") == "2,5 km" and scale_label(2500, "en") == "2.5 km"
    assert scale_label(500, "id") == "500 m" and scale_label(20000, "en") == "20 km"


def test_html_views_write_numbers_and_dates_per_language():
    doc = {"type": "Feature", "id": 7, "geometry": None,
           "properties": {"luas_ha": 1350.5123, "status_date": "2025-08-17", "jumlah": 1350}, "links": []}
    html_id, html_en = (unescape(render("item", doc, title="x", lang=lang)) for lang in LANGS)
    assert "<td>1.350,5123</td>" in html_id and "<td>17 Agustus 2025</td>" in html_id
    assert "<td>1,350.5123</td>" in html_en and "<td>17 August 2025</td>" in html_en
    assert "<td>1350</td>" in html_id  # integers are identifiers and counts: as written
    assert 'new Intl.NumberFormat("id-ID"' in html_id and 'new Intl.NumberFormat("en-GB"' in html_en


def test_explore_tooltips_write_numbers_and_titles_per_language():
    import geopandas as gpd
    from shapely.geometry import box

    from gis.render.explore import explore

    frame = gpd.GeoDataFrame({"nama": ["Taman A"], "kelas": ["taman kota"], "area_ha": [1350.5123],
                              "jumlah": [1350]}, geometry=[box(98.4, 3.5, 98.41, 3.51)], crs=4326)
    for lang, area, count, title in (("id", "1.350,51", "1.350", "Luas (ha)"),
                                     ("en", "1,350.51", "1,350", "Area (ha)")):
        page = explore(frame, "parks", base_url="http://x", lang=lang).get_root().render()
        assert f'"{area}"' in page and f'"{count}"' in page and title in page, lang
    assert frame["area_ha"].iloc[0] == 1350.5123  # the caller's frame is left as it was


# --- pages with ?lang= ---------------------------------------------------------------------------------------------

def page_config(html: str) -> dict:
    return json.loads(CONFIG_RE.search(html).group(1))


@pytest.mark.parametrize("lang", LANGS)
def test_map_pages_carry_the_catalogue_of_their_language(http, lang):
    planner = http.get("/map", params={"lang": lang})
    embed = http.get("/embed/binjai", params={"lang": lang})
    for r in (planner, embed):
        assert r.status_code == 200
        assert f'<html lang="{lang}">' in r.text
        cfg = page_config(r.text)
        assert cfg["lang"] == lang and cfg["locale"] == ("en-GB" if lang == "en" else "id-ID")
        assert cfg["messages"] == {k: v[lang] for k, v in MESSAGES.items()}
    title = MAPS["binjai"].title_en if lang == "en" else MAPS["binjai"].title_id
    assert f"<title>{title}</title>" in planner.text
    assert MESSAGES["boundaries_note"][lang] in planner.text
    other = "id" if lang == "en" else "en"
    assert MESSAGES["boundaries_note"][other] not in planner.text


def test_html_views_in_english(http):
    en = http.get("/collections", params={"f": "html", "lang": "en"}).text
    id_ = http.get("/collections", params={"f": "html"}).text
    assert ">Home<" in en and "Illustrative" in en and ">Beranda<" not in en
    assert ">Beranda<" in id_ and "Ilustratif" in id_
