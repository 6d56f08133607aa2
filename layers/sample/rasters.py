"""Illustrative 10 m rasters of the sample city, written as Cloud Optimized GeoTIFFs in EPSG:32647:
elevation (lowland, ~20-60 m, river valleys), slope (%) derived from it, flood hazard (higher near rivers and
low ground), land cover at two dates (the estate cleared where land was compensated), and population summing to
the city's 315,609 people (Dukcapil, Dec 2024). Deterministic for the same sample city."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rasterio.features import rasterize
from rasterio.transform import Affine
from scipy import ndimage

from gis.core.cog import write_cog
from layers.sample.generate import METRIC, SEED, SampleCity

RESOLUTION = 10.0
MARGIN = 500.0

# id -> registry metadata (the files are <id>.tif under the raster directory)
RASTERS = {
    "elevation": dict(title_id="Ketinggian (DEM)", title_en="Elevation (DEM)", units="m", kind="continuous"),
    "slope": dict(title_id="Kemiringan lereng", title_en="Slope", units="%", kind="continuous"),
    "flood_hazard": dict(title_id="Bahaya banjir", title_en="Flood hazard", units="class", kind="categorical"),
    "landcover_2019": dict(title_id="Tutupan lahan 2019", title_en="Land cover 2019", units="class",
                           kind="categorical", acquired="2019-07-01"),
    "landcover_2024": dict(title_id="Tutupan lahan 2024", title_en="Land cover 2024", units="class",
                           kind="categorical", acquired="2024-07-01"),
    "population": dict(title_id="Sebaran penduduk", title_en="Population", units="people per cell",
                       kind="continuous"),
}


def _grid(city_bounds):
    minx, miny, maxx, maxy = city_bounds
    x0 = np.floor((minx - MARGIN) / RESOLUTION) * RESOLUTION
    y1 = np.ceil((maxy + MARGIN) / RESOLUTION) * RESOLUTION
    width = int(np.ceil((maxx + MARGIN - x0) / RESOLUTION))
    height = int(np.ceil((y1 - (miny - MARGIN)) / RESOLUTION))
    return Affine(RESOLUTION, 0.0, x0, 0.0, -RESOLUTION, y1), width, height


def _burn(shapes, transform, shape, value=1, all_touched=True) -> np.ndarray:
    shapes = [(g, value) for g in shapes if not g.is_empty]
    if not shapes:
        return np.zeros(shape, dtype="uint8")
    return rasterize(shapes, out_shape=shape, transform=transform, fill=0, dtype="uint8", all_touched=all_touched)


def _smooth_noise(rng, shape, scale_px: float) -> np.ndarray:
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), scale_px)
    return noise / (np.abs(noise).max() or 1.0)


def build_arrays(city: SampleCity, population_total: int) -> tuple[dict[str, np.ndarray], Affine]:
    rng = np.random.default_rng(SEED + 1)
    kota = city.kota.to_crs(METRIC)
    transform, width, height = _grid(kota.total_bounds)
    shape = (height, width)
    layers = {k: v.to_crs(METRIC) for k, v in city.layers.items()}

    # Pixel centres inside the city: the same rule zonal statistics use, so the city's sum is the total.
    inside = _burn(kota.geometry, transform, shape, all_touched=False).astype(bool)
    river_px = _burn(layers["rivers"].geometry, transform, shape)
    river_dist = ndimage.distance_transform_edt(river_px == 0) * RESOLUTION

    rows = np.arange(height)[:, None]
    # Ground falls from ~55 m in the south to ~25 m in the north, with gentle undulation and river valleys.
    elevation = 25.0 + 30.0 * (rows / height) + 3.0 * _smooth_noise(rng, shape, 60)
    elevation -= 4.0 * np.exp(-((river_dist / 300.0) ** 2))
    elevation -= 7.0 * np.clip(1.0 - river_dist / 45.0, 0, 1)  # steep banks next to the channel
    elevation = elevation.astype("float32")

    gy, gx = np.gradient(elevation.astype("float64"), RESOLUTION)
    slope = (np.hypot(gx, gy) * 100.0).astype("float32")

    height_above_river = elevation - ndimage.grey_erosion(elevation, size=41)
    flood = np.ones(shape, dtype="uint8")
    flood[(river_dist < 600) & (height_above_river < 6)] = 2
    flood[(river_dist < 200) & (height_above_river < 4)] = 3

    # Land cover: built-up around the centre, plantations and rice fields outside, water on the rivers.
    centre = layers["zoning"][layers["zoning"].kodszn == "K-1"].union_all().centroid
    cols = np.arange(width)[None, :]
    x = transform.c + (cols + 0.5) * RESOLUTION
    y = transform.f - (rows + 0.5) * RESOLUTION
    dist_centre = np.hypot(x - centre.x, y - centre.y)
    p_built = np.clip(1.15 - dist_centre / 4500.0, 0.03, 0.95) + 0.25 * _smooth_noise(rng, shape, 8)
    field_noise = _smooth_noise(rng, shape, 15)
    lc2019 = np.where(field_noise > 0.1, 3, 2).astype("uint8")
    lc2019[_smooth_noise(rng, shape, 10) > 0.55] = 4
    lc2019[p_built > 0.6] = 1
    estate = _burn(layers["projects"].geometry, transform, shape).astype(bool)
    lc2019[estate] = 2  # ex-PTPN II plantation land
    lc2019[_burn(layers["parks"].geometry, transform, shape).astype(bool)] = 4
    lc2019[river_dist < 12] = 5
    lc2024 = lc2019.copy()
    lc2024[(p_built > 0.5) & (lc2019 != 5) & (lc2019 != 4)] = 1  # the city grew
    parcels = layers["project_parcels"]
    cleared = parcels[parcels.status.isin(["compensated", "certified"])].geometry
    lc2024[_burn(cleared, transform, shape).astype(bool) & estate] = 6
    lc2024[estate & (river_dist < 12)] = 5

    # Population: people live on built-up land, denser near the centre; none outside the city.
    weight = np.where(lc2024 == 1, 1.0, 0.04) * np.exp(-dist_centre / 3500.0) * inside
    weight[estate | (lc2024 == 5) | (lc2024 == 4)] = 0.0
    population = (weight / weight.sum() * population_total).astype("float32")

    arrays = {"elevation": elevation, "slope": slope, "flood_hazard": flood, "landcover_2019": lc2019,
              "landcover_2024": lc2024, "population": population}
    return arrays, transform


def write_rasters(city: SampleCity, out_dir: Path, population_total: int) -> list[dict]:
    """Write the COGs and return their registry rows (paths relative to the data directory)."""
    arrays, transform = build_arrays(city, population_total)
    rows = []
    for raster_id, meta in RASTERS.items():
        write_cog(out_dir / f"{raster_id}.tif", arrays[raster_id], transform, METRIC)
        rows.append({"id": raster_id, "path": f"rasters/{raster_id}.tif", "illustrative": True,
                     "source": "PetaKota sample generator (illustrative)", "acquired": meta.get("acquired"),
                     **{k: v for k, v in meta.items() if k != "acquired"}})
    return rows
