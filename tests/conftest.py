"""Test fixtures: a real PostGIS database per test session, loaded with the Binjai sample city, and a real
HTTP server (uvicorn on a free port) for API tests. A skipped test fails the run (a skipped database or
browser test hides a broken install step)."""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gis.core import db
from gis.core.settings import Settings
from gis.data.sample import load_sample

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DATA = ROOT / "layers" / "sample" / "data"


def _test_database_url() -> str:
    url = os.environ.get("PETAKOTA_TEST_DATABASE_URL")
    if url:
        return url
    base = os.environ.get("DATABASE_URL")
    if not base:
        pytest.exit("Set DATABASE_URL or PETAKOTA_TEST_DATABASE_URL (make test does it)", returncode=2)
    u = make_url(base)
    return u.set(database=f"{u.database}_test").render_as_string(hide_password=False)


def create_database(url: str) -> str:
    """(Re)create an empty database at `url`; returns the URL."""
    u = make_url(Settings(database_url=url).sqlalchemy_url)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()
    return url


def scratch_settings(name: str, data_dir: Path) -> Settings:
    """Settings for a fresh empty database next to the test database (for migration/import tests)."""
    u = make_url(_test_database_url())
    url = u.set(database=f"{u.database}_{name}").render_as_string(hide_password=False)
    return Settings(database_url=create_database(url), data_dir=data_dir)


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    # Webhook retries a few tenths of a second apart, so an outage and its recovery fit in a test.
    s = Settings(database_url=create_database(_test_database_url()), data_dir=tmp_path_factory.mktemp("data"),
                 webhook_backoff_seconds=0.2, webhook_backoff_cap_seconds=1.0, webhook_poll_seconds=0.5)
    db.upgrade(s)
    return s


@pytest.fixture(scope="session")
def engine(settings):
    eng = db.make_engine(settings, pool_size=2)
    load_sample(eng, settings)
    yield eng
    eng.dispose()


@contextmanager
def serve_app(app, stop_seconds: float = 10):
    """An ASGI app under a real uvicorn on a free port, in a thread; yields its base URL, stops it on exit."""
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    port = srv.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(stop_seconds)


@contextmanager
def serve(settings):
    """Another service (its own app, settings and services) on a free port; yields its base URL."""
    from api.app import create_app

    with serve_app(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (one per test module that drives pages)."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def watched(browser):
    """Opens pages at a URL (each in its own context: own sessionStorage, no shared cache), recording what they do;
    closes them after the test. tests/test_browser.py has its own, opening first and navigating after."""
    from tests.test_browser import VIEWPORT, Watched

    opened = []

    def make(url: str, viewport: dict | None = None) -> Watched:
        w = Watched(browser.new_context(viewport=viewport or VIEWPORT)).open(url)
        opened.append(w)
        return w

    yield make
    for w in opened:
        w.close()


@pytest.fixture(scope="session")
def server(settings, engine) -> str:
    """A real HTTP server on the test database; yields its base URL."""
    with serve(settings) as url:
        yield url


@pytest.fixture(scope="session")
def region(tmp_path_factory):
    """(engine, base URL, settings) of a region database - the Binjai sample, Kabupaten Deli Serdang and
    Kabupaten Karo (real boundaries) - with its own server; one per test session."""
    from gis.data.sample import load_region

    settings = scratch_settings("region", tmp_path_factory.mktemp("region"))
    db.upgrade(settings)
    engine = db.make_engine(settings, pool_size=2)
    load_sample(engine, settings)
    load_region(engine, "mebidangro")
    with serve(settings) as url:
        yield engine, url, settings
    engine.dispose()


@pytest.fixture(scope="session")
def keys(engine) -> dict[str, str]:
    """One API key per role."""
    from gis.data.auth import create_key

    out = {}
    with engine.begin() as conn:
        for role in ("analyst", "planner", "admin"):
            out[role] = create_key(conn, f"Uji {role}", role)[1]
    return out


def problem_of(response) -> dict:
    """The RFC 9457 body of an error response (and checks it is one)."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text[:300]
    body = response.json()
    assert body["status"] == response.status_code and body["detail"]
    return body


@pytest.fixture()
def http(server):
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and not os.environ.get("PETAKOTA_ALLOW_SKIPS"):
        reporter.write_line(f"{skipped} test(s) skipped: skips count as failures here", red=True)
        session.exitstatus = 1


def live_public(engine, public_only: bool = True) -> list[str]:
    """The (public) layers the service holds now: the declared ones and those other tests added at runtime."""
    from gis.data.registry import load_catalog

    with engine.connect() as conn:
        return sorted(layer.id for layer in load_catalog(conn).values() if layer.public or not public_only)
