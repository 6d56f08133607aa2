"""The live catalog: the layers declared in `layers/` plus layers registered at runtime (CLI or admin API),
which appear without a restart."""

from __future__ import annotations

import json
import re

from sqlalchemy import Connection, text

from gis.core.errors import Conflict, InvalidInput
from layers import CATALOG
from layers.schema import FIELD_SQL_TYPES, Layer, layer_from_dict

LAYER_ID = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
RESERVED = {"itbx", "rasters", "feature_history", "api_keys", "layer_registry", "jobs", "alembic_version",
            "spatial_ref_sys"}


def load_catalog(conn: Connection) -> dict[str, Layer]:
    layers = dict(CATALOG)
    for row in conn.execute(text("SELECT declaration FROM layer_registry ORDER BY created_at, id")):
        layer = layer_from_dict(row.declaration)
        layers.setdefault(layer.id, layer)
    return layers


def _check_identifiers(layer: Layer) -> None:
    if not LAYER_ID.match(layer.id) or layer.id in RESERVED:
        raise InvalidInput(f"layer id {layer.id!r} must be lower-case letters, digits and _ (2-63 chars), "
                           f"not one of {', '.join(sorted(RESERVED))}")
    for f in layer.fields:
        if not LAYER_ID.match(f.name) or f.name in ("id", "geom", "version", "updated_at"):
            raise InvalidInput(f"field name {f.name!r} must be lower-case letters, digits and _, "
                               "and not id/geom/version/updated_at")


def create_layer(conn: Connection, layer: Layer, metric_srid: int) -> None:
    """Create the table of a new layer (same shape as the migrated ones) and register its declaration."""
    _check_identifiers(layer)
    if layer.id in CATALOG or conn.execute(
            text("SELECT to_regclass(:t) IS NOT NULL"), {"t": layer.id}).scalar():
        raise Conflict(f"a layer or table named {layer.id!r} already exists")
    cols = ",\n  ".join(
        f"{f.name} {FIELD_SQL_TYPES[f.type]}{' NOT NULL' if f.required else ''}"
        f"{' UNIQUE' if layer.key == f.name else ''}"
        for f in layer.fields
    )
    conn.execute(text(
        f"CREATE TABLE {layer.id} (id serial PRIMARY KEY, {cols + ',' if cols else ''} "
        f"geom geometry({layer.geometry_type.upper()}, 4326) NOT NULL, "
        f"geom_3857 geometry GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED, "
        f"version integer NOT NULL DEFAULT 1, updated_at timestamptz NOT NULL DEFAULT now())"))
    conn.execute(text(f"CREATE INDEX idx_{layer.id}_geom ON {layer.id} USING gist (geom)"))
    conn.execute(text(f"CREATE INDEX idx_{layer.id}_geom_3857 ON {layer.id} USING gist (geom_3857)"))
    conn.execute(text(f"CREATE TRIGGER {layer.id}_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                      f"ON {layer.id} FOR EACH STATEMENT EXECUTE FUNCTION petakota_notify_change()"))
    if any(f.name == "area_ha" for f in layer.fields):
        conn.execute(text(f"CREATE TRIGGER {layer.id}_area_ha BEFORE INSERT OR UPDATE OF geom ON {layer.id} "
                          f"FOR EACH ROW EXECUTE FUNCTION petakota_area_ha({int(metric_srid)})"))
    conn.execute(text(f"CREATE TRIGGER {layer.id}_version BEFORE UPDATE ON {layer.id} "
                      f"FOR EACH ROW EXECUTE FUNCTION petakota_bump_version()"))
    conn.execute(text(f"CREATE TRIGGER {layer.id}_history AFTER INSERT OR UPDATE OR DELETE ON {layer.id} "
                      f"FOR EACH ROW EXECUTE FUNCTION petakota_record_history()"))
    conn.execute(text("INSERT INTO layer_registry (id, declaration) VALUES (:id, CAST(:d AS jsonb))"),
                 {"id": layer.id, "d": json.dumps(layer.to_dict(include_private=True))})
