"""The FastAPI application factory."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from api import errors
from api.bodylimit import BodyLimitMiddleware
from api.deps import CACHE_SECONDS, TtlCache
from api.head import HeadAsGetMiddleware
from api.replica import ReadRoutingMiddleware, ReplicaHeaderMiddleware
from api.routers import (
    admin,
    admin_webhooks,
    attachments,
    catalog,
    cities,
    dashboard,
    events,
    health,
    items,
    layers,
    maps,
    ogc,
    processes,
    programmes,
    rasters,
    rdtr,
    search,
    tiles,
    wall,
    wfs,
    wms,
    wmts,
)
from gis.core.db import make_service_engine
from gis.core.settings import Settings
from gis.data.catalog import CatalogService
from gis.data.changes import ChangeListener
from gis.data.webhook_delivery import DeliveryWorker
from gis.data.writer import FeatureWriter
from gis.processes.jobs import JobService
from gis.render import STATIC_DIR, basemap
from gis.render.dashboard import DashboardCache
from gis.render.wall import WallData
from gis.tiles.service import TileService


def enable_tcp_nodelay() -> None:
    """`uvicorn --workers N` hands its workers a listening socket created with proto 0, and asyncio only turns
    on TCP_NODELAY when proto is IPPROTO_TCP; Nagle then holds every small response ~40 ms for the client's
    delayed ACK (uvicorn issue #3149). Measured here: cached tiles went from 222 to thousands per second."""
    import asyncio.base_events
    import socket

    def set_nodelay(sock):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    if hasattr(asyncio.base_events, "_set_nodelay"):
        asyncio.base_events._set_nodelay = set_nodelay


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    enable_tcp_nodelay()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Reads of read requests go to the read replica when one is configured (api/replica.py), the rest to the
        # primary; the change listener below always listens on the primary.
        app.state.engine = make_service_engine(settings)
        app.state.replica_router = getattr(app.state.engine, "router", None)
        app.state.catalog = CatalogService(app.state.engine, ttl=CACHE_SECONDS,
                                           count_budget_ms=settings.count_budget_ms)
        app.state.tiles = TileService(app.state.engine, cache_bytes=settings.tile_cache_mb * 1_000_000,
                                      feature_cap=settings.tile_feature_cap, data_dir=settings.data_dir)
        app.state.feature_writer = FeatureWriter(app.state.engine, on_commit=app.state.write_hooks)
        app.state.webhook_worker = DeliveryWorker(app.state.engine, settings)
        listener = ChangeListener(settings.sqlalchemy_url.replace("+psycopg", ""), on_change)
        listener.start()
        app.state.change_listener = listener
        app.state.jobs = JobService(app.state.engine, settings)
        app.state.wall_data = WallData(app.state.engine, settings)
        app.state.dashboard_cache = DashboardCache(app.state.engine, settings)
        app.state.jobs.start()
        app.state.webhook_worker.start()
        basemap.check_in_background(settings.basemap_url)
        try:
            yield
        finally:
            app.state.jobs.close()
            app.state.webhook_worker.stop()
            listener.stop()
            app.state.engine.dispose()

    app = FastAPI(title=f"PetaKota - {settings.city.name}", version="0.1.0", lifespan=lifespan,
                  description="City-planning GIS service: OGC API - Features (Parts 1-4), layer catalog.")
    app.state.settings = settings
    app.state.catalog_cache = TtlCache(CACHE_SECONDS)  # the raster registry
    app.state.key_cache = TtlCache(CACHE_SECONDS)

    def on_change(layer_id: str) -> None:
        """A layer changed (our own write, or another process's via NOTIFY): drop what was cached of it."""
        router = getattr(app.state, "replica_router", None)
        if router is not None:
            router.saw_change()  # first: what is cached again from now on comes from data at least this new
        app.state.catalog.invalidate(layer_id)
        app.state.tiles.invalidate(layer_id)
        worker = getattr(app.state, "webhook_worker", None)
        if worker is not None:
            worker.wake()  # its events go out now rather than at the next poll

    # Called with the layer id after every committed write, before the response: the next tile is fresh.
    app.state.write_hooks = [on_change]
    errors.install(app)
    app.add_middleware(GZipMiddleware, minimum_size=1000)  # browsers get scripts, JSON and tiles compressed
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_mb * 1_000_000,
                       upload_bytes=settings.upload_limit_bytes)
    app.add_middleware(ReadRoutingMiddleware)
    app.add_middleware(HeadAsGetMiddleware)  # outermost: GZip and the routes see a GET
    if settings.replica_name:  # behind a load balancer: say which replica answered
        app.add_middleware(ReplicaHeaderMiddleware, name=settings.replica_name)
    # catalog before ogc and items: /collections/catalog/... is the metadata catalogue, not a layer
    for router in (health.router, catalog.router, ogc.router, items.router, tiles.router, rasters.router,
                   processes.router, maps.router, layers.router, cities.router, rdtr.router, admin.router,
                   attachments.router, wall.router, programmes.router, dashboard.router, search.router, wfs.router,
                   events.router, admin_webhooks.router, wms.router, wmts.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
