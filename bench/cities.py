"""Cities benchmark: what scoping by city costs, and adopting a kabupaten. Writes docs/benchmarks-cities.md.

- On the benchmark database (one city, 200,000 buildings): cold vector tiles and items pages with `?city=12.75`
  against the same requests unscoped, interleaved request by request on one service with no tile cache
  (goal: scoped / unscoped p50 <= 1.1).
- On a scratch database: `petakota city add` of Kabupaten Deli Serdang's 394 desa/kelurahan (goal < 10 s), then,
  with Binjai and Deli Serdang held, `/cities` and a scoped items page (goal p50 < 50 ms).
Run with the project's .venv and DATABASE_URL pointing at the benchmark database (make bench does it)."""

from __future__ import annotations

import math
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "layers" / "sample" / "data"
ROUNDS = 3
PAGE_100 = "/collections/kelurahan/items?city=12.07&limit=100"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def timed(http: httpx.Client, path: str) -> float:
    t0 = time.perf_counter()
    r = http.get(path)
    elapsed = (time.perf_counter() - t0) * 1000
    if r.status_code not in (200, 204):
        raise RuntimeError(f"{path}: {r.status_code} {r.text[:200]}")
    return elapsed


def scoped_vs_unscoped(url: str, bounds: tuple[float, float, float, float]) -> dict:
    """p50 of each kind, scoped and not, requests interleaved so that both see the same machine."""
    rng = random.Random(1275)
    w, s, e, n = bounds
    tiles = []
    for z in (14, 15):
        x0, y1 = tile_of(w, s, z)
        x1, y0 = tile_of(e, n, z)
        tiles += [f"/collections/buildings/tiles/WebMercatorQuad/{z}/{x}/{y}"
                  for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    rng.shuffle(tiles)
    boxes = []
    for _ in range(120):
        lon, lat = rng.uniform(w, e), rng.uniform(s, n)
        boxes.append(f"/collections/buildings/items?limit=100&bbox={lon - .003},{lat - .003},{lon + .003},{lat + .003}")
    out = {}
    with httpx.Client(base_url=url, timeout=60) as http:
        for kind, paths in (("vector tiles, cold", tiles[:150]), ("items, limit=100, bbox", boxes)):
            plain, scoped = [], []
            for _ in range(ROUNDS):
                for path in paths:
                    sep = "&" if "?" in path else "?"
                    plain.append(timed(http, path))
                    scoped.append(timed(http, f"{path}{sep}city=12.75"))
            p50, s50 = statistics.median(plain), statistics.median(scoped)
            out[kind] = {"requests": len(plain), "unscoped_p50": p50, "scoped_p50": s50, "ratio": s50 / p50}
    return out


def serve(settings):
    from tests.conftest import serve as serve_settings

    return serve_settings(settings)


def adopt_and_query(base_url: str) -> dict:
    """A scratch database with Binjai: adopt Deli Serdang, then time /cities and a scoped items page."""
    from gis.core import db
    from gis.core.settings import Settings
    from gis.data.boundaries import add_city
    from gis.data.sample import load_sample

    u = make_url(base_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{u.database}_cities"
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    settings = Settings(database_url=u.set(database=name).render_as_string(hide_password=False),
                        data_dir=ROOT / "bench" / "var-cities")
    db.upgrade(settings)
    engine = db.make_engine(settings, pool_size=2)
    load_sample(engine, settings)
    t0 = time.perf_counter()
    add_city(engine, DATA / "desa_kelurahan_deli_serdang.geojson", "desa",
                       kecamatan=DATA / "kecamatan_deli_serdang.geojson",
                       kabkota=DATA / "kabkota_deli_serdang.geojson")
    import_s = time.perf_counter() - t0
    result = {"import_s": import_s}
    with serve(settings) as url, httpx.Client(base_url=url, timeout=60) as http:
        for path in ("/cities", "/collections/kelurahan/items?city=12.07", PAGE_100):
            timed(http, path)
            result[path] = statistics.median(timed(http, path) for _ in range(50))
        result["bytes_100"] = len(http.get(PAGE_100).content)
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    return result


def main() -> None:
    from gis.core.settings import Settings

    bench = Settings(tile_cache_mb=0)
    engine = create_engine(bench.sqlalchemy_url)
    with engine.connect() as conn:
        bounds = tuple(conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                         "(SELECT ST_Extent(geom) e FROM kota) s")).one())
    engine.dispose()
    with serve(bench) as url:
        scope = scoped_vs_unscoped(url, bounds)
    adopt = adopt_and_query(bench.database_url)
    rows = [f"| {kind} | {r['requests']} | {r['unscoped_p50']:.1f} | {r['scoped_p50']:.1f} | {r['ratio']:.2f}x | "
            f"{'met' if r['ratio'] <= 1.1 else 'missed'} |" for kind, r in scope.items()]
    lines = [
        "# Cities benchmark", "",
        f"Generated by bench/cities.py (`make bench`) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; do not edit by hand.",
        "", "## Scoped by city against unscoped, one city held (benchmark database, 200,000 buildings)", "",
        "One PetaKota in-process (no tile cache), each request sent unscoped then with `?city=12.75`, "
        f"{ROUNDS} passes over the list.", "",
        "| requests | n (each) | unscoped p50 ms | scoped p50 ms | scoped / unscoped | goal <= 1.1 |",
        "|---|---|---|---|---|---|", *rows, "",
        "## Adopting a kabupaten", "",
        "| measure | value | goal |", "|---|---|---|",
        f"| `city add` Kabupaten Deli Serdang (394 desa/kelurahan, 22 kecamatan) | {adopt['import_s']:.2f} s | "
        f"< 10 s: {'met' if adopt['import_s'] < 10 else 'missed'} |",
        f"| `/cities` p50 (Binjai + Deli Serdang held) | {adopt['/cities']:.1f} ms | "
        f"< 50 ms: {'met' if adopt['/cities'] < 50 else 'missed'} |",
        f"| `/collections/kelurahan/items?city=12.07` p50 (a page of the default 10 desa) | "
        f"{adopt['/collections/kelurahan/items?city=12.07']:.1f} ms | "
        f"< 50 ms: {'met' if adopt['/collections/kelurahan/items?city=12.07'] < 50 else 'missed'} |",
        f"| the same with `limit=100` (100 desa polygons, {adopt['bytes_100'] / 1e6:.1f} MB of GeoJSON) | "
        f"{adopt[PAGE_100]:.1f} ms | - |",
        "",
    ]
    report = "\n".join(lines)
    (ROOT / "docs" / "benchmarks-cities.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
