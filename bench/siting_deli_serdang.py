"""Siting over all of Kabupaten Deli Serdang (~2,580 km2) at 10 m: seconds and peak memory of one
site-suitability run (city 12.07), on a scratch database holding the Mebidangro sample region, with illustrative
10 m slope, flood hazard and land cover over the whole regency (registered for 12.07). Not a timed test: run it by
hand with the project's .venv and DATABASE_URL set; it prints one JSON line."""

from __future__ import annotations

import json
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _rasters(engine, settings) -> dict:
    import geopandas as gpd
    import numpy as np
    from affine import Affine
    from sqlalchemy import text

    from gis.core.cog import write_cog

    with engine.connect() as conn:
        kota = gpd.read_postgis(text("SELECT geom FROM kota WHERE kode = '12.07'"), conn, geom_col="geom")
    x0, y0, x1, y1 = kota.to_crs(32647).total_bounds
    x0, y1 = np.floor(x0 / 10) * 10 - 500, np.ceil(y1 / 10) * 10 + 500
    w, h = int(np.ceil((x1 + 500 - x0) / 10)), int(np.ceil((y1 - y0 + 500) / 10))
    rng = np.random.default_rng(1)
    coarse = (h // 100 + 1, w // 100 + 1)  # 1 km cells, repeated to 10 m: smooth enough, cheap to make

    def upscale(a):
        return np.repeat(np.repeat(a, 100, axis=0), 100, axis=1)[:h, :w]

    arrays = {"slope": upscale(rng.gamma(2.0, 3.0, coarse).astype("float32")),
              "flood_hazard": upscale(rng.choice([1, 1, 1, 2, 3], coarse).astype("uint8")),
              "landcover_2024": upscale(rng.choice([1, 2, 2, 3, 3, 4, 5], coarse).astype("uint8"))}
    transform = Affine(10.0, 0, x0, 0, -10.0, y1)
    with engine.begin() as conn:
        for dataset, array in arrays.items():
            rel = f"rasters/{dataset}_12_07.tif"
            write_cog(settings.data_dir / rel, array, transform, 32647)
            conn.execute(text(
                "INSERT INTO rasters (id, title_id, title_en, path, units, kind, illustrative, city, dataset) "
                "VALUES (:id, :id, :id, :p, '', 'continuous', true, '12.07', :d) ON CONFLICT (id) DO NOTHING"),
                {"id": f"{dataset}_12_07", "p": rel, "d": dataset})
    return {"width": w, "height": h, "pixels": w * h}


def _siting(settings, out) -> None:
    from gis.processes import Context, execute
    from gis.processes.context import _engine_for

    ctx = Context(_engine_for(settings), settings, include_private=False, owner="bench")
    start = time.perf_counter()
    result = execute("site-suitability", ctx, {"city": "12.07", "target_ha": 138, "n_candidates": 5})
    out.put({"seconds": round(time.perf_counter() - start, 1),
             "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
             "candidates": len(result["candidates"]["features"]),
             "best_score": result["candidates"]["features"][0]["properties"]["score"]})


def main() -> None:
    from sqlalchemy.engine import make_url

    from gis.core.settings import Settings
    from tests.conftest import create_database

    base = make_url(Settings().sqlalchemy_url)
    url = base.set(drivername="postgresql", database=f"{base.database}_bench_deli_serdang")
    with tempfile.TemporaryDirectory(prefix="petakota-bench-") as data_dir:
        settings = Settings(database_url=create_database(url.render_as_string(hide_password=False)),
                            data_dir=Path(data_dir))
        try:
            figures = _measure(settings)
        finally:
            _drop(url)
    print(json.dumps({"city": "12.07 Kabupaten Deli Serdang", "resolution_m": 10, **figures}))


def _drop(url) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(url.set(drivername="postgresql+psycopg", database="postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def _measure(settings) -> dict:
    from gis.core import db
    from gis.data.sample import load_region, load_sample

    db.upgrade(settings)
    engine = db.make_engine(settings, pool_size=1)
    load_sample(engine, settings)
    load_region(engine, "mebidangro")
    grid = _rasters(engine, settings)
    engine.dispose()
    queue = multiprocessing.get_context("spawn").Queue()
    child = multiprocessing.get_context("spawn").Process(target=_siting, args=(settings, queue))
    child.start()
    figures = queue.get()
    child.join()
    return {**grid, **figures}


if __name__ == "__main__":
    main()
