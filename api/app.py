"""The FastAPI application factory."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import errors
from api.deps import CACHE_SECONDS, TtlCache
from api.routers import admin, health, items, layers, ogc
from gis.db import make_engine
from gis.settings import Settings

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.engine = make_engine(settings)
        try:
            yield
        finally:
            app.state.engine.dispose()

    app = FastAPI(title=f"PetaKota - {settings.city.name}", version="0.1.0", lifespan=lifespan,
                  description="City-planning GIS service: OGC API - Features (Parts 1-4), layer catalog.")
    app.state.settings = settings
    app.state.catalog_cache = TtlCache(CACHE_SECONDS)
    app.state.stats_cache = TtlCache(CACHE_SECONDS)
    app.state.key_cache = TtlCache(CACHE_SECONDS)
    # Called with the layer id after every committed write (cache invalidation).
    app.state.write_hooks = [lambda layer_id: app.state.stats_cache.clear()]
    errors.install(app)
    for router in (health.router, ogc.router, items.router, layers.router, admin.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
