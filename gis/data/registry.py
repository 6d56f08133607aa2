"""The live catalog: the layers declared in `layers/` plus layers registered at runtime (CLI or admin API),
which appear without a restart."""

from __future__ import annotations

import json
import re

from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql.base import RESERVED_WORDS

from gis.core.errors import Conflict, InvalidInput, NotFound
from layers import CATALOG
from layers.schema import Layer, layer_from_dict
from layers.tables import layer_ddl

# At most 48 characters, so that the names derived from it (idx_<id>_geom_3857) fit PostgreSQL's 63.
LAYER_ID = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
RESERVED = {"itbx", "attachments", "rdtr_plans", "rdtr_plan_features",
            "rasters", "feature_history", "api_keys", "layer_registry", "jobs", "alembic_version",
            "spatial_ref_sys", "metadata", "metadata_history", "catalog"}
TABLE_COLUMNS = {"id", "geom", "geom_3857", "version", "updated_at", "kabkota"}


def load_catalog(conn: Connection) -> dict[str, Layer]:
    layers = dict(CATALOG)
    for row in conn.execute(text("SELECT declaration FROM layer_registry ORDER BY created_at, id")):
        layer = layer_from_dict(row.declaration)
        layers.setdefault(layer.id, layer)
    return layers


def find_layer(conn: Connection, layer_id: str) -> Layer:
    """One layer of the live catalog (a built-in one, else a registered one), or NotFound."""
    if layer_id in CATALOG:
        return CATALOG[layer_id]
    declaration = conn.execute(text("SELECT declaration FROM layer_registry WHERE id = :id"),
                               {"id": layer_id}).scalar()
    if declaration is None:
        raise NotFound(f"no layer {layer_id[:100]!r}")
    return layer_from_dict(declaration)


def _check_identifiers(layer: Layer) -> None:
    # SQL keywords are refused: layer and field names are written into SQL unquoted throughout.
    if not LAYER_ID.match(layer.id) or layer.id in RESERVED or layer.id in RESERVED_WORDS:
        raise InvalidInput(f"layer id {layer.id!r} must be lower-case letters, digits and _ (2-48 chars), "
                           f"not an SQL keyword nor one of {', '.join(sorted(RESERVED))}")
    for f in layer.fields:
        if not FIELD_NAME.match(f.name) or f.name in TABLE_COLUMNS or f.name in RESERVED_WORDS:
            raise InvalidInput(f"field name {f.name!r} must be lower-case letters, digits and _, not an SQL "
                               f"keyword nor one of {', '.join(sorted(TABLE_COLUMNS))}")


def create_layer(conn: Connection, layer: Layer, metric_srid: int) -> None:
    """Create the table of a new layer (same shape as the migrated ones) and register its declaration."""
    _check_identifiers(layer)
    if layer.id in CATALOG or conn.execute(
            text("SELECT to_regclass(:t) IS NOT NULL"), {"t": layer.id}).scalar():
        raise Conflict(f"a layer or table named {layer.id!r} already exists")
    for statement in layer_ddl(layer, metric_srid):
        conn.exec_driver_sql(statement)
    conn.execute(text("INSERT INTO layer_registry (id, declaration) VALUES (:id, CAST(:d AS jsonb))"),
                 {"id": layer.id, "d": json.dumps(layer.to_dict(include_private=True))})
