"""A city's RDTR versions in the database. Activating a plan replaces the city's zoning, special-provision
overlays and ITBX in one transaction (readers see the old plan until it commits, then the new one), keeps every
plan's features as a dated version (`rdtr_plans`, `rdtr_plan_features`) with who imported it, and records each
zone's insertion and deletion in the feature history. Rolling back re-activates a kept version."""

from __future__ import annotations

import dataclasses
import json

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, text

from gis.core.errors import NotFound
from gis.data import itbx as itbx_table
from gis.data import store
from layers import CATALOG

LAYERS = ("zoning", "zoning_overlays")
# Columns of the live tables that are PetaKota's own, not the plan's.
OWN_COLUMNS = ("id", "geom", "geom_3857", "version", "updated_at", "kabkota", "area_ha", "rdtr_versi")


@dataclasses.dataclass(frozen=True)
class PlanVersion:
    version: int
    imported_at: str
    imported_by: str
    source: str | None
    zones: int
    active: bool
    content_hash: str

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def versions(conn: Connection, city: str) -> list[PlanVersion]:
    rows = conn.execute(text(
        "SELECT version, imported_at, imported_by, source, zones, active, content_hash FROM rdtr_plans "
        "WHERE kabkota = :c ORDER BY version"), {"c": city}).all()
    return [PlanVersion(r.version, r.imported_at.isoformat(), r.imported_by, r.source, r.zones, r.active,
                        r.content_hash) for r in rows]


def active_hash(conn: Connection, city: str) -> str | None:
    return conn.execute(text("SELECT content_hash FROM rdtr_plans WHERE kabkota = :c AND active"),
                        {"c": city}).scalar()


def activate(conn: Connection, city: str, zones: gpd.GeoDataFrame, overlays: gpd.GeoDataFrame,
             rules: pd.DataFrame, *, actor: str, source: str, content_hash: str, report: dict | None = None) -> int:
    """Make a checked plan the city's active plan, inside the caller's transaction. `zones`/`overlays` are in
    EPSG:4326 with the live tables' column names. Returns the new version number."""
    _lock(conn, city, actor)
    _keep_unversioned(conn, city)
    version = conn.execute(text("SELECT coalesce(max(version), 0) + 1 FROM rdtr_plans WHERE kabkota = :c"),
                           {"c": city}).scalar()
    plan_id = conn.execute(text(
        "INSERT INTO rdtr_plans (kabkota, version, imported_by, source, zones, content_hash, report, itbx) "
        "VALUES (:c, :v, :by, :src, :n, :h, CAST(:r AS jsonb), CAST(:i AS jsonb)) RETURNING id"),
        {"c": city, "v": version, "by": actor, "src": source, "n": len(zones), "h": content_hash,
         "r": json.dumps(report) if report is not None else None,
         "i": rules.astype(object).where(rules.notna(), None).to_json(orient="records")}).scalar()
    _write_live(conn, city, version, zones, overlays, rules)
    _archive_live(conn, city, plan_id)
    _set_active(conn, city, plan_id)
    return version


def rollback(conn: Connection, city: str, version: int, *, actor: str) -> None:
    """Re-activate a kept version of the city's plan (its zones, overlays and ITBX), inside the caller's
    transaction."""
    _lock(conn, city, actor)
    plan = conn.execute(text("SELECT id, itbx FROM rdtr_plans WHERE kabkota = :c AND version = :v"),
                        {"c": city, "v": version}).one_or_none()
    if plan is None:
        raise NotFound(f"city {city} has no RDTR version {version}; versions: "
                       + ", ".join(str(v.version) for v in versions(conn, city)))
    zones, overlays = (kept_features(conn, plan.id, layer) for layer in LAYERS)
    _write_live(conn, city, version, zones, overlays, pd.DataFrame(plan.itbx, columns=list(itbx_table.COLUMNS)))
    _set_active(conn, city, plan.id)


def kept_features(conn: Connection, plan_id: int, layer: str) -> gpd.GeoDataFrame:
    rows = conn.execute(text("SELECT properties, ST_AsBinary(geom) AS wkb FROM rdtr_plan_features "
                             "WHERE plan_id = :p AND layer = :l ORDER BY id"), {"p": plan_id, "l": layer}).all()
    geoms = gpd.GeoSeries.from_wkb([bytes(r.wkb) for r in rows], crs=4326)
    return gpd.GeoDataFrame([r.properties for r in rows], geometry=geoms, crs=4326)


def plan_id(conn: Connection, city: str, version: int | None = None) -> int:
    """The id of a version of the city's plan (the active one when `version` is None)."""
    found = conn.execute(text("SELECT id FROM rdtr_plans WHERE kabkota = :c AND "
                              + ("active" if version is None else "version = :v")),
                         {"c": city, "v": version}).scalar()
    if found is None:
        raise NotFound(f"city {city} has no {'active RDTR' if version is None else f'RDTR version {version}'}")
    return found


def compare(conn: Connection, city: str, a: int, b: int, metric_srid: int) -> dict:
    """What changed from version `a` to `b`: hectares per sub-zone (KODSZN) in each, and the sub-blocks
    (KODBLK, KODSBL) added, removed or changed (attributes or geometry)."""
    ids = {v: plan_id(conn, city, v) for v in (a, b)}
    areas = conn.execute(text(
        "SELECT properties->>'kodszn' AS kodszn, plan_id, sum(ST_Area(ST_Transform(geom, :srid))) / 1e4 AS ha "
        "FROM rdtr_plan_features WHERE plan_id = ANY(:ids) AND layer = 'zoning' GROUP BY 1, 2"),
        {"srid": metric_srid, "ids": list(ids.values())}).all()
    by_code: dict[str, dict] = {}
    for r in areas:
        entry = by_code.setdefault(r.kodszn, {"kodszn": r.kodszn, "ha_a": 0.0, "ha_b": 0.0})
        entry["ha_a" if r.plan_id == ids[a] else "ha_b"] += r.ha
    changes = conn.execute(text("""
        WITH x AS (SELECT plan_id, concat_ws('/', properties->>'kodblk', properties->>'kodsbl') AS sub_block,
                          md5(properties::text || ST_AsBinary(geom)::text) AS digest
                   FROM rdtr_plan_features WHERE plan_id = ANY(:ids) AND layer = 'zoning')
        SELECT count(*) FILTER (WHERE a.digest IS NULL) AS added, count(*) FILTER (WHERE b.digest IS NULL) AS removed,
               count(*) FILTER (WHERE a.digest <> b.digest) AS changed
        FROM (SELECT * FROM x WHERE plan_id = :a) a
        FULL JOIN (SELECT * FROM x WHERE plan_id = :b) b ON a.sub_block = b.sub_block"""),
        {"ids": list(ids.values()), "a": ids[a], "b": ids[b]}).one()
    zones = [{**e, "ha_a": round(e["ha_a"], 4), "ha_b": round(e["ha_b"], 4),
              "change_ha": round(e["ha_b"] - e["ha_a"], 4)} for _, e in sorted(by_code.items())]
    return {"city": city, "from": a, "to": b, "added": changes.added, "removed": changes.removed,
            "changed": changes.changed, "zones": zones}


def _lock(conn: Connection, city: str, actor: str) -> None:
    """One plan change per city at a time; the history records `actor`; the zones belong to `city`."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('rdtr:' || :c))"), {"c": city})
    conn.execute(text("SELECT set_config('petakota.actor', :a, true), set_config('petakota.plan_city', :c, true)"),
                 {"a": actor, "c": city})


def _keep_unversioned(conn: Connection, city: str) -> None:
    """Zoning held before the city's first import (no plan version) is kept as version 0, so nothing is lost."""
    if conn.execute(text("SELECT 1 FROM rdtr_plans WHERE kabkota = :c LIMIT 1"), {"c": city}).first():
        return
    n = conn.execute(text("SELECT count(*) FROM zoning WHERE kabkota = :c"), {"c": city}).scalar()
    if not n:
        return
    old = conn.execute(text(
        "INSERT INTO rdtr_plans (kabkota, version, imported_by, source, zones, content_hash, itbx) "
        "SELECT :c, 0, 'PetaKota', 'zonasi sebelum impor RDTR pertama / zoning held before the first import', :n, "
        "'', coalesce(jsonb_agg(jsonb_build_object('kodszn', kodszn, 'kbli', kbli, 'kegiatan', kegiatan, "
        "'ketentuan', ketentuan, 'syarat', syarat)), '[]') FROM itbx WHERE kabkota = :c RETURNING id"),
        {"c": city, "n": n}).scalar()
    _archive_live(conn, city, old)


def _write_live(conn: Connection, city: str, version: int, zones: gpd.GeoDataFrame, overlays: gpd.GeoDataFrame,
                rules: pd.DataFrame) -> None:
    if "kelurahan_kode" not in zones.columns or zones["kelurahan_kode"].isna().all():
        zones = zones.assign(kelurahan_kode=_kelurahan_of(conn, city, zones))
    for layer_id, gdf in zip(LAYERS, (zones, overlays), strict=True):
        conn.execute(text(f"DELETE FROM {layer_id} WHERE kabkota = :c"), {"c": city})
        if len(gdf):
            store.insert_features(conn, CATALOG[layer_id], gdf.assign(rdtr_versi=version))
    itbx_table.replace(conn, city, rules)
    conn.execute(text(f"ANALYZE {', '.join(LAYERS)}"))


def _kelurahan_of(conn: Connection, city: str, zones: gpd.GeoDataFrame) -> list:
    """Each zone's kelurahan/desa: the one of the city holding a point on the zone's surface."""
    kel = gpd.read_postgis(text("SELECT kode, geom FROM kelurahan WHERE kabkota = :c"), conn, params={"c": city},
                           geom_col="geom")
    if kel.empty or zones.empty:
        return [None] * len(zones)
    points = gpd.GeoDataFrame(geometry=zones.geometry.representative_point().values, crs=4326)
    kel = kel.to_crs(4326)
    found = gpd.sjoin(points, kel, how="left", predicate="within")
    found = found[~found.index.duplicated()]["kode"].reindex(range(len(zones)))
    missed = found.isna()
    if missed.any():  # a point in a sliver between published boundaries: the nearest kelurahan/desa
        metric = points[missed.values].to_crs(32647)
        near = gpd.sjoin_nearest(metric, kel.to_crs(32647), how="left")
        found[missed.values] = near[~near.index.duplicated()]["kode"].values
    return [None if pd.isna(k) else k for k in found]


def _archive_live(conn: Connection, city: str, plan: int) -> None:
    for layer_id in LAYERS:
        dropped = " - ".join(f"'{c}'" for c in OWN_COLUMNS)
        conn.execute(text(
            f"INSERT INTO rdtr_plan_features (plan_id, layer, properties, geom) "
            f"SELECT :p, :l, jsonb_strip_nulls(to_jsonb(t) - {dropped}), ST_Multi(geom) FROM {layer_id} t "
            f"WHERE kabkota = :c ORDER BY id"), {"p": plan, "l": layer_id, "c": city})


def _set_active(conn: Connection, city: str, plan: int) -> None:
    conn.execute(text("UPDATE rdtr_plans SET active = false WHERE kabkota = :c AND active AND id <> :p"),
                 {"c": city, "p": plan})
    conn.execute(text("UPDATE rdtr_plans SET active = true WHERE id = :p"), {"p": plan})
