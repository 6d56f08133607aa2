"""The search migration needs no superuser: pg_trgm and unaccent are trusted extensions, so the owner of a city's
own database creates them, and the normalising function the indexes use."""

from __future__ import annotations

import importlib.util
import os
import secrets

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gis.core.settings import Settings
from tests.conftest import ROOT, _test_database_url

MIGRATION = ROOT / "gis/core/migrations/versions/0011_search.py"


def _migration():
    spec = importlib.util.spec_from_file_location("search_migration", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_plain_database_owner_creates_the_search_extensions_and_function():
    migration = _migration()
    url = make_url(Settings(database_url=_test_database_url()).sqlalchemy_url)
    role = f"petakota_owner_{os.getpid()}_{secrets.token_hex(3)}"
    database = f"{url.database}_plain_owner"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'))
            conn.execute(text(f'CREATE DATABASE "{database}" OWNER "{role}"'))
        owner = create_engine(url.set(database=database, username=role, password=None))
        with owner.begin() as conn:
            assert not conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public"))
            conn.exec_driver_sql(migration.NORMALISE)
            conn.execute(text("CREATE TABLE places (nama text)"))
            conn.execute(text("CREATE INDEX ON places USING gin (petakota_search_norm(nama) public.gin_trgm_ops)"))
            conn.execute(text("INSERT INTO places VALUES ('Tunggurono'), ('Café Binjai')"))
            assert conn.execute(text("SELECT nama FROM places WHERE 'tungurono' <% petakota_search_norm(nama)")
                                ).scalar() == "Tunggurono"
            assert conn.execute(text("SELECT petakota_search_norm('Café Binjai')")).scalar() == "cafe binjai"
        owner.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()
