"""Programme monitoring benchmark: importing a SIPD-style file of 500 programmes with 2,000 locations (CSV and
XLSX), the dashboard's data for those 500 programmes over HTTP (computed, then kept until the programme tables
change), the status computation itself, and the record collections. Writes docs/benchmarks-programmes.md.

Goal (issue): `/dashboard` data for 500 programmes < 300 ms p50. Runs on a scratch database next to
DATABASE_URL's (make bench points it at the benchmark cluster)."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_database  # noqa: E402
from gis.analyses import programmes as rules  # noqa: E402
from gis.core import db  # noqa: E402
from gis.core.settings import Settings  # noqa: E402
from gis.data.auth import ANONYMOUS, create_key  # noqa: E402
from gis.data.programme_frames import load_programme_data  # noqa: E402
from gis.data.programmes import import_programmes  # noqa: E402
from gis.data.sample import load_sample  # noqa: E402
from layers.sample.programmes import write_synthetic_sipd  # noqa: E402

PROGRAMMES, LOCATIONS, CITY, ROUNDS = 500, 2_000, "12.75", 21
CSV_YEAR, XLSX_YEAR = 2027, 2028
AS_OF = date(2027, 7, 1)


def timed_import(engine, path: Path) -> float:
    started = time.perf_counter()
    report = import_programmes(engine, path, CITY, by="benchmark")
    seconds = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"benchmark file refused: {[str(p) for p in report.problems[:5]]}")
    return seconds


def p50_ms(fn, rounds: int = ROUNDS) -> tuple[float, float]:
    """(first call, median of the following calls) in ms."""
    times = []
    for _ in range(rounds + 1):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times[0], statistics.median(times[1:])


def serve(settings):
    from tests.conftest import serve as serve_settings

    return serve_settings(settings)


def main() -> None:
    url = scratch_database(os.environ["DATABASE_URL"], "petakota_bench_programmes")
    data = Path(tempfile.mkdtemp(prefix="petakota-bench-programmes-"))
    settings = Settings(database_url=url, data_dir=data)
    db.upgrade(settings)
    engine = db.make_engine(settings)
    load_sample(engine, settings)
    csv = write_synthetic_sipd(data / "renja.csv", PROGRAMMES, LOCATIONS, seed=7, city=CITY, year=CSV_YEAR)
    xlsx = write_synthetic_sipd(data / "renja.xlsx", PROGRAMMES, LOCATIONS, seed=8, city=CITY, year=XLSX_YEAR)
    imports = {"CSV (long form)": timed_import(engine, csv), "XLSX (three sheets)": timed_import(engine, xlsx),
               "the CSV again (nothing changes)": timed_import(engine, csv)}
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
        _, key = create_key(conn, "benchmark analyst", "analyst")

    def compute():
        with engine.connect() as conn:
            frames = load_programme_data(conn, [CITY], ANONYMOUS, CSV_YEAR)
        statuses = rules.programme_status(frames.programmes, frames.indicators, frames.progress, frames.parcels,
                                          frames.centres, AS_OF, frames.milestones)
        return rules.scorecards(statuses, frames.locations, frames.kecamatan)

    computed = p50_ms(compute, 7)
    params = {"city": CITY, "year": CSV_YEAR, "as_of": AS_OF.isoformat()}
    http_rows = {}
    with serve(settings) as base, httpx.Client(base_url=base, timeout=120) as http:
        for who, headers in (("anonymous", {}), ("analyst key", {"X-API-Key": key})):
            started = time.perf_counter()
            body = http.get("/dashboard/data", params=params, headers=headers).json()  # computed, then kept
            first = (time.perf_counter() - started) * 1000
            _, p50 = p50_ms(lambda h=headers: http.get("/dashboard/data", params=params, headers=h)
                            .raise_for_status())
            http_rows[f"`/dashboard/data`, {who} ({len(body['programmes'])} programmes)"] = (first, p50)
        http_rows["`/collections/programmes/items?limit=1000`, analyst key"] = p50_ms(
            lambda: http.get("/collections/programmes/items", params={"limit": 1000, "tahun": CSV_YEAR},
                             headers={"X-API-Key": key}).raise_for_status())
        http_rows["`programme-status` process, per OPD, analyst key"] = p50_ms(
            lambda: http.post("/processes/programme-status/execution", headers={"X-API-Key": key},
                              json={"inputs": {"city": CITY, "year": CSV_YEAR, "as_of": AS_OF.isoformat()}})
            .raise_for_status(), 7)
    engine.dispose()
    write_report(imports, computed, http_rows)


def write_report(imports: dict, computed: tuple[float, float], http_rows: dict) -> None:
    dashboard_p50 = max(p50 for label, (_, p50) in http_rows.items() if label.startswith("`/dashboard"))
    lines = [
        "# Programme monitoring benchmark", "",
        f"Generated by bench/programmes.py (`make bench`) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; do not edit by "
        "hand.", "",
        f"A synthetic SIPD-style work plan of {PROGRAMMES} programmes ({LOCATIONS:,} locations: points, lines and "
        "areas inside Binjai's real kelurahan) on the sample city, one PetaKota in-process on the benchmark "
        "cluster.", "",
        "## Import (checks and the all-or-nothing write)", "",
        "| file | seconds |", "|---|---|",
        *[f"| {label} | {seconds:.2f} |" for label, seconds in imports.items()], "",
        "## Dashboard and records", "",
        f"The dashboard's data is computed once and kept until the programme tables change (one version query per "
        f"request); the first request computes it. Median of {ROUNDS} requests after the first.", "",
        "| request | first ms | p50 ms |", "|---|---|---|",
        *[f"| {label} | {first:.0f} | {p50:.0f} |" for label, (first, p50) in http_rows.items()],
        f"| the status computation itself (read + statuses + scorecards, no HTTP), anonymous | {computed[0]:.0f} | "
        f"{computed[1]:.0f} |", "",
        f"Goal: `/dashboard` data for 500 programmes < 300 ms p50: "
        f"{'met' if dashboard_p50 < 300 else 'missed'} ({dashboard_p50:.0f} ms).", "",
    ]
    out = ROOT / "docs" / "benchmarks-programmes.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
