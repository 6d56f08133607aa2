"""Each process's inputs are one pydantic model: the OGC description served over HTTP says what the model
declares (bounds, enums, defaults, required), the defaults are the regulation values of rules.py and the city's
settings, and every bounded input refuses a value out of range with a 400 naming the input and what it allows."""

import json
import math
import types
import typing
from pathlib import Path

import annotated_types
import pytest
from shapely.geometry import Polygon, box, mapping

from gis.analyses import rules
from gis.core.errors import InvalidInput
from gis.processes import PROCESSES
from tests.conftest import problem_of

ROOT = Path(__file__).resolve().parents[1]
BOUND_KEYS = {annotated_types.Gt: ("gt", "exclusiveMinimum"), annotated_types.Ge: ("ge", "minimum"),
              annotated_types.Lt: ("lt", "exclusiveMaximum"), annotated_types.Le: ("le", "maximum")}
RAW_PYDANTIC = ("validation error", "Input should", "errors.pydantic.dev", "[type=")


def _bounds(metadata) -> dict:
    """The JSON Schema bounds a field's annotated_types constraints stand for."""
    out = {}
    for m in metadata:
        for kind, (attr, key) in BOUND_KEYS.items():
            if isinstance(m, kind):
                out[key] = getattr(m, attr)
    return out


def _declared(field) -> dict:
    """What the model declares for one field, read from pydantic's field info (not from its JSON Schema)."""
    annotation = field.annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and args:
        annotation = args[0]  # X | None: an input one may leave out
    out = _bounds(field.metadata)
    if typing.get_origin(annotation) is typing.Literal:
        out["enum"] = list(typing.get_args(annotation))
    if typing.get_origin(annotation) is dict:
        key, value = typing.get_args(annotation)
        out["propertyNames"] = {"enum": list(typing.get_args(key))}
        out["additionalProperties"] = _bounds(m for meta in typing.get_args(value)[1:]
                                              for m in (getattr(meta, "metadata", None) or [meta]))
    if field.default is not None and not field.is_required() and field.default_factory is None:
        out["default"] = field.default
    return out


def _contains(schema: dict, expected: dict) -> bool:
    return all(_contains(schema.get(k, {}), v) if isinstance(v, dict) else schema.get(k) == v
               for k, v in expected.items())


@pytest.mark.parametrize("process_id", sorted(PROCESSES))
def test_the_description_says_what_the_model_declares(http, process_id):
    described = http.get(f"/processes/{process_id}").json()["inputs"]
    fields = PROCESSES[process_id].model.model_fields
    assert set(described) == set(fields)
    for name, field in fields.items():
        given = described[name]
        assert set(given) >= {"title", "schema", "minOccurs", "maxOccurs"}
        assert given["title"] == field.title and given["maxOccurs"] == 1
        assert given["minOccurs"] == (1 if field.is_required() else 0)
        declared = _declared(field)
        assert _contains(given["schema"], declared), (name, given["schema"], declared)
        assert "$ref" not in json.dumps(given["schema"]) and "anyOf" not in given["schema"]


def test_the_bounds_enums_and_defaults_are_really_declared():
    """The comparison above must have something to compare: these are the declarations of today's models."""
    site = _declared(PROCESSES["site-suitability"].model.model_fields["target_ha"])
    assert site == {"exclusiveMinimum": 0, "maximum": 5_000, "default": rules.ESTATE_TARGET_HA.value}
    mode = _declared(PROCESSES["site-suitability"].model.model_fields["mode"])
    assert mode == {"enum": ["search", "evaluate"], "default": "search"}
    radii = _declared(PROCESSES["park-coverage"].model.model_fields["radii_m"])
    assert radii["additionalProperties"] == {"exclusiveMinimum": 0, "maximum": 50_000}
    assert "taman rt" in radii["propertyNames"]["enum"]


def test_defaults_are_the_rules_and_the_citys_settings(http, settings):
    site = http.get("/processes/site-suitability").json()["inputs"]
    assert site["target_ha"]["schema"]["default"] == rules.ESTATE_TARGET_HA.value
    assert site["max_slope_pct"]["schema"]["default"] == rules.MAX_SLOPE_PCT.value
    weights = rules.SuitabilityWeights()
    assert site["weights"]["schema"]["default"] == {k: getattr(weights, k) for k in (
        "slope", "flood", "access", "housing_distance", "land_cover")}
    parks = http.get("/processes/park-coverage").json()["inputs"]
    assert parks["underserved_below"]["schema"]["default"] == rules.UNDERSERVED_BELOW.value
    # Confirmed radii (RT, RW) and the small neighbourhood parks; the unconfirmed city-park radii are left out.
    assert parks["radii_m"]["schema"]["default"] == {
        k: s.radius_m for k, s in rules.PARK_STANDARDS.items() if s.radius_confirmed or s.serves_people <= 2_500}

    parsed = PROCESSES["site-suitability"].parse({}, settings)
    assert (parsed.target_ha, parsed.max_slope_pct) == (rules.ESTATE_TARGET_HA.value, rules.MAX_SLOPE_PCT.value)
    assert PROCESSES["park-coverage"].parse({}, settings).underserved_below == rules.UNDERSERVED_BELOW.value
    # The monitored project is the city's, from settings: another city's settings give another default.
    for process_id in ("project-progress", "change-detection"):
        assert PROCESSES[process_id].parse({}, settings).project == settings.city.project
        other = settings.model_copy(update={"city": settings.city.model_copy(update={"project": "proyek-lain"})})
        assert PROCESSES[process_id].parse({}, other).project == "proyek-lain"
        assert PROCESSES[process_id].parse({"project": "x"}, other).project == "x"
    sources = "".join(p.read_text() for p in (ROOT / "gis" / "processes").glob("*.py"))
    assert settings.city.project not in sources


def _out_of_range(schema: dict) -> list:
    values = []
    if "exclusiveMinimum" in schema:
        values.append(schema["exclusiveMinimum"])
    if "minimum" in schema:
        values.append(schema["minimum"] - 1)
    if "maximum" in schema:
        values.append(schema["maximum"] + 1)
    if "exclusiveMaximum" in schema:
        values.append(schema["exclusiveMaximum"])
    return values


def _bounded_inputs():
    """(process, input, bad value, allowed words) for every bounded input, on both sides of its range."""
    for process_id, process in sorted(PROCESSES.items()):
        for name, given in process.inputs.items():
            schema = given["schema"]
            if isinstance(schema.get("additionalProperties"), dict):  # an object of key -> bounded number
                key = schema["propertyNames"]["enum"][0]
                for bad in _out_of_range(schema["additionalProperties"]):
                    yield process_id, name, {key: bad}, f"entry '{key}'"
            for bad in _out_of_range(schema):
                yield process_id, name, bad, ""


BOUNDED = list(_bounded_inputs())


def test_every_bounded_input_is_found():
    assert {(p, n) for p, n, _, _ in BOUNDED} == {
        ("site-suitability", "target_ha"), ("site-suitability", "max_slope_pct"),
        ("site-suitability", "n_candidates"), ("site-suitability", "weights"),
        ("park-coverage", "radii_m"), ("park-coverage", "underserved_below"),
        ("zoning-conformity", "site_area_ha"), ("zoning-conformity", "significant_share"),
        ("asset-check", "min_overlap_m2"), ("asset-check", "forbidden_share"), ("programme-status", "year")}
    assert len(BOUNDED) == 21  # both sides of each range; weights only have a lower bound


# What a process needs besides the input under test (its required inputs).
REQUIRED = {"zoning-conformity": {"geometry": mapping(box(98.49, 3.6, 98.5, 3.61)), "kbli": "10750"}}


@pytest.mark.parametrize("process_id, name, bad, entry", BOUNDED)
def test_an_out_of_range_value_is_a_400_naming_the_input_and_its_range(http, process_id, name, bad, entry):
    r = http.post(f"/processes/{process_id}/execution", json={"inputs": {**REQUIRED.get(process_id, {}), name: bad}})
    assert r.status_code == 400
    detail = problem_of(r)["detail"]
    schema = PROCESSES[process_id].inputs[name]["schema"]
    schema = schema.get("additionalProperties", schema) if entry else schema
    assert detail.startswith(f"input '{name}'") and entry in detail, detail
    words = {"exclusiveMinimum": "greater than", "minimum": "at least", "maximum": "at most"}
    for key, word in words.items():
        if key in schema:
            assert f"{word} {schema[key]:g}" in detail, detail
    assert not any(raw in detail for raw in RAW_PYDANTIC), detail


@pytest.mark.parametrize("process_id, name", sorted({(p, n) for p, n, _, _ in BOUNDED}))
def test_the_inclusive_bounds_themselves_are_accepted(settings, process_id, name):
    schema = PROCESSES[process_id].inputs[name]["schema"]
    inner = schema.get("additionalProperties", schema)
    for key in ("minimum", "maximum"):
        if key in inner:
            value = inner[key] if inner is schema else {schema["propertyNames"]["enum"][0]: inner[key]}
            parsed = getattr(PROCESSES[process_id].parse({**REQUIRED.get(process_id, {}), name: value}, settings),
                             name)
            assert parsed == value or parsed.items() >= value.items()


@pytest.mark.parametrize("process_id, inputs, message", [
    ("site-suitability", {"mode": "both"}, "input 'mode' must be one of \"search\", \"evaluate\""),
    ("site-suitability", {"n_candidates": "5"}, "input 'n_candidates' must be an integer at least 1 and at most 20"),
    ("site-suitability", {"n_candidates": 2.5}, "input 'n_candidates' must be an integer"),
    ("site-suitability", {"target_ha": True}, "input 'target_ha' must be a number greater than 0"),
    ("site-suitability", {"weights": dict.fromkeys(("slope", "flood", "access", "housing_distance", "land_cover"), 0)},
     "input 'weights' must give at least one criterion a weight above 0"),
    ("site-suitability", {"weights": {"access": -1}}, "input 'weights' entry 'access' must be a number at least 0"),
    ("site-suitability", {"site": mapping(box(98.49, 3.6, 98.5, 3.61))},
     "input 'site' is only read when mode is 'evaluate'"),
    ("site-suitability", {"land_cover": ""}, "input 'land_cover' must be a text of 1 to 100 characters"),
    ("park-coverage", {"radii_m": {"taman raya": 500}}, "input 'radii_m' has an unknown key 'taman raya'; "
                                                         "allowed keys: taman kota"),
    ("business-center-coverage", {"active_only": "yes"}, "input 'active_only' must be true or false"),
    ("project-progress", {"as_of": "2025-13-01"}, "input 'as_of' must be a date YYYY-MM-DD"),
    ("project-progress", {"as_of": 20250101}, "input 'as_of' must be a date YYYY-MM-DD"),
    ("zoning-conformity", {"geometry": mapping(box(98.49, 3.6, 98.5, 3.61))},
     "give either 'kbli' (a KBLI 2020 code such as \"10750\") or 'activity'"),
    ("zoning-conformity", {"activity": "taman", "geometry": {"type": "LineString", "coordinates": [[98.5, 3.6],
                                                                                                   [98.6, 3.6]]}},
     "input 'geometry' must be a GeoJSON Polygon or MultiPolygon (or a Feature of one) in lon/lat (CRS84), not a "
     "LineString"),
    ("zoning-conformity", {"activity": "taman", "geometry": {"type": "Point", "coordinates": [98.5, 3.6]}},
     "a point site needs 'site_area_ha'"),
    ("zoning-conformity", {"activity": "taman", "geometry": mapping(Polygon([(98.49, 3.6), (98.5, 3.61),
                                                                             (98.5, 3.6), (98.49, 3.61)]))},
     "input 'geometry' is not a valid polygon (Self-intersection"),
    ("zoning-conformity", {"activity": "taman", "geometry": mapping(box(445_000, 398_000, 446_000, 399_000))},
     "input 'geometry' has coordinates outside lon/lat"),
    ("change-detection", {"geometry": {"type": "Polygon"}}, "input 'geometry' must be a GeoJSON Polygon"),
    ("site-suitability", {"target_ha": 0, "n_candidates": 0},
     "input 'target_ha' must be a number greater than 0 and at most 5000 (got 0); input 'n_candidates'"),
    ("site-suitability", {"colour": 1, "alpha": 2}, "unknown inputs alpha, colour; site-suitability takes: "
                                                    "activity, city, engine, kbli, land_cover, max_slope_pct, mode, "
                                                    "n_candidates, site, study_area, target_ha, weights"),
])
def test_bad_inputs_are_400_with_a_detail_in_words(http, process_id, inputs, message):
    r = http.post(f"/processes/{process_id}/execution", json={"inputs": inputs})
    assert r.status_code == 400
    detail = problem_of(r)["detail"]
    assert message in detail and not any(raw in detail for raw in RAW_PYDANTIC), detail


def test_nan_is_refused_not_a_500(http):
    r = http.post("/processes/park-coverage/execution", content='{"inputs": {"underserved_below": NaN}}',
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "input 'underserved_below' must be a number" in problem_of(r)["detail"]


def test_a_feature_of_a_polygon_is_read_as_its_polygon(settings):
    square = box(98.49, 3.6, 98.5, 3.61)
    feature = {"type": "Feature", "properties": {"nama": "x"}, "geometry": mapping(square)}
    parsed = PROCESSES["zoning-conformity"].parse({"geometry": feature, "activity": "taman"}, settings)
    assert parsed.geometry.equals(square) and math.isclose(parsed.geometry.area, square.area)
    with pytest.raises(InvalidInput, match="input 'geometry' must be a GeoJSON Polygon"):
        PROCESSES["zoning-conformity"].parse({"geometry": {"type": "Feature", "geometry": None},
                                              "activity": "taman"}, settings)


def test_validated_inputs_reach_the_analysis(http):
    """A non-default value given in the request is the one the analysis uses."""
    result = http.post("/processes/project-progress/execution", json={"inputs": {"as_of": "2025-01-31"}}).json()
    assert result["as_of"] == "2025-01-31" and result["timeline"][-1]["month"] == "2025-01"
    parks = http.post("/processes/park-coverage/execution", json={"inputs": {"underserved_below": 1.0}}).json()
    rows = [f["properties"] for f in parks["kelurahan"]["features"]]
    assert set(parks["underserved"]) == {r["nama"] for r in rows if r["share_served"] < 1.0}
    assert len(parks["underserved"]) > len(http.post("/processes/park-coverage/execution",
                                                     json={"inputs": {}}).json()["underserved"])
