"""Cities: how long adopting Kabupaten Deli Serdang (394 desa/kelurahan) takes, and the p50 of /cities and of items
pages scoped by city next to unscoped ones. Runs on a scratch database `<DATABASE_URL's database>_bench_cities`
(recreated): the Binjai sample, then Deli Serdang and Karo.

    PYTHONPATH=. .venv/bin/python bench/cities.py
"""

from __future__ import annotations

import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gis.core import db
from gis.core.settings import Settings
from gis.data.boundaries import add_city
from gis.data.sample import load_sample
from layers.sample.generate import DATA

PATHS = ("/cities", "/collections/kelurahan/items", "/collections/kelurahan/items?city=12.75",
         "/collections/kelurahan/items?city=12.07", "/collections/zoning/items",
         "/collections/zoning/items?city=12.75")


def scratch_settings() -> Settings:
    url = make_url(Settings().sqlalchemy_url)
    name = f"{url.database}_bench_cities"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return Settings(database_url=url.set(database=name).render_as_string(hide_password=False),
                    data_dir=Path(tempfile.mkdtemp()))


def p50(client: httpx.Client, path: str, runs: int = 100) -> float:
    for _ in range(5):
        client.get(path)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        assert client.get(path).status_code == 200
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    from api.app import create_app

    settings = scratch_settings()
    db.upgrade(settings)
    engine = db.make_engine(settings, pool_size=2)
    load_sample(engine, settings)
    start = time.perf_counter()
    add_city(engine, DATA / "desa_kelurahan_deli_serdang.geojson", "desa",
             kecamatan=DATA / "kecamatan_deli_serdang.geojson", kabkota=DATA / "kabkota_deli_serdang.geojson")
    print(f"adopting Kabupaten Deli Serdang (394 desa/kelurahan, 22 kecamatan): {time.perf_counter() - start:.2f} s")
    add_city(engine, DATA / "desa_kelurahan_karo.geojson", "desa")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for path in PATHS:
            print(f"{path}: p50 {p50(client, path):.1f} ms")
    server.should_exit = True
    thread.join(10)
    engine.dispose()


if __name__ == "__main__":  # the job workers start by importing this module
    main()
