"""Population grids per city: a total (and optional per-desa/kelurahan figures) spread over residential land as
a 10 m Cloud-Optimised GeoTIFF in the city's metric CRS, registered as the city's `population` raster, which
park-coverage reads. Residential land is the city's residential zoning where it has zoning, else built-up land
cover where it has land cover, else the whole land evenly; the result says which it used."""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
from affine import Affine
from rasterio.features import rasterize
from sqlalchemy import Engine, text

from gis.analyses.grid import Raster, mosaic
from gis.analyses.suitability import HOUSING_ZONES
from gis.core.cog import write_cog
from gis.core.errors import InvalidInput
from gis.core.settings import Settings
from gis.data.cities import City, held_cities

RESOLUTION = 10.0
BUILT_UP = 1  # land-cover class (layers/rasters.py)
MAX_PEOPLE = 300_000_000


@dataclass(frozen=True)
class Built:
    city: str
    raster_id: str
    total: float
    basis: str  # what the people were spread over
    cells: int  # pixels holding people
    from_file: int  # desa/kelurahan whose figure came from the file

    def line(self) -> str:
        per = f", {self.from_file} desa/kelurahan from the file" if self.from_file else ""
        return (f"population grid {self.raster_id} for {self.city}: {self.total:,.0f} people over {self.basis} "
                f"({self.cells:,} cells of {RESOLUTION:g} m{per})")


def _city(engine: Engine, code: str) -> City:
    with engine.connect() as conn:
        held = held_cities(conn)
    for city in held:
        if city.code == code:
            return city
    choices = ", ".join(f"{c.code} ({c.name})" for c in held) or "none yet"
    raise InvalidInput(f"unknown city {code[:20]!r}; cities held: {choices}")


def read_per_desa(path: Path, codes: set[str]) -> dict[str, float]:
    """kode -> people from a CSV with columns `kode` and `population` (or `penduduk`); every problem named."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInput(f"{path.name}: cannot be read as CSV ({exc})") from None
    column = next((c for c in ("population", "penduduk") if rows and c in rows[0]), None)
    if not rows or "kode" not in rows[0] or column is None:
        raise InvalidInput(f"{path.name}: needs the columns kode and population (or penduduk), one row per "
                           "desa/kelurahan")
    out, problems = {}, []
    for n, row in enumerate(rows, start=2):
        kode, value = (row.get("kode") or "").strip(), (row.get(column) or "").strip()
        try:
            people = float(value)
        except ValueError:
            people = -1.0
        if kode not in codes:
            problems.append(f"line {n}: {kode!r} is not a desa/kelurahan of the city")
        elif kode in out:
            problems.append(f"line {n}: {kode} is listed twice")
        elif not (0 <= people <= MAX_PEOPLE):
            problems.append(f"line {n}: {column} {value!r} is not a number of people")
        else:
            out[kode] = people
    if problems:
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise InvalidInput(f"{path.name}: " + "; ".join(problems[:5]) + more + "; nothing was written")
    return out


def _grid(city_m, res: float = RESOLUTION) -> Raster:
    x0, y0, x1, y1 = city_m.bounds
    x0, y1 = np.floor(x0 / res) * res, np.ceil(y1 / res) * res
    width, height = int(np.ceil((x1 - x0) / res)), int(np.ceil((y1 - y0) / res))
    return Raster(np.zeros((height, width), dtype="uint8"), Affine(res, 0.0, x0, 0.0, -res, y1), None)


def _residential(engine: Engine, city: City, grid: Raster, crs: int, land: np.ndarray, settings: Settings):
    """Where people live, and what that was taken from."""
    with engine.connect() as conn:
        zones = gpd.read_postgis(text("SELECT geom FROM zoning WHERE kabkota = :c AND kodszn = ANY(:z)"),
                                 conn, params={"c": city.code, "z": list(HOUSING_ZONES)}, geom_col="geom")
        has_zoning = conn.execute(text("SELECT count(*) FROM zoning WHERE kabkota = :c"),
                                  {"c": city.code}).scalar() > 0
        cover = conn.execute(text(
            "SELECT coalesce(dataset, id) AS d, path FROM rasters WHERE owner IS NULL "
            "AND coalesce(dataset, id) LIKE 'landcover%' AND coalesce(city, :default) = :c "
            "ORDER BY coalesce(dataset, id) DESC LIMIT 1"), {"c": city.code, "default": settings.city.kode}).first()
    if has_zoning and len(zones):
        mask = grid.mask(list(zones.to_crs(crs).geometry)) & land
        if mask.any():
            return mask, "residential zoning"
    if cover is not None:
        values, covered = mosaic([Raster.open(settings.data_dir / cover.path)], grid, "uint8")
        mask = (values == BUILT_UP) & covered & land
        if mask.any():
            return mask, f"built-up land cover ({cover.d})"
    return land, "the land evenly (no residential zoning or land cover)"


def build_population(engine: Engine, settings: Settings, code: str, total: float,
                     per_desa: Path | None = None) -> Built:
    """Build and register the city's population grid, all-or-nothing (a new file; the registry row and the file
    swap together, the old file is removed only after the new row is committed)."""
    if not (0 < total <= MAX_PEOPLE):
        raise InvalidInput(f"total must be a number of people above 0 (got {total:g})")
    city = _city(engine, code)
    crs = city.metric_crs or settings.city.metric_crs
    with engine.connect() as conn:
        kota = gpd.read_postgis(text("SELECT geom FROM kota WHERE kode = :c"), conn, params={"c": code},
                                geom_col="geom").to_crs(crs)
        units = gpd.read_postgis(text("SELECT kode, geom FROM kelurahan WHERE kabkota = :c ORDER BY kode"), conn,
                                 params={"c": code}, geom_col="geom").to_crs(crs)
    grid = _grid(kota.union_all())
    grid = Raster(grid.array, grid.transform, crs)
    land = grid.mask(list(kota.geometry))  # pixel centres inside the city: what zonal sums count
    basis, basis_name = _residential(engine, city, grid, crs, land, settings)
    figures = read_per_desa(per_desa, set(units.kode)) if per_desa is not None else {}
    listed = sum(figures.values())
    if listed > total * (1 + 1e-9):
        raise InvalidInput(f"the desa/kelurahan figures add up to {listed:,.0f}, more than the total {total:,.0f}; "
                           "nothing was written")
    if len(figures) == len(units) and units.size and abs(listed - total) > 0.5:
        raise InvalidInput(f"every desa/kelurahan is listed and their figures add up to {listed:,.0f}, not the "
                           f"total {total:,.0f}; nothing was written")
    population = _spread(grid, units, figures, total - listed, basis, land)
    return _register(engine, settings, city, grid, population, basis_name, len(figures))


def _spread(grid: Raster, units: gpd.GeoDataFrame, figures: dict[str, float], rest: float, basis: np.ndarray,
            land: np.ndarray) -> np.ndarray:
    """Each listed unit's people over its residential cells (its land when it has none); the rest over the
    residential cells of the units not listed (the whole city's when none is listed)."""
    weights = basis.astype("float64")
    if not figures:
        return (weights * (rest / weights.sum())).astype("float32")
    labels = rasterize([(g, i) for i, g in enumerate(units.geometry, start=1)], out_shape=grid.shape,
                       transform=grid.transform, fill=0, dtype="int32")
    labels[~land] = 0
    index = {k: i for i, k in enumerate(units.kode, start=1)}
    n = len(units) + 1
    on_basis = np.bincount(labels.ravel(), weights=basis.ravel(), minlength=n)
    on_land = np.bincount(labels.ravel(), minlength=n)
    per_cell = np.zeros(n)
    use_land = np.zeros(n, dtype=bool)
    for kode, people in figures.items():
        i = index[kode]
        use_land[i] = on_basis[i] == 0
        cells = on_land[i] if use_land[i] else on_basis[i]
        if cells == 0 and people > 0:
            raise InvalidInput(f"desa/kelurahan {kode} covers no {RESOLUTION:g} m cell: its people cannot be placed")
        per_cell[i] = people / cells if cells else 0.0
    unlisted = np.ones(n, dtype=bool)
    unlisted[0] = False
    unlisted[[index[k] for k in figures]] = False
    rest_cells = on_basis[unlisted].sum()
    if rest > 0.5 and rest_cells == 0:
        raise InvalidInput(f"{rest:,.0f} people are left for the desa/kelurahan not listed, but they hold no "
                           "residential land; list every desa/kelurahan or lower the total; nothing was written")
    per_cell[unlisted] = rest / rest_cells if rest_cells else 0.0
    cell_value = per_cell[labels]
    placed = np.where(use_land[labels], land, basis) & (labels > 0)
    return np.where(placed, cell_value, 0.0).astype("float32")


def _register(engine: Engine, settings: Settings, city: City, grid: Raster, population: np.ndarray, basis: str,
              from_file: int) -> Built:
    raster_id = "population" if city.code == settings.city.kode else f"population_{city.code.replace('.', '_')}"
    rel = f"rasters/{raster_id}_{uuid.uuid4().hex[:8]}.tif"
    path = settings.data_dir / rel
    write_cog(path, population, grid.transform, grid.crs)
    try:
        with engine.begin() as conn:
            old = conn.execute(text("SELECT path FROM rasters WHERE id = :id"), {"id": raster_id}).scalar()
            conn.execute(text("DELETE FROM rasters WHERE owner IS NULL AND city = :c AND dataset = 'population' "
                              "AND id <> :id"), {"c": city.code, "id": raster_id})
            conn.execute(text(
                "INSERT INTO rasters (id, title_id, title_en, path, units, kind, illustrative, source, city, dataset) "
                "VALUES (:id, :ti, :te, :p, 'people per cell', 'continuous', false, :s, :c, 'population') "
                "ON CONFLICT (id) DO UPDATE SET path = EXCLUDED.path, source = EXCLUDED.source, city = EXCLUDED.city, "
                "dataset = EXCLUDED.dataset, illustrative = false"),
                {"id": raster_id, "ti": f"Sebaran penduduk {city.name}", "te": f"Population, {city.name}", "p": rel,
                 "s": f"petakota population build: {population.sum(dtype='float64'):,.0f} people over {basis}",
                 "c": city.code})
    except Exception:
        path.unlink(missing_ok=True)
        raise
    if old and old != rel:
        (settings.data_dir / old).unlink(missing_ok=True)
    return Built(city.code, raster_id, float(population.sum(dtype="float64")), basis, int((population > 0).sum()),
                 from_file)
