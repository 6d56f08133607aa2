"""RDTR benchmark: importing a 5,000-zone plan in the national standard (read + every check + the atomic write of
a new version) and the KKPR conformity check on it. Writes docs/benchmarks-rdtr.md.

Goals (issue): import + validation of 5,000 zones < 30 s on 2 cores; a conformity check < 200 ms p50.
Runs on a scratch database next to DATABASE_URL's (make bench points it at the benchmark cluster)."""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_database  # noqa: E402
from gis.core import db  # noqa: E402
from gis.core.settings import Settings  # noqa: E402
from gis.data.itbx_files import write_itbx_csv  # noqa: E402
from gis.data.rdtr_import import import_plan  # noqa: E402
from gis.data.sample import load_sample  # noqa: E402
from gis.processes.context import Context  # noqa: E402
from gis.processes.zoning import ZoningConformityInputs, run_zoning_conformity  # noqa: E402
from layers.sample.rdtr_synthetic import synthetic_itbx, synthetic_plan, write_package  # noqa: E402

ZONES, CITY, ROUNDS, SITES = 5_000, "12.75", 3, 200


def main() -> None:
    url = scratch_database(os.environ["DATABASE_URL"], "petakota_bench_rdtr")
    data = Path(tempfile.mkdtemp(prefix="petakota-bench-rdtr-"))
    settings = Settings(database_url=url, data_dir=data)
    db.upgrade(settings)
    engine = db.make_engine(settings)
    load_sample(engine, settings)
    plan = synthetic_plan(ZONES, seed=2024)
    gpkg = write_package(plan, data / "rdtr_5000.gpkg")
    itbx = data / "itbx.csv"
    write_itbx_csv(synthetic_itbx(sorted(set(plan.kodszn))), itbx)

    checks, imports = [], []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        dry = import_plan(engine, gpkg, CITY, itbx_path=itbx, dry_run=True, actor="bench")
        checks.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        done = import_plan(engine, gpkg, CITY, itbx_path=itbx, actor="bench", force=True)
        imports.append(time.perf_counter() - t0)
        assert dry.ok and done.ok and done.version, done.problems[:3]

    rng = random.Random(14)
    city = gpd.GeoSeries([plan.union_all()], crs=4326).to_crs(32647).iloc[0]
    x0, y0, x1, y1 = city.bounds
    sites = []
    while len(sites) < SITES:
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if city.contains(shapely.Point(x, y)):
            half = rng.uniform(50, 400)
            sites.append(gpd.GeoSeries([shapely.box(x - half, y - half, x + half, y + half)], crs=32647)
                         .to_crs(4326).iloc[0])
    ctx = Context(engine, settings, False)
    times, verdicts = [], {}
    for i, site in enumerate(sites):
        inputs = ZoningConformityInputs(geometry=shapely.geometry.mapping(site),
                                        kbli=("10750", "68130", "47111")[i % 3])
        t0 = time.perf_counter()
        result = run_zoning_conformity(ctx, inputs)
        times.append((time.perf_counter() - t0) * 1000)
        verdicts[result["verdict"]] = verdicts.get(result["verdict"], 0) + 1
    times.sort()
    p50, p95 = statistics.median(times), times[int(0.95 * len(times)) - 1]
    lines = [
        "# RDTR benchmark",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores: a synthetic {ZONES:,}-zone plan over "
        "Kota Binjai's real boundary (layers/sample/rdtr_synthetic.py), GeoPackage in the standard's field names, "
        f"ITBX of {len(synthetic_itbx(sorted(set(plan.kodszn)))):,} rows.",
        "",
        "| step | median of 3 | runs | goal |",
        "|---|---|---|---|",
        f"| read + every check (`--dry-run`) | {statistics.median(checks):.1f} s | "
        f"{', '.join(f'{t:.1f}' for t in checks)} | |",
        f"| import: read + checks + new version written (zones, history, archive, ITBX) | "
        f"{statistics.median(imports):.1f} s | {', '.join(f'{t:.1f}' for t in imports)} | < 30 s |",
        "",
        f"Conformity (`zoning-conformity` by KBLI, in process, {SITES} random squares of 1-64 ha inside the city, "
        f"database reads included): p50 **{p50:.0f} ms**, p95 {p95:.0f} ms (goal p50 < 200 ms); "
        f"verdicts {dict(sorted(verdicts.items()))}.",
        "",
    ]
    out = ROOT / "docs" / "benchmarks-rdtr.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))
    engine.dispose()


if __name__ == "__main__":
    main()
