"""gis.data.cql2: CQL2 text/JSON filters -> SQL, executed on the Binjai sample city. Expected results are computed in
Python from the unfiltered rows (or the source GeoJSON), never by the translator itself."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Point, box, mapping
from sqlalchemy import text

from gis.core.errors import InvalidInput
from gis.data.cql2 import MAX_DEPTH, MAX_LENGTH, to_sql
from layers import CATALOG

ROOT = Path(__file__).resolve().parents[1]
POINT_IN_TUNGGURONO = Point(98.52, 3.59)


def fields(layer: str) -> dict[str, str]:
    return {f.name: f.type for f in CATALOG[layer].fields} | {"id": "integer"}


@pytest.fixture(scope="module")
def rows(engine) -> dict[str, list[dict]]:
    """Every row of the tables under test, read without any filter; geometry as shapely."""
    out = {}
    with engine.connect() as conn:
        for layer in ("kelurahan", "parks", "project_parcels"):
            cols = ", ".join(["id", *(f.name for f in CATALOG[layer].fields)])
            result = conn.execute(text(f"SELECT {cols}, ST_AsBinary(geom) AS wkb FROM {layer}")).mappings()
            out[layer] = [{**r, "geom": shapely.from_wkb(bytes(r["wkb"]))} for r in result]
    return out


def select(engine, layer: str, filter_, lang: str = "cql2-text", **kw) -> list[dict]:
    sql, params = to_sql(filter_, lang, fields(layer), **kw)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(f"SELECT * FROM {layer} WHERE {sql}"), params).mappings()]


def count(engine, layer: str, filter_, lang: str = "cql2-text", **kw) -> int:
    sql, params = to_sql(filter_, lang, fields(layer), **kw)
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {layer} WHERE {sql}"), params).scalar_one()


def expected(rows, layer: str, predicate) -> int:
    return sum(1 for r in rows[layer] if predicate(r))


def invalid(filter_, lang: str = "cql2-text", layer: str = "kelurahan", **kw) -> str:
    with pytest.raises(InvalidInput) as err:
        to_sql(filter_, lang, fields(layer), **kw)
    return err.value.detail


# -- attributes ----------------------------------------------------------------------------------------------------

def test_name_equality(engine, rows):
    assert count(engine, "kelurahan", "nama = 'Tunggurono'") == 1
    assert expected(rows, "kelurahan", lambda r: r["nama"] == "Tunggurono") == 1


def test_kecamatan_code_against_source_file(engine):
    source = json.loads((ROOT / "layers/sample/data/kelurahan_binjai.geojson").read_text())
    want = sum(1 for f in source["features"] if f["properties"]["kecamatan_kode"] == "12.75.04")
    assert want == 7
    assert count(engine, "kelurahan", "kecamatan_kode = '12.75.04'") == want


K01, K04 = "kecamatan_kode = '12.75.01'", "kecamatan_kode = '12.75.04'"
# AND binds tighter than OR (pygeofilter 0.4 alone reads this as (K01 OR K04) AND area_ha > 1000)
PRECEDENCE = (f"{K01} OR {K04} AND area_ha > 1000",
              lambda r: r["kecamatan_kode"] == "12.75.01" or r["kecamatan_kode"] == "12.75.04" and r["area_ha"] > 1000)

TEXT_CASES = [
    ("area_ha > 500", lambda r: r["area_ha"] > 500),
    ("area_ha <= 100.5", lambda r: r["area_ha"] <= 100.5),
    ("nama <> 'Binjai'", lambda r: r["nama"] != "Binjai"),
    ("nama LIKE 'Binjai%'", lambda r: r["nama"].startswith("Binjai")),
    ("nama NOT LIKE 'Binjai%'", lambda r: not r["nama"].startswith("Binjai")),
    ("nama LIKE 'Jati _a%'", lambda r: r["nama"].startswith("Jati ") and r["nama"][6:7] == "a"),
    ("nama IN ('Binjai', 'Tunggurono', 'Tidak Ada')", lambda r: r["nama"] in ("Binjai", "Tunggurono")),
    ("kecamatan_kode NOT IN ('12.75.01', '12.75.02')", lambda r: r["kecamatan_kode"] not in ("12.75.01", "12.75.02")),
    ("area_ha BETWEEN 100 AND 200", lambda r: 100 <= r["area_ha"] <= 200),
    ("area_ha NOT BETWEEN 100 AND 200", lambda r: not 100 <= r["area_ha"] <= 200),
    ("jenis IS NULL", lambda r: r["jenis"] is None),
    ("jenis IS NOT NULL", lambda r: r["jenis"] is not None),
    (f"NOT {K04}", lambda r: r["kecamatan_kode"] != "12.75.04"),
    (f"NOT ({K04} OR area_ha < 100)", lambda r: not (r["kecamatan_kode"] == "12.75.04" or r["area_ha"] < 100)),
    PRECEDENCE,
    (f"({K01} OR {K04}) AND area_ha > 1000",
     lambda r: r["kecamatan_kode"] in ("12.75.01", "12.75.04") and r["area_ha"] > 1000),
    (f"{K04} AND\n  area_ha > 200\n  AND nama <> 'Mencirim'",
     lambda r: r["kecamatan_kode"] == "12.75.04" and r["area_ha"] > 200 and r["nama"] != "Mencirim"),
    ("CASEI(nama) = CASEI('TUNGGURONO')", lambda r: r["nama"].lower() == "tunggurono"),
    ("CASEI(nama) LIKE CASEI('%RAMBUNG%')", lambda r: "rambung" in r["nama"].lower()),
    ("ACCENTI(CASEI(nama)) = ACCENTI(CASEI('TÜNGGURÔNO'))", lambda r: r["nama"] == "Tunggurono"),
    ("area_ha * 2 > 1000", lambda r: r["area_ha"] * 2 > 1000),
    ("area_ha / 4 + 10 >= 60", lambda r: r["area_ha"] / 4 + 10 >= 60),
    ("nama <> 'Jati''s'", lambda r: True),
]


@pytest.mark.parametrize(("cql", "predicate"), TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_text_filters(engine, rows, cql, predicate):
    assert count(engine, "kelurahan", cql) == expected(rows, "kelurahan", predicate)


def test_precedence_case_is_discriminating(rows):
    right = expected(rows, "kelurahan", PRECEDENCE[1])
    wrong = expected(rows, "kelurahan", lambda r: r["kecamatan_kode"] in ("12.75.01", "12.75.04")
                     and r["area_ha"] > 1000)
    assert right != wrong


def test_id_and_boolean(engine, rows):
    first = min(r["id"] for r in rows["kelurahan"])
    assert [r["id"] for r in select(engine, "kelurahan", f"id = {first}")] == [first]
    for value in (True, False):
        want = expected(rows, "parks", lambda r, v=value: r["publik"] is v)
        assert count(engine, "parks", f"publik = {str(value).upper()}") == want > 0
    assert count(engine, "parks", {"op": "=", "args": [{"property": "publik"}, False]}, "cql2-json") == \
        expected(rows, "parks", lambda r: r["publik"] is False)


def test_long_and_chain_is_not_nesting(engine, rows):
    cql = " AND ".join(["area_ha > 0"] * 200 + ["nama <> 'Binjai'"])
    assert count(engine, "kelurahan", cql) == expected(rows, "kelurahan", lambda r: r["nama"] != "Binjai")


def test_literals_are_bound_parameters():
    sql, params = to_sql("nama = 'Tunggurono' AND area_ha > 12.5", "cql2-text", fields("kelurahan"),
                         param_prefix="f_")
    assert "Tunggurono" not in sql and "12.5" not in sql
    assert params == {"f_0": "Tunggurono", "f_1": 12.5}
    assert ":f_0" in sql and '"nama"' in sql


# -- json ----------------------------------------------------------------------------------------------------------

JSON_CASES = [
    ({"op": "=", "args": [{"property": "nama"}, "Tunggurono"]}, lambda r: r["nama"] == "Tunggurono"),
    ({"op": "between", "args": [{"property": "area_ha"}, 100, 200]}, lambda r: 100 <= r["area_ha"] <= 200),
    ({"op": "in", "args": [{"property": "nama"}, ["Binjai", "Damai"]]}, lambda r: r["nama"] in ("Binjai", "Damai")),
    ({"op": "like", "args": [{"op": "casei", "args": [{"property": "nama"}]}, {"op": "casei", "args": ["binjai%"]}]},
     lambda r: r["nama"].lower().startswith("binjai")),
    ({"op": "or", "args": [{"op": "isNull", "args": [{"property": "jenis"}]},
                           {"op": "not", "args": [{"op": ">", "args": [{"property": "area_ha"}, 300]}]}]},
     lambda r: r["jenis"] is None or not r["area_ha"] > 300),
    ({"op": ">", "args": [{"op": "*", "args": [{"property": "area_ha"}, 2]}, 1000]}, lambda r: r["area_ha"] > 500),
]


@pytest.mark.parametrize(("cql", "predicate"), JSON_CASES, ids=[json.dumps(c[0])[:60] for c in JSON_CASES])
def test_json_filters(engine, rows, cql, predicate):
    want = expected(rows, "kelurahan", predicate)
    assert count(engine, "kelurahan", cql, "cql2-json") == want
    assert count(engine, "kelurahan", json.dumps(cql), "cql2-json") == want


# -- spatial -------------------------------------------------------------------------------------------------------

def names_containing(rows, point) -> list[str]:
    return sorted(r["nama"] for r in rows["kelurahan"] if r["geom"].intersects(point))


def test_point_in_tunggurono(engine, rows):
    assert names_containing(rows, POINT_IN_TUNGGURONO) == ["Tunggurono"]
    for cql in ("S_INTERSECTS(geometry, POINT(98.52 3.59))", "S_CONTAINS(geom, POINT(98.52 3.59))"):
        assert [r["nama"] for r in select(engine, "kelurahan", cql)] == ["Tunggurono"]
    geojson = {"op": "s_intersects", "args": [{"property": "geometry"}, mapping(POINT_IN_TUNGGURONO)]}
    assert [r["nama"] for r in select(engine, "kelurahan", geojson, "cql2-json")] == ["Tunggurono"]
    assert [r["nama"] for r in select(engine, "kelurahan", json.dumps(geojson), "cql2-json")] == ["Tunggurono"]


def test_axis_order_and_crs(engine, rows):
    latlon = "S_INTERSECTS(geometry, POINT(3.59 98.52))"
    assert [r["nama"] for r in select(engine, "kelurahan", latlon, swap_axes=True)] == ["Tunggurono"]
    assert count(engine, "kelurahan", latlon) == 0
    x, y = Transformer.from_crs(4326, 32647, always_xy=True).transform(98.52, 3.59)
    utm = f"S_INTERSECTS(geometry, POINT({x} {y}))"
    assert 440_000 < x < 460_000
    assert [r["nama"] for r in select(engine, "kelurahan", utm, filter_srid=32647)] == ["Tunggurono"]
    assert count(engine, "kelurahan", utm) == 0
    ewkt = f"S_INTERSECTS(geometry, SRID=32647;POINT({x} {y}))"
    assert [r["nama"] for r in select(engine, "kelurahan", ewkt, swap_axes=True)] == ["Tunggurono"]


def test_spatial_predicates_match_shapely(engine, rows):
    tunggurono = next(r["geom"] for r in rows["kelurahan"] if r["nama"] == "Tunggurono")
    area = box(98.47, 3.58, 98.51, 3.62)
    for op in ("intersects", "disjoint", "contains", "within", "touches", "overlaps", "crosses", "equals"):
        for geom in (area, tunggurono):
            want = expected(rows, "kelurahan", lambda r, g=geom, o=op: getattr(r["geom"], o)(g))
            assert count(engine, "kelurahan", f"S_{op.upper()}(geometry, {geom.wkt})") == want, op
    assert count(engine, "kelurahan", f"S_EQUALS(geometry, {tunggurono.wkt})") == 1
    assert count(engine, "kelurahan", f"S_TOUCHES(geometry, {tunggurono.wkt})") > 0


def test_bbox(engine, rows):
    want = expected(rows, "kelurahan", lambda r: r["geom"].intersects(box(98.51, 3.58, 98.53, 3.60)))
    assert 0 < want < 37
    assert count(engine, "kelurahan", "S_INTERSECTS(geometry, BBOX(98.51, 3.58, 98.53, 3.60))") == want
    assert count(engine, "kelurahan", "BBOX(geometry, 98.51, 3.58, 98.53, 3.60)") == want
    bbox_json = {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [98.51, 3.58, 98.53, 3.60]}]}
    assert count(engine, "kelurahan", bbox_json, "cql2-json") == want
    inside = expected(rows, "kelurahan", lambda r: r["geom"].within(box(98.4, 3.5, 98.6, 3.7)))
    assert count(engine, "kelurahan", "S_WITHIN(geometry, BBOX(98.4, 3.5, 98.6, 3.7))") == inside


# -- dates ---------------------------------------------------------------------------------------------------------

D = date.fromisoformat
DATE_CASES = [
    ("status_date >= DATE('2024-01-01')", lambda d: d >= D("2024-01-01")),
    ("status_date < DATE('2023-01-01') OR status_date IS NULL", lambda d: d is None or d < D("2023-01-01")),
    ("status_date BETWEEN DATE('2022-01-01') AND DATE('2022-12-31')",
     lambda d: D("2022-01-01") <= d <= D("2022-12-31")),
    ("status_date > TIMESTAMP('2023-04-05T00:00:00Z')", lambda d: d > D("2023-04-05")),
    # 2023-04-05 is a status date: the strict CQL2 relations must leave it out, T_INTERSECTS must keep it
    ("T_AFTER(status_date, DATE('2023-04-05'))", lambda d: d > D("2023-04-05")),
    ("T_BEFORE(status_date, DATE('2023-04-05'))", lambda d: d < D("2023-04-05")),
    ("T_EQUALS(status_date, DATE('2023-04-05'))", lambda d: d == D("2023-04-05")),
    ("T_DURING(status_date, INTERVAL('2022-06-15', '2023-04-05'))", lambda d: D("2022-06-15") < d < D("2023-04-05")),
    ("T_INTERSECTS(status_date, INTERVAL('2022-06-15', '2023-04-05'))",
     lambda d: D("2022-06-15") <= d <= D("2023-04-05")),
    ("T_DISJOINT(status_date, INTERVAL('2022-06-15', '2023-04-05'))",
     lambda d: not D("2022-06-15") <= d <= D("2023-04-05")),
    ("T_DURING(status_date, INTERVAL('2023-06-01', '..'))", lambda d: d > D("2023-06-01")),
    ("t_before(status_date, INTERVAL('2023-01-01T00:00:00Z', '2024-01-01T00:00:00Z'))", lambda d: d < D("2023-01-01")),
]


@pytest.mark.parametrize(("cql", "predicate"), DATE_CASES, ids=[c[0] for c in DATE_CASES])
def test_dates(engine, rows, cql, predicate):
    want = expected(rows, "project_parcels", lambda r: r["status_date"] is not None and predicate(r["status_date"]))
    if "IS NULL" in cql:
        want += expected(rows, "project_parcels", lambda r: r["status_date"] is None)
    assert count(engine, "project_parcels", cql) == want


def test_date_cases_are_discriminating(rows):
    dates = [r["status_date"] for r in rows["project_parcels"]]
    assert D("2023-04-05") in dates and D("2022-06-15") in dates
    assert sum(1 for d in dates if d and d > D("2023-06-01")) > 0


def test_dates_json(engine, rows):
    after = {"op": "t_after", "args": [{"property": "status_date"}, {"date": "2024-01-01"}]}
    during = {"op": "t_during", "args": [{"property": "status_date"}, {"interval": ["2023-01-01", ".."]}]}
    ts = {"op": "<", "args": [{"property": "status_date"}, {"timestamp": "2023-01-01T00:00:00Z"}]}
    for cql, pred in ((after, lambda d: d > D("2024-01-01")), (during, lambda d: d > D("2023-01-01")),
                      (ts, lambda d: d < D("2023-01-01"))):
        want = expected(rows, "project_parcels", lambda r, p=pred: r["status_date"] is not None and p(r["status_date"]))
        assert count(engine, "project_parcels", cql, "cql2-json") == want


@pytest.mark.parametrize(("cql", "words"), [
    ("status_date > '2024-01-01'", ["status_date", "date", "text '2024-01-01'"]),
    ("status_date T_AFTER DATE('2024-01-01')", ["T_AFTER(status_date"]),
    ("status_date = INTERVAL('2024-01-01', '2024-02-01')", ["INTERVAL"]),
    ("T_DURING(status_date, INTERVAL('2024-13-01', '..'))", ["2024-13-01"]),
    ("T_DURING(status_date)", ["syntax error"]),
])
def test_invalid_dates(cql, words):
    detail = invalid(cql, layer="project_parcels")
    for word in words:
        assert word in detail, (word, detail)


def test_bigint_field(engine, rows):
    want = expected(rows, "project_parcels", lambda r: (r["kompensasi_rp"] or 0) > 2_000_000_000)
    assert want > 0
    assert count(engine, "project_parcels", "kompensasi_rp > 2000000000") == want


# -- hostile and wrong input ---------------------------------------------------------------------------------------

def table_count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM kelurahan")).scalar_one()


def test_injection_in_string_literal(engine):
    sql, params = to_sql("nama = 'x'' OR 1=1 --'", "cql2-text", fields("kelurahan"))
    assert list(params.values()) == ["x' OR 1=1 --"]
    assert "1=1" not in sql
    assert count(engine, "kelurahan", "nama = 'x'' OR 1=1 --'") == 0
    assert count(engine, "kelurahan", "nama = 'a''); DROP TABLE kelurahan; --'") == 0
    assert count(engine, "kelurahan", {"op": "=", "args": [{"property": "nama"}, "x' OR '1'='1"]}, "cql2-json") == 0
    assert table_count(engine) == 37


def test_injection_in_identifier(engine):
    detail = invalid('"nama; DROP TABLE kelurahan" = 1')
    assert "unknown property 'nama; DROP TABLE kelurahan'" in detail and "nama" in detail.split("queryables:")[1]
    detail = invalid({"op": "=", "args": [{"property": 'nama" = nama; --'}, "x"]}, "cql2-json")
    assert "unknown property" in detail
    assert table_count(engine) == 37


@pytest.mark.parametrize(("cql", "lang", "words"), [
    ("penduduk > 5", "cql2-text", ["unknown property 'penduduk'", "kecamatan_kode", "geometry"]),
    ("nama = 'a' AND", "cql2-text", ["syntax error", "end of filter"]),
    ("nama == 'a'", "cql2-text", ["syntax error", "line 1, column 7"]),
    ("nama = 'a' AND\n area_ha >> 5", "cql2-text", ["line 2, column 11"]),
    ("area_ha > 'besar'", "cql2-text", ["area_ha", "number", "text 'besar'"]),
    ("nama = 5", "cql2-text", ["nama", "text", "number 5"]),
    ("nama LIKE 5", "cql2-text", ["LIKE", "number 5"]),
    ("area_ha + nama > 5", "cql2-text", ["'+'", "nama"]),
    ("T_AFTER(nama, DATE('2024-01-01'))", "cql2-text", ["T_AFTER", "nama"]),
    ("RELATE(geometry, POINT(1 2), 'T********')", "cql2-text", ["unsupported operator RELATE"]),
    ("UPPER(nama) = 'A'", "cql2-text", ["unsupported function UPPER"]),
    ("S_INTERSECTS(nama, POINT(1 2))", "cql2-text", ["S_INTERSECTS", "nama"]),
    ("geometry = POINT(1 2)", "cql2-text", ["geometries"]),
    ("S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))", "cql2-text", ["invalid geometry"]),
    ("BBOX(geometry, 1, 2, 3, 4, 'EPSG:foo')", "cql2-text", ["unsupported CRS"]),
    ({"op": "a_contains", "args": [{"property": "nama"}, ["a"]]}, "cql2-json", ["unsupported operator 'a_contains'"]),
    ({"op": "=", "args": [{"property": "nama"}]}, "cql2-json", ["invalid CQL2 JSON"]),
    ('{"op": "=", "args": [', "cql2-json", ["not valid JSON"]),
    ({"op": "s_intersects", "args": [{"property": "geom"}, {"type": "Point", "coordinates": "x"}]}, "cql2-json",
     ["invalid geometry"]),
    ("nama = 'a'", "cql2-xml", ["unsupported filter-lang"]),
    ({"op": "=", "args": [{"property": "nama"}, "a"]}, "cql2-text", ["string"]),
])
def test_invalid_input(engine, cql, lang, words):
    detail = invalid(cql, lang)
    for word in words:
        assert word in detail, (word, detail)


def test_limits(engine):
    long_text = "nama = '" + "a" * MAX_LENGTH + "'"
    assert "longer than" in invalid(long_text)
    assert "longer than" in invalid({"op": "=", "args": [{"property": "nama"}, "a" * MAX_LENGTH]}, "cql2-json")
    deep = "(" * (MAX_DEPTH + 5) + "nama = 'a'" + ")" * (MAX_DEPTH + 5)
    assert "nested deeper" in invalid(deep)
    shallow = "(" * 10 + "nama = 'Tunggurono'" + ")" * 10
    assert count(engine, "kelurahan", shallow) == 1
    node: dict = {"op": "=", "args": [{"property": "nama"}, "a"]}
    for _ in range(MAX_DEPTH + 5):
        node = {"op": "not", "args": [node]}
    assert "nested deeper" in invalid(node, "cql2-json")
    assert "nested deeper" in invalid(json.dumps(node), "cql2-json")
    assert "nested deeper" in invalid("area_ha" + " + 1" * (MAX_DEPTH + 5) + " > 0")
    assert "not valid JSON" in invalid("[" * 5000 + "]" * 5000, "cql2-json")


def test_table_untouched_after_hostile_input(engine):
    assert table_count(engine) == 37


