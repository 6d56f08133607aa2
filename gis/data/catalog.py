"""What the database holds for each layer: feature count and extent, cheaply on big tables."""

from __future__ import annotations

from sqlalchemy import Connection, text

from layers.schema import Layer

EXACT_BELOW = 100_000  # rows; bigger tables report the planner's estimates (no full scans for metadata)


def layer_stats(conn: Connection, layers: list[Layer]) -> dict[str, dict]:
    """layer id -> {"feature_count", "bbox" [w, s, e, n] in lon/lat or None}."""
    if not layers:
        return {}
    ids = [layer.id for layer in layers]
    estimates = dict(conn.execute(text(
        "SELECT relname, reltuples::bigint FROM pg_class WHERE relname = ANY(:ids) AND relkind = 'r'"),
        {"ids": ids}).all())
    parts = []
    for layer in layers:
        if estimates.get(layer.id, -1) >= EXACT_BELOW:
            parts.append(f"SELECT '{layer.id}' AS id, {int(estimates[layer.id])}::bigint AS n, "
                         f"ST_EstimatedExtent('{layer.id}', 'geom')::geometry AS ext")
        else:
            parts.append(f"SELECT '{layer.id}' AS id, count(*) AS n, ST_Extent(geom)::geometry AS ext "
                         f"FROM {layer.id}")
    rows = conn.execute(text(
        f"SELECT id, n, ST_XMin(ext) x0, ST_YMin(ext) y0, ST_XMax(ext) x1, ST_YMax(ext) y1 "
        f"FROM ({' UNION ALL '.join(parts)}) s"))
    return {r.id: {"feature_count": r.n, "bbox": [r.x0, r.y0, r.x1, r.y1] if r.x0 is not None else None}
            for r in rows}


def city_bounds(conn: Connection) -> tuple[float, float, float, float] | None:
    """The city's extent (lon/lat) from the `kota` layer, None when no boundary is loaded."""
    row = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                            "(SELECT ST_Extent(geom) e FROM kota) s")).one()
    return None if row[0] is None else tuple(row)
