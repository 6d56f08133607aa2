"""Reads on the streaming read replica, writes on the primary, and read-your-writes between them.

A request that only reads (GET, HEAD, OPTIONS) is served by the replica when the replica has replayed the
primary's WAL at least up to
- the position the caller was handed after its last write (so a writer sees its own edit at once), and
- the newest change this process has heard of (so a cache filled after an edit is never filled from older data);
otherwise by the primary. A replica that cannot be reached is left alone for a few seconds and reads go to the
primary meanwhile. Everything outside a read request (writes, workers, the CLI) uses the primary.

The service's engine is a `RoutingEngine`: `connect()` inside a read request goes where the router says,
`begin()` (a transaction, i.e. a write) always goes to the primary.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger("petakota")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NOT_A_STANDBY = 1 << 64  # a "replica" that is not in recovery holds everything it has: never behind
SHORT_PAGE_HEADER, LONG_PAGE_HEADER = 24, 40  # bytes at the start of a WAL page (of a segment's first page)
REPLICA_APPLICATION = "petakota-read"  # application_name of the replica's connections (pg_stat_activity)


def parse_lsn(value: str | None) -> int | None:
    """A WAL position as PostgreSQL writes it ('16/B374D848') as a number; None when it is not one."""
    if not value:
        return None
    high, sep, low = value.strip().partition("/")
    if not sep or not (0 < len(high) <= 8 and 0 < len(low) <= 8):
        return None
    try:
        return (int(high, 16) << 32) | int(low, 16)
    except ValueError:
        return None


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def primary_position(conn: Connection) -> int:
    """The primary's WAL insert position, as a standby reports the end of the last record it replayed.
    Right after a page boundary the insert position points past the new page's header, which no record
    ends in: the position is then the boundary itself (else a standby could not reach it until the next write)."""
    lsn, block, segment = conn.execute(text(
        "SELECT pg_current_wal_insert_lsn()::text, current_setting('wal_block_size')::int, "
        "pg_size_bytes(current_setting('wal_segment_size'))")).one()
    position = parse_lsn(lsn)
    if position % segment == LONG_PAGE_HEADER:
        return position - LONG_PAGE_HEADER
    if position % block == SHORT_PAGE_HEADER:
        return position - SHORT_PAGE_HEADER
    return position


@dataclass
class ReadRoute:
    """One read request: the WAL position it needs, and the engine it settled on (one per request, so that
    its queries see one database)."""

    min_lsn: int = 0
    engine: Engine | None = None


_current_route: ContextVar[ReadRoute | None] = ContextVar("petakota_read_route", default=None)


@contextlib.contextmanager
def reading(caller_lsn: int | None = None) -> Iterator[ReadRoute]:
    """Marks the code inside (and the threads it hands work to) as a read that may go to the replica."""
    route = ReadRoute(caller_lsn or 0)
    token = _current_route.set(route)
    try:
        yield route
    finally:
        _current_route.reset(token)


def current_route() -> ReadRoute | None:
    return _current_route.get()


class ReplicaRouter:
    """Decides, per request, between the primary and the read replica."""

    def __init__(self, primary: Engine, replica: Engine, position_ttl: float = 0.005, down_seconds: float = 5.0):
        self.primary = primary
        self.replica = replica
        self.position_ttl = position_ttl  # the replica's replay position is asked at most this often
        self.down_seconds = down_seconds  # an unreachable replica is tried again after this long
        self.floor = 0  # the newest change this process has heard of (a primary WAL position)
        self._position = 0
        self._checked_at = -1e9
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._floor_lock = threading.Lock()

    def engine_for(self, method: str, caller_lsn: int | None = None) -> Engine:
        """The engine for a request: the replica for a read when it is up and has replayed the caller's last
        write and every change this process has heard of; the primary otherwise."""
        if method.upper() not in READ_METHODS:
            return self.primary
        return self.replica if self.replica_ready(max(caller_lsn or 0, self.floor)) else self.primary

    def replica_ready(self, needed: int) -> bool:
        now = time.monotonic()
        if now < self._down_until:
            return False
        if self._position >= needed:  # replay only moves forward
            return True
        if now - self._checked_at < self.position_ttl:
            return False
        with self._lock:
            if time.monotonic() - self._checked_at >= self.position_ttl:
                self._refresh_position()
        return self._position >= needed and time.monotonic() >= self._down_until

    def _refresh_position(self) -> None:
        try:
            with self.replica.connect() as conn:
                replayed = conn.execute(text("SELECT pg_last_wal_replay_lsn()::text")).scalar()
        except DBAPIError as exc:
            self.mark_down(exc)
            return
        finally:
            self._checked_at = time.monotonic()
        self._position = NOT_A_STANDBY if replayed is None else parse_lsn(replayed) or 0

    def replica_position(self) -> int | None:
        """The replica's replay position as last seen (None while it is marked down)."""
        return None if time.monotonic() < self._down_until else self._position

    def primary_position(self) -> int:
        """The primary's WAL insert position now: at or past the end of every transaction committed so far
        (asynchronous commits included, which the flushed position may not yet reach)."""
        with self.primary.connect() as conn:
            return primary_position(conn)

    def saw_change(self) -> None:
        """A layer changed (this process's write or another's NOTIFY): reads must now see at least this far."""
        try:
            position = self.primary_position()
            with self._floor_lock:  # the listener thread and request threads raise it concurrently
                self.floor = max(self.floor, position)
        except DBAPIError as exc:
            log.warning("could not read the primary's WAL position (%s)", exc.__class__.__name__)

    def mark_down(self, exc: Exception) -> None:
        if time.monotonic() >= self._down_until:
            log.warning("read replica unreachable (%s); reading from the primary for %.0f s",
                        exc.__class__.__name__, self.down_seconds)
        self._down_until = time.monotonic() + self.down_seconds
        self.replica.dispose()  # its pooled connections are dead: never hand them out again

    def connect_for(self, route: ReadRoute) -> Connection:
        """A connection for a read request: on the engine it settled on, else the one chosen now; the primary
        when the replica cannot be reached."""
        if route.engine is None or (route.engine is self.replica and time.monotonic() < self._down_until):
            route.engine = self.engine_for("GET", route.min_lsn)
        if route.engine is self.replica:
            try:
                return self.replica.connect()
            except DBAPIError as exc:
                self.mark_down(exc)
                route.engine = self.primary
        return self.primary.connect()


class RoutingEngine(Engine):
    """The primary's engine, except that `connect()` within a read request goes where the router says.
    `begin()` is a transaction, i.e. a write: always the primary."""

    def __init__(self, router: ReplicaRouter):
        primary = router.primary
        super().__init__(primary.pool, primary.dialect, primary.url, query_cache_size=0)
        self.router = router

    def connect(self) -> Connection:
        route = _current_route.get()
        if route is None:
            return self.router.primary.connect()
        return self.router.connect_for(route)

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.router.primary.begin() as conn:
            yield conn

    def raw_connection(self):
        return self.router.primary.raw_connection()

    def dispose(self, close: bool = True) -> None:
        self.router.primary.dispose(close)
        self.router.replica.dispose(close)

    def __repr__(self) -> str:
        return f"RoutingEngine(primary={self.router.primary.url!r}, replica={self.router.replica.url!r})"
