"""A city's ITBX table in the database: the rules of its active RDTR, per sub-zone and KBLI code or activity."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

COLUMNS = ("kodszn", "kbli", "kegiatan", "ketentuan", "syarat")


def read(conn: Connection, city: str) -> pd.DataFrame:
    """The city's ITBX rows (columns kodszn, kbli, kegiatan, ketentuan, syarat), in a stable order."""
    rows = conn.execute(text(f"SELECT {', '.join(COLUMNS)} FROM itbx WHERE kabkota = :c "
                             "ORDER BY kodszn, kbli NULLS LAST, kegiatan"), {"c": city}).all()
    return pd.DataFrame([dict(r._mapping) for r in rows], columns=list(COLUMNS))


def replace(conn: Connection, city: str, rules: pd.DataFrame | list[dict]) -> int:
    """Make `rules` the city's whole ITBX table (inside the caller's transaction). Returns the row count."""
    records = rules.to_dict("records") if isinstance(rules, pd.DataFrame) else list(rules)
    conn.execute(text("DELETE FROM itbx WHERE kabkota = :c"), {"c": city})
    if records:
        conn.execute(text(f"INSERT INTO itbx (kabkota, {', '.join(COLUMNS)}) "
                          f"VALUES (:kabkota, {', '.join(':' + c for c in COLUMNS)})"),
                     [{"kabkota": city, **{c: _plain(r.get(c)) for c in COLUMNS}} for r in records])
    return len(records)


def _plain(value):
    """None for pandas' missing values, the value otherwise."""
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value
