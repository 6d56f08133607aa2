"""Printing benchmark: the city on A3 (PDF, the layout a planning office files) and the atlas of the city's
kelurahan/desa, on the sample city of the database DATABASE_URL names (loaded when empty). Writes
docs/benchmarks-printing.md.

Goals (issue 16): an A3 PDF of the city < 5 s; the atlas of Binjai's 37 kelurahan < 60 s (2-core machine)."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gis.core import db  # noqa: E402
from gis.core.settings import Settings  # noqa: E402
from gis.data.cities import held_cities  # noqa: E402
from gis.data.registry import load_catalog  # noqa: E402
from gis.data.sample import is_empty, load_sample  # noqa: E402
from gis.render.atlas import render_atlas  # noqa: E402
from gis.render.print_map import render_print  # noqa: E402
from layers.maps import MAPS  # noqa: E402

ROUNDS = 3


def main() -> None:
    settings = Settings()
    engine = db.make_engine(settings, pool_size=1)
    if is_empty(engine):
        db.upgrade(settings)
        load_sample(engine, settings)
    code = settings.city.kode
    rows = []
    with engine.connect() as conn:
        catalog, cities = load_catalog(conn), held_cities(conn)
        for label, kwargs in (("city, A3 landscape, visible layers", {}),
                              ("city, A3 landscape, zoning + boundaries + roads",
                               {"layers": "zoning,kelurahan,kecamatan,roads,kota"})):
            times = []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                data, _info = render_print(conn, settings, MAPS[settings.city.map_id], catalog, cities, paper="A3",
                                           **kwargs)
                times.append(time.perf_counter() - started)
            rows.append((f"PDF: {label}", statistics.median(times), len(data), "< 5 s"))
        for level in ("kecamatan", "kelurahan"):
            started = time.perf_counter()
            data, info = render_atlas(conn, settings, catalog, cities, code, level=level)
            rows.append((f"atlas per {level} ({info.pages} pages, A4)", time.perf_counter() - started, len(data),
                         "< 60 s" if level == "kelurahan" else ""))
    lines = ["# Printing benchmark", "", f"City {code}; median of {ROUNDS} runs for single pages.", "",
             "| what | seconds | size (KiB) | goal |", "|---|---:|---:|---|"]
    lines += [f"| {what} | {seconds:.2f} | {size / 1024:.0f} | {goal} |" for what, seconds, size, goal in rows]
    out = ROOT / "docs" / "benchmarks-printing.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
