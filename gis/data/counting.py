"""Queries that must answer within a time budget. OGC API - Features wants `numberMatched` exact whenever it is
given, and a full COUNT over a big table can take seconds: the count runs with a statement timeout, and one
that would take longer is left out instead of guessed."""

from __future__ import annotations

import psycopg
from sqlalchemy import Connection, Row, text
from sqlalchemy.exc import OperationalError


def within_budget(conn: Connection, budget_ms: int, sql: str, params: dict | None = None) -> Row | None:
    """The single row `sql` returns, or None when it takes longer than `budget_ms` milliseconds. The timeout
    holds for this query only (a savepoint), so the caller's transaction goes on unharmed."""
    try:
        with conn.begin_nested():
            previous = conn.execute(text("SELECT current_setting('statement_timeout')")).scalar_one()
            conn.execute(text("SELECT set_config('statement_timeout', :t, true)"), {"t": f"{max(int(budget_ms), 1)}ms"})
            row = conn.execute(text(sql), params or {}).one()
            conn.execute(text("SELECT set_config('statement_timeout', :t, true)"), {"t": previous})
            return row
    except OperationalError as exc:
        if isinstance(exc.orig, psycopg.errors.QueryCanceled):
            return None
        raise


def count_within(conn: Connection, budget_ms: int, sql: str, params: dict | None = None) -> int | None:
    """The number `sql` selects (e.g. a `SELECT count(*) ...`), or None when counting exceeds the budget."""
    row = within_budget(conn, budget_ms, sql, params)
    return None if row is None else int(row[0])
