"""Illustrative 30 m rasters of a sample regency (10 m would be ~25 million cells per layer for Deli Serdang's
~2,500 km2): elevation, slope (%), flood hazard, land cover 2024 and population summing to the regency's
population. Registered per city (`rasters.city`, `rasters.dataset`), so processes find each city's own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rasterio.features import rasterize
from rasterio.transform import Affine
from scipy import ndimage

from gis.core.cog import write_cog
from layers.sample.generate import METRIC
from layers.sample.rasters import RASTERS
from layers.sample.region import POPULATION, RegionCity

RESOLUTION = 30.0
DATASETS = ("elevation", "slope", "flood_hazard", "landcover_2024", "population")


def _grid(bounds) -> tuple[Affine, int, int]:
    minx, miny, maxx, maxy = bounds
    x0, y1 = np.floor(minx / RESOLUTION) * RESOLUTION, np.ceil(maxy / RESOLUTION) * RESOLUTION
    width, height = int(np.ceil((maxx - x0) / RESOLUTION)), int(np.ceil((y1 - miny) / RESOLUTION))
    return Affine(RESOLUTION, 0.0, x0, 0.0, -RESOLUTION, y1), width, height


def _burn(geoms, transform, shape, all_touched=True) -> np.ndarray:
    shapes = [(g, 1) for g in geoms if g is not None and not g.is_empty]
    if not shapes:
        return np.zeros(shape, dtype=bool)
    return rasterize(shapes, out_shape=shape, transform=transform, fill=0, dtype="uint8",
                     all_touched=all_touched).astype(bool)


def _noise(rng, shape, scale_px: float) -> np.ndarray:
    n = ndimage.gaussian_filter(rng.standard_normal(shape).astype("float32"), scale_px)
    return n / (np.abs(n).max() or 1.0)


def build_arrays(city: RegionCity) -> tuple[dict[str, np.ndarray], Affine]:
    reg = city.regency
    rng = np.random.default_rng(reg.seed + 1)
    kota = city.kota.to_crs(METRIC)
    transform, width, height = _grid(kota.total_bounds)
    shape = (height, width)
    # Pixel centres inside the regency: the rule zonal sums use, so the regency's population sum is its total.
    inside = _burn(kota.geometry, transform, shape, all_touched=False)
    layers = {k: v.to_crs(METRIC) for k, v in city.layers.items()}
    river_dist = ndimage.distance_transform_edt(~_burn(layers["rivers"].geometry, transform, shape)) * RESOLUTION

    rows = np.arange(height, dtype="float32")[:, None]
    elevation = reg.base_m + reg.rise_m * (rows / height) + reg.relief_m * _noise(rng, shape, 25)
    elevation -= 0.1 * reg.relief_m * np.exp(-((river_dist / 500.0) ** 2))  # river valleys
    elevation = np.maximum(elevation, 0.0).astype("float32")
    gy, gx = np.gradient(elevation, RESOLUTION)
    slope = (np.hypot(gx, gy) * 100.0).astype("float32")
    del gx, gy

    low = elevation - ndimage.grey_erosion(elevation, size=21)
    flood = np.ones(shape, dtype="uint8")
    flood[(river_dist < 900) & (low < 8)] = 2
    flood[(river_dist < 250) & (low < 4)] = 3
    del low

    # Land cover: built-up around the desa centres (the towns larger), trees on high or steep land, plantations
    # and fields between, water on the rivers.
    desa = city.desa.to_crs(METRIC)
    towns = [p.buffer(450 if jenis == "kelurahan" else 180)
             for p, jenis in zip(desa.geometry.representative_point(), desa.jenis, strict=True)]
    built = _burn(towns, transform, shape)
    cover = np.where(_noise(rng, shape, 12) > 0.0, 2, 3).astype("uint8")
    cover[(slope > 25) | (elevation > reg.base_m + 0.8 * reg.rise_m + 0.5 * reg.relief_m)] = 4
    cover[_burn(layers["parks"].geometry, transform, shape)] = 4
    cover[built] = 1
    cover[river_dist < 20] = 5

    weight = np.where(cover == 1, 1.0, 0.0) * inside
    population = (weight * (POPULATION[reg.code] / weight.sum())).astype("float32")
    arrays = {"elevation": elevation, "slope": slope, "flood_hazard": flood, "landcover_2024": cover,
              "population": population}
    return arrays, transform


def raster_id(dataset: str, code: str) -> str:
    return f"{dataset}_{code.replace('.', '_')}"


def write_rasters(city: RegionCity, data_dir: Path) -> list[dict]:
    """Write the regency's COGs and return their registry rows (paths relative to the data directory)."""
    arrays, transform = build_arrays(city)
    code, name = city.regency.code, city.kota.nama.iloc[0]
    rows = []
    for dataset in DATASETS:
        rid = raster_id(dataset, code)
        write_cog(data_dir / "rasters" / f"{rid}.tif", arrays[dataset], transform, METRIC)
        meta = RASTERS[dataset]
        rows.append({"id": rid, "path": f"rasters/{rid}.tif", "illustrative": True,
                     "source": "PetaKota sample generator (illustrative)", "acquired": meta.get("acquired"),
                     "title_id": f"{meta['title_id']} {name}", "title_en": f"{meta['title_en']}, {name}",
                     "units": meta["units"], "kind": meta["kind"], "city": code, "dataset": dataset})
    return rows
