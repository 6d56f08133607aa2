"""Writing features (OGC API - Features Part 4): validation against the layer declaration, optimistic
concurrency on the feature version, history recorded by the database triggers in the same transaction.
`gis.data.writer.FeatureWriter` runs these steps as one unit of work per write."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import shape
from sqlalchemy import Connection, text

from gis.core.crs import Crs
from gis.core.errors import InvalidInput, NotFound, VersionConflict
from gis.data.store import geom_sql
from layers.schema import Field, Layer
from layers.tables import CITY_COLUMN

_PY_TYPES = {"text": (str,), "integer": (int,), "bigint": (int,), "number": (int, float), "boolean": (bool,),
             "date": (str,)}


def _check_value(f: Field, value):
    if value is None:
        if f.required:
            raise InvalidInput(f"property {f.name!r} is required")
        return None
    ok = isinstance(value, _PY_TYPES[f.type]) and not (isinstance(value, bool) and f.type != "boolean")
    if not ok:
        raise InvalidInput(f"property {f.name!r} must be a {f.type}, got {type(value).__name__} {value!r:.40}")
    if f.type == "number" and not math.isfinite(value):
        raise InvalidInput(f"property {f.name!r} must be a finite number")
    if f.type in ("integer", "bigint") and abs(value) > (2**31 - 1 if f.type == "integer" else 2**63 - 1):
        raise InvalidInput(f"property {f.name!r} is out of range for an {f.type}")
    if f.type == "date":
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"property {f.name!r} must be a date YYYY-MM-DD, got {value!r:.40}") from None
    if f.type == "text" and len(value) > 10_000:
        raise InvalidInput(f"property {f.name!r} is longer than 10,000 characters")
    if f.choices and value not in f.choices:
        raise InvalidInput(f"property {f.name!r} must be one of {', '.join(f.choices)}, got {value!r:.40}")
    return value


def check_properties(layer: Layer, props, partial: bool) -> dict:
    """Validated values of the writable fields. Computed fields (area_ha) are derived, so ignored."""
    if not isinstance(props, dict):
        raise InvalidInput("'properties' must be a JSON object")
    writable = {f.name: f for f in layer.fields if not f.computed}
    # Derived by the database, so ignored: computed fields (area_ha) and the city a feature lies in (kabkota).
    computed = {f.name for f in layer.fields if f.computed} | {CITY_COLUMN}
    unknown = [k for k in props if k not in writable and k not in computed]
    if unknown:
        raise InvalidInput(f"unknown properties {', '.join(map(repr, unknown))} for {layer.id}; "
                           f"fields: {', '.join(writable)}")
    names = [k for k in props if k in writable] if partial else list(writable)
    return {name: _check_value(writable[name], props.get(name)) for name in names}


def require_private_fields(layer: Layer, props) -> None:
    """A replacement must name every private field (null is fine): a client that read the feature without the
    right to see them would otherwise erase them (owner, NIK, compensation) without knowing."""
    missing = [f.name for f in layer.private_fields if not f.computed and f.name not in (props or {})]
    if missing:
        raise InvalidInput(f"a replacement of a {layer.id} feature must carry every private property, also as "
                           f"null: missing {', '.join(map(repr, missing))}; to change only some properties, "
                           "send a PATCH")


_MERGE_PATCH_MEMBERS = {"type", "id", "links", "properties", "geometry"}


def merge_patch_members(patch) -> tuple[dict, dict | None]:
    """(properties to set, new geometry or None) from a JSON Merge Patch (RFC 7396) of a Feature. A null
    property clears it; properties and geometry themselves cannot be removed."""
    if not isinstance(patch, dict):
        raise InvalidInput("a merge patch must be a JSON object, e.g. {\"properties\": {\"nama\": \"...\"}}")
    unknown = [k for k in patch if k not in _MERGE_PATCH_MEMBERS]
    if unknown:
        raise InvalidInput(f"a merge patch of a feature may change 'properties' and 'geometry', got "
                           f"{', '.join(repr(k[:40]) for k in unknown[:5])} (property values go inside "
                           "\"properties\")")
    if patch.get("type", "Feature") != "Feature":
        raise InvalidInput("a merge patch cannot change the type of a Feature")
    if "properties" in patch and not isinstance(patch["properties"], dict):
        raise InvalidInput("'properties' in a merge patch must be an object of the properties to change "
                           "(null clears one property)")
    if "geometry" in patch and patch["geometry"] is None:
        raise InvalidInput("a feature needs a geometry: a merge patch can replace it, not remove it")
    return patch.get("properties", {}), patch.get("geometry")


def _positions(coords, depth: int = 0):
    """Every position of a GeoJSON coordinates array, checking that each is 2 or 3 numbers."""
    if depth > 4 or not isinstance(coords, list):
        raise InvalidInput("geometry coordinates must be nested arrays of numbers")
    if coords and not isinstance(coords[0], list):
        if not 2 <= len(coords) <= 3 or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                                for v in coords):
            raise InvalidInput(f"a position must be 2 or 3 numbers, got {str(coords)[:60]}")
        yield coords
        return
    for c in coords:
        yield from _positions(c, depth + 1)


def check_coordinates(geojson: dict) -> None:
    """Numbers only, and closed polygon rings (RFC 7946 3.1.6), before shapely sees anything."""
    kind = geojson.get("type")
    coords = geojson.get("coordinates")
    if kind == "GeometryCollection" or coords is None:
        return
    for _ in _positions(coords):
        pass
    rings = [coords] if kind == "Polygon" else (coords if kind == "MultiPolygon" else [])
    for polygon in rings:
        for ring in polygon:
            if len(ring) < 4 or ring[0] != ring[-1]:
                raise InvalidInput("a polygon ring must be closed (first position repeated last) and have at "
                                   "least 4 positions")


def _polygonal_parts(geom, want: str):
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type.replace("Multi", "") == want]
    return shapely.union_all(parts) if parts else None


def check_geometry(layer: Layer, geojson, crs: Crs, repair: bool):
    """A shapely geometry in EPSG:4326 (lon/lat) fit for the layer, or InvalidInput saying what is wrong."""
    if not isinstance(geojson, dict):
        raise InvalidInput("'geometry' must be a GeoJSON geometry object")
    check_coordinates(geojson)
    try:
        geom = shape(geojson)
    except Exception as exc:  # shapely raises several types for malformed GeoJSON
        raise InvalidInput(f"geometry is not valid GeoJSON: {exc}") from None
    if geom.is_empty:
        raise InvalidInput("geometry is empty")
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise InvalidInput("geometry has non-finite coordinates")
    if len(coords) > 1_000_000:
        raise InvalidInput("geometry has more than 1,000,000 vertices")
    if crs.lat_lon:
        geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
    if crs.srid != 4326:
        to_wgs84 = Transformer.from_crs(crs.srid, 4326, always_xy=True)
        geom = shapely.transform(geom, lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1])))
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise InvalidInput(f"coordinates out of range for {crs.uri} (longitude/latitude {x0:.4g}..{x1:.4g}, "
                           f"{y0:.4g}..{y1:.4g}); is Content-Crs right?")
    base = layer.geometry_type.replace("Multi", "")
    if geom.geom_type.replace("Multi", "") != base:
        raise InvalidInput(f"{layer.id} holds {layer.geometry_type} geometries, got {geom.geom_type}")
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        if not repair:
            raise InvalidInput(f"invalid geometry: {reason}; fix it, or send ?repair=true to have it repaired")
        geom = _polygonal_parts(shapely.make_valid(geom), base)
        if geom is None or geom.is_empty:
            raise InvalidInput(f"invalid geometry ({reason}) and nothing of type {base} is left after repair")
    return geom


def set_actor(conn: Connection, actor: str, action: str = "") -> None:
    """Who (and, for a restore, why) the history triggers record for the rest of this transaction."""
    conn.execute(text("SELECT set_config('petakota.actor', :a, true), set_config('petakota.action', :b, true)"),
                 {"a": actor, "b": action})


@dataclass(frozen=True)
class Expected:
    """The stored versions a write may change (If-Match): one of `versions`, or any version as long as the
    feature exists (`any_version`, If-Match: *)."""

    versions: frozenset[int] = frozenset()
    any_version: bool = False

    @classmethod
    def version(cls, version: int) -> Expected:
        return cls(frozenset({version}))

    def sql(self) -> tuple[str, dict]:
        if self.any_version:
            return "TRUE", {}
        return "version = ANY(CAST(:expected AS integer[]))", {"expected": sorted(self.versions)}

    def describe(self) -> str:
        if self.any_version:
            return "any version"
        return " or ".join(str(v) for v in sorted(self.versions)) or "none of its versions"


def create(conn: Connection, layer: Layer, props: dict, geom) -> tuple[int, int]:
    cols = [*props, "geom"]
    values = [*(f":{c}" for c in props), geom_sql(layer)]
    row = conn.execute(text(f"INSERT INTO {layer.id} ({', '.join(cols)}) VALUES ({', '.join(values)}) "
                            f"RETURNING id, version"), {**props, "wkb": shapely.to_wkb(geom)}).one()
    return row.id, row.version


def update(conn: Connection, layer: Layer, fid: int, props: dict, geom, expected: Expected) -> int:
    """Replace the given properties (and geometry, if any) when the stored version is still an expected one."""
    sets = [f"{c} = :{c}" for c in props]
    condition, params = expected.sql()
    params.update(props, id=fid)
    if geom is not None:
        sets.append(f"geom = {geom_sql(layer)}")
        params["wkb"] = shapely.to_wkb(geom)
    if not sets:
        raise InvalidInput("nothing to change: send properties and/or a geometry")
    version = conn.execute(text(f"UPDATE {layer.id} SET {', '.join(sets)} WHERE id = :id AND {condition} "
                                f"RETURNING version"), params).scalar()
    if version is None:
        _raise_missing_or_stale(conn, layer, fid, expected)
    return version


def delete(conn: Connection, layer: Layer, fid: int, expected: Expected) -> None:
    condition, params = expected.sql()
    done = conn.execute(text(f"DELETE FROM {layer.id} WHERE id = :id AND {condition}"), {**params, "id": fid}).rowcount
    if not done:
        _raise_missing_or_stale(conn, layer, fid, expected)


def current_version(conn: Connection, layer: Layer, fid: int) -> int | None:
    return conn.execute(text(f"SELECT version FROM {layer.id} WHERE id = :id"), {"id": fid}).scalar()


def _raise_missing_or_stale(conn, layer, fid, expected: Expected):
    current = current_version(conn, layer, fid)
    if current is None:
        if expected.any_version:  # If-Match: * asserts that the feature exists
            raise VersionConflict(f"collection {layer.id!r} has no feature {fid} (If-Match: * needs one)")
        raise NotFound(f"collection {layer.id!r} has no feature {fid}")
    raise VersionConflict(f"feature {fid} is at version {current} (ETag \"{current}\"), If-Match named "
                          f"{expected.describe()}: someone else changed it, or the ETag is not one of this "
                          "feature's; fetch it again and reapply your edit")


# History entries about a feature's attachments (gis/data/attachments.py), not about the feature itself.
ATTACHMENT_ACTIONS = ("attach", "detach", "publish", "unpublish")
_ATTACHMENT_ACTIONS_SQL = ", ".join(f"'{a}'" for a in ATTACHMENT_ACTIONS)


def history(conn: Connection, layer: Layer, fid: int, include_private: bool) -> list[dict]:
    # Attachments added, published and removed are listed too; to the public only those it may see.
    rows = conn.execute(text(
        "SELECT version, action, actor, at, before, after FROM feature_history h "
        f"WHERE layer = :layer AND feature_id = :id AND (:private OR action NOT IN ({_ATTACHMENT_ACTIONS_SQL}) "
        "OR EXISTS (SELECT 1 FROM attachments a WHERE a.id = (h.after->>'id')::int AND a.public)) ORDER BY id"),
        {"layer": layer.id, "id": fid, "private": include_private}).mappings().all()
    if not rows:
        raise NotFound(f"collection {layer.id!r} has no history for feature {fid}")
    hidden = {f.name for f in layer.private_fields} if not include_private else set()
    out = []
    for r in rows:
        entry = {"version": r["version"], "action": r["action"], "at": r["at"].isoformat(),
                 "actor": r["actor"] if include_private else None}
        # an attachment's uploader is hidden from the public like every actor
        drop = hidden | {"uploaded_by"} if r["action"] in ATTACHMENT_ACTIONS and not include_private else hidden
        for side in ("before", "after"):
            snap = r[side]
            entry[side] = {k: v for k, v in snap.items() if k not in drop} if snap else None
        out.append(entry)
    return out


def restore(conn: Connection, layer: Layer, fid: int, version: int, expected: Expected | None) -> int:
    """Bring a feature (also a deleted one) back to the state it had at `version`."""
    snap = conn.execute(text(
        "SELECT after FROM feature_history WHERE layer = :layer AND feature_id = :id AND version = :v "
        f"AND after IS NOT NULL AND action NOT IN ({_ATTACHMENT_ACTIONS_SQL}) ORDER BY id DESC LIMIT 1"),
        {"layer": layer.id, "id": fid, "v": version}).scalar()
    if snap is None:
        raise NotFound(f"feature {fid} of {layer.id!r} has no version {version} to restore")
    props = {f.name: _restored_value(f, snap.get(f.name)) for f in layer.fields if not f.computed}
    geom = shape(snap["geom"])
    current = current_version(conn, layer, fid)
    if current is not None:
        if expected is None:
            raise InvalidInput("feature exists: send If-Match with its current ETag to restore over it")
        return update(conn, layer, fid, props, geom, expected)
    if expected is not None and expected.any_version:
        raise VersionConflict(f"collection {layer.id!r} has no feature {fid} (If-Match: * needs one); send no "
                              "If-Match to bring a deleted feature back")
    # Deleted: re-create it under its old id, continuing its version numbers.
    last = conn.execute(text("SELECT max(version) FROM feature_history WHERE layer = :layer AND feature_id = :id"),
                        {"layer": layer.id, "id": fid}).scalar()
    cols = ["id", "version", *props, "geom"]
    values = [":id", ":version", *(f":{c}" for c in props), geom_sql(layer)]
    conn.execute(text(f"INSERT INTO {layer.id} ({', '.join(cols)}) VALUES ({', '.join(values)})"),
                 {**props, "id": fid,
                  "version": last + 1, "wkb": shapely.to_wkb(geom)})
    return last + 1


def _restored_value(f: Field, value):
    return date.fromisoformat(value) if f.type == "date" and isinstance(value, str) else value


def parse_json(raw: bytes, max_bytes: int):
    """The JSON value of a request body, or InvalidInput saying why not."""
    if len(raw) > max_bytes:
        raise InvalidInput(f"request body is larger than {max_bytes // 1_000_000} MB")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidInput("body is nested too deeply") from None
    return body


def require_feature(body, hint: str = "") -> dict:
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise InvalidInput("body must be a GeoJSON Feature object ({\"type\": \"Feature\", ...})" + hint)
    return body
