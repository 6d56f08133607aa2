"""The layer catalog as the service sees it: declarations plus what the database holds."""

from __future__ import annotations

from sqlalchemy import Connection, text

from layers import CATALOG


def layer_summaries(conn: Connection, include_private: bool = False) -> list[dict]:
    """Every layer a caller may see, with feature count and extent (lon/lat)."""
    visible = [layer for layer in CATALOG.values() if layer.public or include_private]
    if not visible:
        return []
    # One round trip: count and extent per table.
    sql = " UNION ALL ".join(
        f"SELECT '{layer.id}' AS id, count(*) AS n, ST_Extent(geom) AS ext FROM {layer.id}" for layer in visible
    )
    stats = {row.id: row for row in conn.execute(text(
        f"SELECT id, n, ST_XMin(ext) x0, ST_YMin(ext) y0, ST_XMax(ext) x1, ST_YMax(ext) y1 FROM ({sql}) s"))}
    out = []
    for layer in visible:
        s = stats[layer.id]
        out.append({
            **layer.to_dict(include_private=include_private),
            "feature_count": s.n,
            "bbox": [s.x0, s.y0, s.x1, s.y1] if s.x0 is not None else None,
        })
    return out
