"""Writing Cloud Optimized GeoTIFFs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.io import MemoryFile


def write_cog(path: Path, array: np.ndarray, transform, crs, nodata=None) -> None:
    crs = f"EPSG:{crs}" if isinstance(crs, int) else crs
    profile = dict(driver="GTiff", height=array.shape[0], width=array.shape[1], count=1, dtype=array.dtype.name,
                   crs=crs, transform=transform, nodata=nodata)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.tif")
    with MemoryFile() as mem:
        with mem.open(**profile) as ds:
            ds.write(array, 1)
        with mem.open() as src:
            rasterio.shutil.copy(src, tmp, driver="COG", compress="DEFLATE", blocksize=512,
                                 overview_resampling="nearest" if array.dtype == np.uint8 else "average")
    tmp.replace(path)  # never leave a half-written file under the real name


def cog_from_file(source: Path, path: Path) -> None:
    """A raster file (a tiled GeoTIFF written block by block) copied as a COG, streaming through GDAL's cache
    rather than reading it whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.tif")
    with rasterio.open(source) as src:
        resampling = "nearest" if src.dtypes[0] == "uint8" else "average"
        rasterio.shutil.copy(src, tmp, driver="COG", compress="DEFLATE", blocksize=512,
                             overview_resampling=resampling, BIGTIFF="IF_SAFER")
    tmp.replace(path)
