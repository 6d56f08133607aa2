"""A process's inputs are declared once, as a pydantic model: the OGC description's `inputs`, the validation of a
request's raw inputs and the defaults all come from it. A bad input names itself and what is allowed."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
)
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from gis.core.errors import InvalidInput

GEOJSON_POLYGON = "a GeoJSON Polygon or MultiPolygon (or a Feature of one) in lon/lat (CRS84)"


MAX_CITIES = 50
CITY_SCHEMA = {"oneOf": [{"type": "string", "examples": ["12.75"]},
                         {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": MAX_CITIES}]}


def _city_codes(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    codes = [value] if isinstance(value, str) else value
    if not isinstance(codes, list | tuple) or not codes or not all(isinstance(c, str) and c.strip() for c in codes):
        raise ValueError('must be a Kemendagri kab/kota code such as "12.75", or a list of codes for a region-wide '
                         'run (see /cities)')
    if len(codes) > MAX_CITIES:
        raise ValueError(f"names more than {MAX_CITIES} cities")
    return tuple(sorted({c.strip() for c in codes}))


CityChoice = Annotated[
    tuple[str, ...] | None,
    PlainValidator(_city_codes),
    PlainSerializer(lambda codes: list(codes) if codes else None),
    WithJsonSchema(CITY_SCHEMA),
]
"""The city (kab/kota code) a process runs on, or several for a region-wide run; checked against the cities held
when the process runs."""


class ProcessInputs(BaseModel):
    """Base of every process's input model: unknown inputs are refused, types are not coerced (the number 5,
    not the text "5"), NaN and infinity are refused. Every process takes `city`."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    city: CityChoice = Field(
        None, title="City or cities",
        description="Kemendagri code of the kab/kota to analyse (see /cities), e.g. \"12.75\", or a list of codes "
                    "for one region-wide run. Default: the city held, when only one is; with several held it must "
                    "be given. Layers are read within the chosen cities and measured in each city's metric CRS; "
                    "results are reported per city",
        json_schema_extra=lambda schema: schema.pop("default", None))  # the default is said in words


def _polygon(value: Any) -> BaseGeometry:
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if isinstance(value, BaseGeometry):
        geom = value
    else:
        try:
            geom = shape(value)
        except Exception:
            raise ValueError(f"must be {GEOJSON_POLYGON}; this is not a GeoJSON geometry") from None
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"must be {GEOJSON_POLYGON}, not a {geom.geom_type}")
    if geom.is_empty:
        raise ValueError("is an empty polygon")
    if not geom.is_valid:
        raise ValueError(f"is not a valid polygon ({explain_validity(geom)}); fix it or draw it again")
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise ValueError("has coordinates outside lon/lat (-180..180, -90..90): send it in EPSG:4326 (CRS84)")
    return geom


GEOJSON_SCHEMA = {"type": "object", "format": "geojson-geometry", "contentMediaType": "application/geo+json",
                  "description": f"{GEOJSON_POLYGON[0].upper()}{GEOJSON_POLYGON[1:]}"}
GeoJSONPolygon = Annotated[
    BaseGeometry,
    PlainValidator(_polygon),
    PlainSerializer(mapping, return_type=dict),
    WithJsonSchema(GEOJSON_SCHEMA),
]
"""A polygon input: a GeoJSON Polygon/MultiPolygon or a Feature of one, in lon/lat, checked valid; a shapely
geometry (EPSG:4326) once validated."""


def _site(value: Any) -> BaseGeometry:
    """A polygon, or a point (a planned activity's location, given with its area)."""
    point = value.get("geometry") if isinstance(value, dict) and value.get("type") == "Feature" else value
    if isinstance(point, dict) and point.get("type") == "Point":
        try:
            geom = shape(point)
        except Exception:
            raise ValueError("must be a GeoJSON Point [lon, lat] or a polygon") from None
        if geom.is_empty or not (-180 <= geom.x <= 180 and -90 <= geom.y <= 90):
            raise ValueError("has coordinates outside lon/lat (-180..180, -90..90): send it in EPSG:4326 (CRS84)")
        return geom
    return _polygon(value)


GeoJSONSite = Annotated[
    BaseGeometry,
    PlainValidator(_site),
    PlainSerializer(mapping, return_type=dict),
    WithJsonSchema({**GEOJSON_SCHEMA, "description": "A GeoJSON Polygon or MultiPolygon in lon/lat (CRS84), or a "
                                                     "Point with the site's area in `site_area_ha`"}),
]


def _date_text(value: Any) -> Any:
    if not isinstance(value, str | date):
        raise ValueError("must be a date YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_date_text), Field(strict=False)]
"""A date input, sent as text YYYY-MM-DD (a number is refused, not read as a timestamp)."""


def _city_project(value: Any, info: ValidationInfo) -> Any:
    if value is not None:
        return value
    settings = (info.context or {}).get("settings")
    if settings is None:
        raise ValueError("is required (no city settings to take the monitored project from)")
    return settings.city.project


def _without_default(schema: dict) -> None:
    schema.pop("default", None)  # the default depends on the city: it is said in the description


CityProject = Annotated[str, BeforeValidator(_city_project),
                        Field(min_length=1, max_length=100, validate_default=True, json_schema_extra=_without_default)]
"""A project slug, by default the city's monitored project (settings.city.project): declare it `= None`."""


@cache
def ogc_inputs(model: type[ProcessInputs]) -> dict:
    """The OGC API - Processes description of each input (title, description, schema, minOccurs, maxOccurs),
    from the model's JSON Schema with references inlined and the `null` of optional inputs left out."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    out = {}
    for name, field in model.model_fields.items():
        prop = _optional_as_plain(_inline(schema["properties"][name], defs))
        described = {"title": prop.pop("title", name)}
        if "description" in prop:
            described["description"] = prop.pop("description")
        if prop.get("format") == "geojson-geometry":  # the schema says what it takes, whatever the input is for
            prop["description"] = GEOJSON_SCHEMA["description"]
        out[name] = {**described, "schema": prop, "minOccurs": 1 if field.is_required() else 0, "maxOccurs": 1}
    return out


def _inline(node: Any, defs: dict) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            target = defs[node["$ref"].rsplit("/", 1)[-1]]
            return _inline({**target, **{k: v for k, v in node.items() if k != "$ref"}}, defs)
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _optional_as_plain(prop: dict) -> dict:
    """`X | None = None` is an input one may leave out (minOccurs 0): describe it as X."""
    branches = prop.get("anyOf", [])
    kept = [b for b in branches if b != {"type": "null"}]
    if len(kept) == 1 and len(branches) == 2:
        prop = {**kept[0], **{k: v for k, v in prop.items() if k != "anyOf"}}
        if prop.get("default", ...) is None:
            del prop["default"]
    return prop


def parse_inputs(model: type[ProcessInputs], process_id: str, raw: Any, settings=None) -> ProcessInputs:
    """The validated inputs, or InvalidInput naming each bad input and what it allows."""
    if not isinstance(raw, dict):
        raise InvalidInput("'inputs' must be an object")
    known = sorted(model.model_fields)
    unknown = sorted(str(k) for k in set(raw) - set(known))
    if unknown:
        raise InvalidInput(f"unknown inputs {', '.join(unknown)}; {process_id} takes: {', '.join(known) or 'none'}")
    try:
        return model.model_validate(raw, context={"settings": settings})
    except ValidationError as exc:
        described = ogc_inputs(model)
        messages = dict.fromkeys(_message(err, described) for err in exc.errors(include_url=False))
        raise InvalidInput("; ".join(messages)) from None


def _message(err: dict, described: dict) -> str:
    loc, kind = err["loc"], err["type"]
    reason = str(err.get("ctx", {}).get("error", err["msg"]))
    if not loc or loc[0] not in described:  # a rule across inputs: its message names them
        return reason
    name, schema = str(loc[0]), described[str(loc[0])]["schema"]
    where = f"input '{name}'"
    if loc[-1] == "[key]":
        keys = schema.get("propertyNames", {}).get("enum", [])
        return f"{where} has an unknown key {loc[-2]!r}; allowed keys: {', '.join(map(str, keys))}"
    if len(loc) > 1:
        where = f"{where} entry {loc[1]!r}"
        schema = schema.get("additionalProperties") or schema.get("properties", {}).get(loc[1], {})
    if kind == "missing":
        return f"{where} is required: {allowed(schema)}"
    if kind == "value_error":
        return f"{where} {reason}"
    given = err.get("input")
    if given is None:
        return f"{where} is required: {allowed(schema)} (got null)"
    shown = f" (got {json.dumps(given)[:40]})" if isinstance(given, str | int | float) else ""
    return f"{where} must be {allowed(schema)}{shown}"


def allowed(schema: dict) -> str:
    """What a JSON Schema allows, in words: 'a number greater than 0 and at most 5000'."""
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    if schema.get("format") == "geojson-geometry":
        return GEOJSON_POLYGON
    kind = schema.get("type")
    if kind == "string" and schema.get("format") == "date":
        return "a date YYYY-MM-DD"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        keys = schema.get("propertyNames", {}).get("enum")
        return (f"an object of {', '.join(keys) if keys else 'name'} -> "
                f"{allowed(schema['additionalProperties'])}")
    noun = {"number": "a number", "integer": "an integer", "boolean": "true or false", "object": "an object",
            "array": "a list", "string": "a text"}.get(kind, "a value")
    bounds = [f"{word} {schema[key]:g}" for key, word in (
        ("exclusiveMinimum", "greater than"), ("minimum", "at least"), ("exclusiveMaximum", "less than"),
        ("maximum", "at most")) if key in schema]
    if "minLength" in schema or "maxLength" in schema:
        bounds.append(f"of {schema.get('minLength', 0)} to {schema.get('maxLength', 'any number of')} characters")
    return " and ".join([noun + (" " + bounds[0] if bounds else ""), *bounds[1:]])
