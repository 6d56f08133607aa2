"""Webhooks: an admin registers a URL for some collections and kinds of change; every event (gis/data/events.py)
after its registration becomes a delivery, kept in PostgreSQL until the receiver has answered 2xx.

Each webhook keeps a cursor, the last history position turned into deliveries. A service process takes a webhook
for a while (a lease, claimed with FOR UPDATE SKIP LOCKED, so several replicas never deliver the same webhook at
once), turns new history rows into deliveries, and posts them in order; a delivery that fails holds back the
later ones (events to one webhook go in history order) until it succeeds or is given up. The HTTP side is
gis/data/webhook_delivery.py."""

from __future__ import annotations

import re
import secrets as secrets_module
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Connection, text

from gis.core.errors import InvalidInput, NotFound
from gis.data.events import EVENT_COLUMNS, KINDS, MAX_ID, Event, event_filter_sql, now_position
from gis.data.registry import load_catalog
from layers.programmes import RECORDS

MIN_SECRET = 16
PUBLIC_COLUMNS = "id, url, collections, kinds, active, created_by, created_at"
ENQUEUE_BATCH = 5000  # history rows turned into deliveries per claim (a bulk import is spread over claims)
CURSOR_LAG = 1000  # transactions an idle webhook's cursor may lag behind (saves a row write on every poll)


def _url(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput("url must be a string: the receiver's http(s) address")
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(value) > 2000:
        raise InvalidInput(f"url must be an http:// or https:// address of the receiver, got {value[:80]!r}")
    return value


def _names(values: Iterable[str] | str | None, what: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = values.split(",")
    if not all(isinstance(v, str) for v in values):
        raise InvalidInput(f"{what} must be a list of strings")
    return list(dict.fromkeys(v.strip() for v in values if v.strip()))


def create(conn: Connection, url: str, created_by: str, collections: Iterable[str] | str | None = None,
           kinds: Iterable[str] | str | None = None, secret: str | None = None) -> dict:
    """Register a webhook; it gets the events from now on. Without `secret` one is made. Returns the webhook
    with its secret (the only time it is shown)."""
    url = _url(url)
    collections = _names(collections, "collections")
    known = set(load_catalog(conn)) | set(RECORDS)
    unknown = [c for c in collections if c not in known]
    if unknown:
        raise InvalidInput(f"no collections {', '.join(repr(c[:60]) for c in unknown)}; "
                           f"collections: {', '.join(sorted(known))}")
    kinds = _names(kinds, "kinds") or list(KINDS)
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise InvalidInput(f"kinds must be among {', '.join(KINDS)}, got {', '.join(map(repr, bad))}")
    if secret is None:
        secret = secrets_module.token_urlsafe(32)
    if not isinstance(secret, str) or len(secret.strip()) < MIN_SECRET or re.search(r"\s", secret.strip()):
        raise InvalidInput(f"secret must be at least {MIN_SECRET} characters without spaces (it signs every "
                           "delivery); leave it out to have one made")
    start = now_position(conn)
    row = conn.execute(text(
        "INSERT INTO webhooks (url, secret, collections, kinds, created_by, cursor_txid, cursor_id) "
        f"VALUES (:u, :s, :c, :k, :by, :t, :i) RETURNING {PUBLIC_COLUMNS}, secret"),
        {"u": url, "s": secret.strip(), "c": collections, "k": kinds, "by": created_by, "t": start.txid,
         "i": start.id}).mappings().one()
    return dict(row)


def list_webhooks(conn: Connection, webhook_id: int | None = None) -> list[dict]:
    """Every webhook (or one) with its delivery counts; never the secret."""
    rows = conn.execute(text(
        f"SELECT {', '.join('w.' + c.strip() for c in PUBLIC_COLUMNS.split(','))}, "
        "count(d.id) FILTER (WHERE d.status = 'pending') AS pending, "
        "count(d.id) FILTER (WHERE d.status = 'delivered') AS delivered, "
        "count(d.id) FILTER (WHERE d.status = 'failed') AS failed "
        "FROM webhooks w LEFT JOIN webhook_deliveries d ON d.webhook = w.id "
        "WHERE CAST(:id AS integer) IS NULL OR w.id = :id GROUP BY w.id ORDER BY w.id"),
        {"id": webhook_id}).mappings()
    out = [dict(r) for r in rows]
    if webhook_id is not None and not out:
        raise NotFound(f"no webhook with id {webhook_id}; see /admin/webhooks")
    return out


def remove(conn: Connection, webhook_id: int) -> None:
    """Delete a webhook with its deliveries and their log."""
    if not conn.execute(text("DELETE FROM webhooks WHERE id = :id"), {"id": webhook_id}).rowcount:
        raise NotFound(f"no webhook with id {webhook_id}; see /admin/webhooks")


def log(conn: Connection, webhook_id: int, limit: int = 100, status: str | None = None) -> list[dict]:
    """The webhook's latest deliveries (newest first), each with its event and every attempt."""
    list_webhooks(conn, webhook_id)  # NotFound for an unknown webhook
    if status is not None and status not in ("pending", "delivered", "failed"):
        raise InvalidInput(f"status must be pending, delivered or failed, got {status[:40]!r}")
    rows = conn.execute(text(
        "SELECT d.id, d.history_id AS event_id, h.layer AS collection, h.feature_id, h.version, d.status, "
        "d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.delivered_at, d.created_at, "
        "coalesce(json_agg(json_build_object('attempt', a.attempt, 'at', a.at, 'status', a.status, "
        "'error', a.error, 'duration_ms', round(a.duration_ms::numeric, 1)) ORDER BY a.attempt) "
        "FILTER (WHERE a.id IS NOT NULL), '[]') AS attempts_log "
        "FROM webhook_deliveries d JOIN feature_history h ON h.id = d.history_id "
        "LEFT JOIN webhook_attempts a ON a.delivery = d.id "
        "WHERE d.webhook = :w AND (CAST(:status AS text) IS NULL OR d.status = :status) "
        "GROUP BY d.id, h.id ORDER BY d.history_txid DESC, d.history_id DESC LIMIT :limit"),
        {"w": webhook_id, "limit": max(1, min(limit, 1000)), "status": status}).mappings()
    return [dict(r) for r in rows]


def resend(conn: Connection, webhook_id: int, delivery_id: int) -> dict:
    """Send a delivery that was given up again (now; its later events do not wait for it)."""
    row = conn.execute(text(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now() "
        "WHERE id = :d AND webhook = :w AND status = 'failed' RETURNING id, history_id AS event_id, status"),
        {"d": delivery_id, "w": webhook_id}).mappings().first()
    if row is None:
        exists = conn.execute(text("SELECT status FROM webhook_deliveries WHERE id = :d AND webhook = :w"),
                              {"d": delivery_id, "w": webhook_id}).scalar()
        if exists is None:
            raise NotFound(f"webhook {webhook_id} has no delivery {delivery_id}; see its log")
        raise InvalidInput(f"delivery {delivery_id} is {exists}: only a failed delivery is sent again")
    return dict(row)


# --- the queue (used by the delivery worker) ------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A delivery to attempt now, with its event."""

    id: int
    attempts: int
    event: Event


@dataclass(frozen=True)
class Claimed:
    webhook_id: int
    url: str
    secret: str
    deliveries: list[Due]


def enqueue(conn: Connection, webhook: dict) -> int:
    """Turn the history rows after the webhook's cursor into its deliveries; returns how many."""
    edge = conn.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")).scalar_one()
    made = conn.execute(text(
        "INSERT INTO webhook_deliveries (webhook, history_id, history_txid) "
        "SELECT :w, h.id, h.txid FROM feature_history h WHERE (h.txid, h.id) > (:t, :i) AND h.txid < :edge "
        f"AND {event_filter_sql()} ORDER BY h.txid, h.id LIMIT :limit "
        "ON CONFLICT (webhook, history_id) DO NOTHING RETURNING history_txid, history_id"),
        {"w": webhook["id"], "t": webhook["cursor_txid"], "i": webhook["cursor_id"], "edge": edge,
         "limit": ENQUEUE_BATCH, "collections": webhook["collections"] or None, "kinds": webhook["kinds"]}).all()
    cursor = max(made) if len(made) == ENQUEUE_BATCH else (edge - 1, MAX_ID)
    if not made and cursor[0] - webhook["cursor_txid"] < CURSOR_LAG:
        return 0  # nothing new: the cursor is written when it moved far enough to save rescanning
    conn.execute(text("UPDATE webhooks SET cursor_txid = :t, cursor_id = :i WHERE id = :w "
                      "AND (cursor_txid, cursor_id) < (:t, :i)"), {"t": cursor[0], "i": cursor[1], "w": webhook["id"]})
    return len(made)


def claim(conn: Connection, worker: str, lease_seconds: float, skip: Sequence[int], batch: int = 50) -> \
        Claimed | None | int:
    """Take the next webhook no process holds (skipping `skip`), enqueue its new events, and lease it if it has
    deliveries due: returns them in order (stopping at the first not yet due), the webhook's id when it has
    nothing due, or None when no webhook is left to look at."""
    webhook = conn.execute(text(
        "SELECT id, url, secret, collections, kinds, cursor_txid, cursor_id FROM webhooks "
        "WHERE active AND (lease_until IS NULL OR lease_until < now()) AND id <> ALL(CAST(:skip AS integer[])) "
        "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"), {"skip": list(skip)}).mappings().first()
    if webhook is None:
        return None
    enqueue(conn, webhook)
    rows = conn.execute(text(
        f"SELECT d.id AS delivery_id, d.attempts, d.next_attempt_at <= now() AS due, {EVENT_COLUMNS} "
        "FROM webhook_deliveries d JOIN feature_history h ON h.id = d.history_id "
        "WHERE d.webhook = :w AND d.status = 'pending' ORDER BY d.history_txid, d.history_id LIMIT :batch"),
        {"w": webhook["id"], "batch": batch}).all()
    due = []
    for row in rows:
        if not row.due:
            break
        due.append(Due(row.delivery_id, row.attempts, Event(*row[3:])))
    if not due:
        return webhook["id"]
    conn.execute(text("UPDATE webhooks SET lease_until = now() + make_interval(secs => :s), leased_by = :me "
                      "WHERE id = :w"), {"s": lease_seconds, "me": worker, "w": webhook["id"]})
    return Claimed(webhook["id"], webhook["url"], webhook["secret"], due)


def record_attempt(conn: Connection, webhook_id: int, delivery: Due, worker: str, status: int | None,
                   error: str | None, duration_ms: float, retry_seconds: float, give_up_hours: float,
                   lease_seconds: float) -> str | None:
    """Log one attempt and set the delivery's state (delivered on 2xx; else pending again after
    `retry_seconds`, or failed once it has failed for `give_up_hours`); renews the lease. Returns the new
    status (None when the delivery was deleted meanwhile)."""
    ok = status is not None and 200 <= status < 300
    new = conn.execute(text(
        "UPDATE webhook_deliveries d SET attempts = d.attempts + 1, last_status = :code, last_error = :error, "
        "status = CASE WHEN :ok THEN 'delivered' WHEN now() - coalesce((SELECT min(a.at) FROM webhook_attempts a "
        "WHERE a.delivery = d.id), now()) > make_interval(secs => CAST(:give_up AS double precision) * 3600) "
        "THEN 'failed' ELSE 'pending' END, "
        "next_attempt_at = now() + make_interval(secs => :retry), "
        "delivered_at = CASE WHEN :ok THEN now() END WHERE d.id = :d RETURNING d.attempts, d.status"),
        {"code": status, "error": error, "ok": ok, "give_up": give_up_hours, "retry": retry_seconds,
         "d": delivery.id}).first()
    if new is None:
        return None
    conn.execute(text("INSERT INTO webhook_attempts (delivery, attempt, status, error, duration_ms) "
                      "VALUES (:d, :n, :code, :error, :ms)"),
                 {"d": delivery.id, "n": new.attempts, "code": status, "error": error, "ms": duration_ms})
    conn.execute(text("UPDATE webhooks SET lease_until = now() + make_interval(secs => :s) "
                      "WHERE id = :w AND leased_by = :me"), {"s": lease_seconds, "w": webhook_id, "me": worker})
    return new.status


def prune(conn: Connection, days: float) -> int:
    """Forget deliveries delivered more than `days` ago (with their attempts); returns how many."""
    return conn.execute(text("DELETE FROM webhook_deliveries WHERE status = 'delivered' AND delivered_at < now() - "
                             "make_interval(secs => CAST(:days AS double precision) * 86400)"), {"days": days}).rowcount


def release(conn: Connection, webhook_id: int, worker: str) -> None:
    conn.execute(text("UPDATE webhooks SET lease_until = NULL, leased_by = NULL WHERE id = :w AND leased_by = :me"),
                 {"w": webhook_id, "me": worker})
