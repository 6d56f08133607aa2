"""Database engine and migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text

from gis.core.replica import REPLICA_APPLICATION, ReplicaRouter, RoutingEngine
from gis.core.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(settings: Settings, pool_size: int | None = None) -> Engine:
    return create_engine(
        settings.sqlalchemy_url,
        pool_size=pool_size or settings.pool_size,
        max_overflow=settings.pool_size,
        pool_pre_ping=True,
        connect_args={"application_name": "petakota", "connect_timeout": 5},
    )


def make_service_engine(settings: Settings) -> Engine:
    """The service's engine: the primary alone, or, with a read replica configured, an engine that sends the
    reads of read requests to the replica (gis.core.replica)."""
    primary = make_engine(settings)
    if not settings.read_sqlalchemy_url:
        return primary
    replica = create_engine(
        settings.read_sqlalchemy_url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        pool_pre_ping=True,  # a restarted replica's dead connections are replaced, not handed out
        connect_args={"application_name": REPLICA_APPLICATION, "connect_timeout": 2},
    )
    return RoutingEngine(ReplicaRouter(primary, replica))


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", settings.sqlalchemy_url.replace("%", "%%"))
    cfg.attributes["metric_srid"] = settings.city.metric_crs
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str = "base") -> None:
    command.downgrade(alembic_config(settings), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL")).scalar()
        if not exists:
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def postgis_version(engine: Engine) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT postgis_lib_version()")).scalar()
