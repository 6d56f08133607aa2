"""Change events: each row of `feature_history` about a feature's create, update or delete is an event, so
nothing is lost while a receiver is away - events are read back from PostgreSQL, never kept in memory.

Events are read in (txid, id) order, where txid is the transaction that wrote the row (migration 0012), and
only below the oldest transaction still running: every transaction below that horizon has finished, so no event
can later appear behind a reader's position (history ids alone would allow it: an id is taken at the write,
its row becomes visible at the commit). A position is therefore a pair; the event id clients see (CloudEvents
`id`, Server-Sent Events `id:`) is the history id, which leads back to the pair (`position_of`).

An event carries no feature attributes - collection, feature id, version, kind, actor and time - so a caller's
private fields never travel in one; private layers' events and actors (a person's name is personal data) go only
to callers who read that layer's private data (`for_caller`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from gis.core.errors import InvalidInput, NotFound
from gis.data.auth import Principal
from gis.data.edits import ATTACHMENT_ACTIONS
from layers.programmes import RECORDS
from layers.schema import Layer
from layers.tables import CITY_COLUMN

KINDS = ("create", "update", "delete")
PAST = {"create": "created", "update": "updated", "delete": "deleted"}
TYPE_PREFIX = "id.petakota.feature."
MAX_ID = 2**63 - 1
BATCH = 500

# The kind of a history row: a row without a "before" made the feature (created, or restored after its
# deletion), one without an "after" removed it. Rows about attachments are not events about the feature.
KIND_SQL = "CASE WHEN h.before IS NULL THEN 'create' WHEN h.after IS NULL THEN 'delete' ELSE 'update' END"
CITY_SQL = f"coalesce(h.after->>'{CITY_COLUMN}', h.before->>'{CITY_COLUMN}')"
NOT_ATTACHMENT_SQL = f"h.action NOT IN ({', '.join(repr(a) for a in ATTACHMENT_ACTIONS)})"
EVENT_COLUMNS = (f"h.id, h.txid, h.layer, h.feature_id, h.version, {KIND_SQL} AS kind, h.actor, h.at, "
                 f"{CITY_SQL} AS city")


@dataclass(frozen=True, order=True)
class Position:
    """A reader's place in the history: everything at or before (txid, id) has been read."""

    txid: int
    id: int


@dataclass(frozen=True)
class Event:
    id: int  # the history row's id: the event's stable id
    txid: int
    collection: str
    feature_id: int
    version: int
    kind: str  # create, update or delete
    actor: str | None
    at: datetime
    city: str | None  # the kab/kota the feature lies in (Kemendagri code), if known

    @property
    def position(self) -> Position:
        return Position(self.txid, self.id)

    @property
    def type(self) -> str:
        return TYPE_PREFIX + PAST[self.kind]


def horizon(conn: Connection) -> int:
    """The oldest transaction still running: every transaction below it has committed or rolled back."""
    return conn.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")).scalar_one()


def now_position(conn: Connection) -> Position:
    """The position of a reader starting now: later events are what it will read."""
    return Position(horizon(conn) - 1, MAX_ID)


def position_of(conn: Connection, history_id: int) -> Position:
    """The position just after the event `history_id` (a client's Last-Event-ID)."""
    txid = conn.execute(text("SELECT txid FROM feature_history WHERE id = :id"), {"id": history_id}).scalar()
    if txid is None:
        raise InvalidInput(f"Last-Event-ID {history_id} names no event; reconnect without it to start from now")
    return Position(txid, history_id)


def parse_event_id(value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise InvalidInput(f"Last-Event-ID must be an event id (a whole number), got {value[:40]!r}") from None
    if not 0 < number < MAX_ID:
        raise InvalidInput(f"Last-Event-ID {number} names no event")
    return number


def event_filter_sql(collections_param: str = "collections", kinds_param: str = "kinds") -> str:
    """SQL keeping event rows of the collections bound as :collections (NULL: every one) and the kinds bound."""
    return (f"{NOT_ATTACHMENT_SQL} AND (CAST(:{collections_param} AS text[]) IS NULL "
            f"OR h.layer = ANY(:{collections_param})) AND {KIND_SQL} = ANY(:{kinds_param})")


def read(conn: Connection, after: Position, collections: Sequence[str] | None = None,
         kinds: Sequence[str] = KINDS, limit: int = BATCH) -> tuple[list[Event], Position]:
    """Events after `after` (of `collections`, None: every one), in order, and the position to read on from.
    With fewer than `limit` events, everything below the horizon has been seen, so the next position is there
    even when nothing matched (a filtered reader does not scan the same rows again)."""
    edge = horizon(conn)  # a later statement sees every transaction below it finished
    rows = conn.execute(text(
        f"SELECT {EVENT_COLUMNS} FROM feature_history h WHERE (h.txid, h.id) > (:t, :i) AND h.txid < :edge "
        f"AND {event_filter_sql()} ORDER BY h.txid, h.id LIMIT :limit"),
        {"t": after.txid, "i": after.id, "edge": edge, "limit": limit,
         "collections": list(collections) if collections is not None else None, "kinds": list(kinds)}).all()
    events = [Event(*row) for row in rows]
    if len(events) == limit:
        return events, events[-1].position
    return events, max(after, Position(edge - 1, MAX_ID))


def cloud_event(event: Event, public_url: str, with_actor: bool = True) -> dict:
    """The event as a CloudEvents 1.0 structured JSON object."""
    at = event.at.isoformat()
    return {
        "specversion": "1.0",
        "id": str(event.id),
        "source": f"{public_url.rstrip('/')}/collections/{event.collection}",
        "type": event.type,
        "time": at,
        "subject": str(event.feature_id),
        "datacontenttype": "application/json",
        "data": {"collection": event.collection, "featureId": event.feature_id, "version": event.version,
                 "kind": event.kind, "actor": event.actor if with_actor else None, "time": at},
    }


# --- who sees which events -----------------------------------------------------------------------------------


def reads_records(who: Principal) -> bool:
    """Programme records have row-level visibility (public programmes, a camat's kecamatan); their events go
    only to keys that read every record."""
    return who.reads_all_private and who.kecamatan is None


def collections_for(who: Principal, layers: dict[str, Layer], names: Sequence[str] | None) -> list[str]:
    """The collections a caller's stream carries: those named (each checked), or every one it may see."""
    if not names:
        return [lid for lid, layer in layers.items() if who.sees_layer(layer)] + (
            list(RECORDS) if reads_records(who) else [])
    out = []
    for name in dict.fromkeys(n.strip() for n in names if n.strip()):
        layer = layers.get(name)
        if (layer is not None and who.sees_layer(layer)) or (name in RECORDS and reads_records(who)):
            out.append(name)
        else:
            raise NotFound(f"no collection {name[:100]!r} with events for this caller; see /collections")
    if not out:
        raise InvalidInput("collections names no collection: give ids separated by commas, or leave it out")
    return out


def for_caller(event: Event, who: Principal, layer: Layer | None) -> tuple[bool, bool]:
    """(whether the caller sees the event, whether it sees its actor). A key limited to cities reads a
    private layer's events, and any actor, only in its cities."""
    if layer is None:  # a record collection (collections_for allowed it) or a layer removed since
        return reads_records(who), reads_records(who)
    private_here = who.may_read_layer(layer.id) and (who.cities is None or event.city in who.cities)
    return (layer.public or private_here), private_here
