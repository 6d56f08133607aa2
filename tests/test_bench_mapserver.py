"""The MapServer mapfile of the WMS benchmark draws the layers as PetaKota's style specification does: one
class per category in its colour and opacity, the layer's own colour for other values, the same tables."""

from __future__ import annotations

import dataclasses
import re

from sqlalchemy.engine import make_url

from bench.mapserver_map import mapfile
from gis.render.style_spec import style_spec
from layers import CATALOG

URL = "postgresql://planner@db.example:6543/kota_binjai"
EXTENT = (11_050_000.0, 400_000.0, 11_070_000.0, 420_000.0)

CLASS = re.compile(r'CLASS NAME "(?P<name>[^"]*)"(?: EXPRESSION "(?P<expr>[^"]*)")?\s+(?P<styles>.*?)\n  END',
                   re.S)


def classes(text: str) -> list[tuple[str | None, str, int]]:
    """(expression, fill colour, fill opacity in percent) of each class, in order."""
    out = []
    for m in CLASS.finditer(text):
        style = re.search(r'STYLE (?:SYMBOL "circle" SIZE [\d.]+ )?COLOR "(#[0-9A-Fa-f]{6})" OPACITY (\d+)',
                          m.group("styles"))
        out.append((m.group("expr"), style.group(1), int(style.group(2))))
    return out


def test_zoning_classes_are_the_style_specs_categories_colours_and_opacity():
    layer = CATALOG["zoning"]
    spec = style_spec(layer)
    text = mapfile([layer], URL, EXTENT)
    assert f'CLASSITEM "{spec.by}"' in text
    expected = [(value, color, round(spec.fill_opacity * 100)) for value, color in spec.categories]
    expected.append((None, spec.color, round(spec.fill_opacity * 100)))  # values with no category
    assert classes(text) == expected
    assert text.count("OUTLINECOLOR") == len(expected)


def test_the_layer_reads_the_stored_web_mercator_column_of_its_table_in_the_database_of_the_url():
    text = mapfile([CATALOG["roads"]], URL, EXTENT)
    url = make_url(URL)
    connection = re.search(r'CONNECTION "([^"]*)"', text).group(1)
    assert dict(p.split("=") for p in connection.split()) == {
        "host": url.host, "port": str(url.port), "dbname": url.database, "user": url.username}
    data = re.search(r'DATA "(.*)"\n', text).group(1)
    assert data.startswith("geom_3857 from (select id, geom_3857")
    assert " from roads) as t using unique id using srid=3857" in data
    assert "EXTENT " + " ".join(str(v) for v in EXTENT) in text


def test_points_are_circles_of_the_specs_diameter_and_layers_keep_their_order():
    points, lines = CATALOG["business_centers"], CATALOG["rivers"]
    text = mapfile([lines, points], URL, EXTENT)
    assert [m.group(1) for m in re.finditer(r'LAYER NAME "([^"]+)" TYPE (\w+)', text)] == ["rivers", "business_centers"]
    assert re.findall(r'LAYER NAME "[^"]+" TYPE (\w+)', text) == ["LINE", "POINT"]
    sizes = {float(s) for s in re.findall(r'SYMBOL "circle" SIZE ([\d.]+)', text)}
    assert sizes == {2 * style_spec(points).radius}
    # rivers have one colour: a single class, no CLASSITEM for them
    river_block = text[text.index('LAYER NAME "rivers"'):text.index('LAYER NAME "business_centers"')]
    assert "CLASSITEM" not in river_block
    assert classes(river_block) == [(None, style_spec(lines).color, round(style_spec(lines).stroke_opacity * 100))]


def test_a_colour_field_the_public_may_not_read_is_not_used():
    layer = CATALOG["roads"]
    by = style_spec(layer).by
    hidden = dataclasses.replace(layer, fields=tuple(dataclasses.replace(f, public=False) if f.name == by else f
                                                     for f in layer.fields))
    text = mapfile([hidden], URL, EXTENT)
    assert "CLASSITEM" not in text and f'"{by}"' not in text
    assert classes(text) == [(None, style_spec(layer).color, round(style_spec(layer).stroke_opacity * 100))]
    assert len(classes(mapfile([layer], URL, EXTENT))) == len(style_spec(layer).categories) + 1
