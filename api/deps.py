"""Request dependencies: who is calling, the services built in the lifespan (catalog, tiles), the layer a caller
may see."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from gis.core.errors import Forbidden, Unauthorized
from gis.data.auth import ANONYMOUS, Principal, principal_for
from gis.data.catalog import CatalogService
from gis.data.writer import FeatureWriter
from gis.processes.jobs import JobService
from gis.tiles.service import TileService
from layers.schema import Layer

CACHE_SECONDS = 2.0  # new layers and revoked keys take effect within this time, without a restart


class TtlCache:
    """A tiny per-process cache; values older than `ttl` are fetched again."""

    def __init__(self, ttl: float):
        self.ttl = ttl
        self._items: dict = {}

    def get(self, key, fetch):
        now = time.monotonic()
        hit = self._items.get(key)
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        value = fetch()
        if len(self._items) > 10_000:
            self._items.clear()
        self._items[key] = (now, value)
        return value

    def peek(self, key):
        """The cached value if still fresh, else None (never fetches)."""
        hit = self._items.get(key)
        return hit[1] if hit and time.monotonic() - hit[0] < self.ttl else None

    def fresh(self, key) -> bool:
        return self.peek(key) is not None

    def clear(self) -> None:
        self._items.clear()


def api_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return None


async def principal(request: Request) -> Principal:
    """Async, so that anonymous requests and known keys cost no thread hop (cached tiles stay cheap)."""
    key = api_key(request)
    if not key:
        return ANONYMOUS
    state = request.app.state

    def lookup():
        with state.engine.connect() as conn:
            return principal_for(conn, key)

    def cached():
        return state.key_cache.get(key, lookup)

    who = state.key_cache.peek(key) if state.key_cache.fresh(key) else await run_in_threadpool(cached)
    if who is None:
        raise Unauthorized("the API key is not valid or has been revoked")
    return who


Caller = Annotated[Principal, Depends(principal)]


def job_service(request: Request) -> JobService:
    return request.app.state.jobs


Jobs = Annotated[JobService, Depends(job_service)]


def require(role: str):
    def check(who: Caller) -> Principal:
        if not who.can(role):
            if who.role == "anonymous":
                raise Unauthorized(f"this needs an API key with the {role} role (header X-API-Key)")
            raise Forbidden(f"this needs the {role} role; your key has the {who.role} role")
        return who

    return check


async def catalog_service(request: Request) -> CatalogService:
    """Async: a dependency that returns a service must not cost a thread hop (cached tiles stay cheap)."""
    return request.app.state.catalog


async def tile_service(request: Request) -> TileService:
    return request.app.state.tiles


Catalog = Annotated[CatalogService, Depends(catalog_service)]
Tiles = Annotated[TileService, Depends(tile_service)]


def catalog(request: Request) -> dict[str, Layer]:
    return request.app.state.catalog.layers()


def visible_layers(request: Request, who: Principal) -> list[Layer]:
    return request.app.state.catalog.visible(who)


def layer_for(request: Request, collection_id: str, who: Principal) -> Layer:
    return request.app.state.catalog.layer(collection_id, who)


def feature_writer(request: Request) -> FeatureWriter:
    """The writer built in the app's lifespan (one per process)."""
    return request.app.state.feature_writer


Writer = Annotated[FeatureWriter, Depends(feature_writer)]
