"""The FastAPI application factory."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.routers import health, layers
from gis.db import make_engine
from gis.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.engine = make_engine(settings)
        try:
            yield
        finally:
            app.state.engine.dispose()

    app = FastAPI(title=f"PetaKota - {settings.city.name}", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    errors.install(app)
    app.include_router(health.router)
    app.include_router(layers.router)
    return app
