"""Reading and writing a raster file window by window, for the region-scale analyses on Dask: the windows of a
grid, one window read as Raster.open reads a whole file, a window's result written as a GeoTIFF tile, and a
VRT gathering the tiles into one raster (made a COG by whoever keeps it)."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window as ReadWindow

from gis.analyses.grid import Raster
from gis.analyses.siting_blocks import GridSpec, Window

VRT_TYPES = {"uint8": "Byte", "uint16": "UInt16", "int32": "Int32", "float32": "Float32", "float64": "Float64"}


def crs_text(crs) -> str:
    return f"EPSG:{crs}" if isinstance(crs, int) else crs


def blocks(grid: GridSpec, rows: tuple[int, int], cols: tuple[int, int], chunk: int) -> list[Window]:
    """The chunk x chunk windows of the grid covering rows[0]:rows[1] and cols[0]:cols[1], row by row."""
    return [grid.window(r, min(r + chunk, rows[1]), c, min(c + chunk, cols[1]))
            for r in range(rows[0], rows[1], chunk) for c in range(cols[0], cols[1], chunk)]


def raster_grid(path: str | Path) -> tuple[Affine, tuple[int, int], int | str]:
    """The transform, shape and CRS of a raster file, without reading its cells."""
    with rasterio.open(path) as ds:
        return ds.transform, (ds.height, ds.width), ds.crs.to_epsg() or ds.crs.to_string()


def read_block(path: str | Path, block: Window) -> Raster:
    """One block of a raster file, as Raster.open reads the whole file (nodata and NaN as 0)."""
    with rasterio.open(path) as ds:
        window = ReadWindow(block.c0, block.r0, block.shape[1], block.shape[0])
        data = np.ma.filled(ds.read(1, window=window, masked=True), 0)
        if data.dtype.kind == "f":
            data = np.nan_to_num(data, nan=0.0)
        return Raster(data, ds.window_transform(window), ds.crs.to_epsg() or ds.crs.to_string())


def tile_name(block) -> str:
    return f"{block.r0}_{block.c0}.tif"


def write_tile(tile_dir: Path, block: Window, array: np.ndarray, transform: Affine, crs, nodata=None) -> None:
    """A block's result as a tiled GeoTIFF in `tile_dir` (written under another name, then renamed: a block
    computed twice replaces the same values whole)."""
    path = tile_dir / tile_name(block)
    tmp = path.with_suffix(".tmp")
    with rasterio.open(tmp, "w", driver="GTiff", height=array.shape[0], width=array.shape[1], count=1,
                       dtype=array.dtype.name, crs=crs_text(crs), transform=transform, nodata=nodata, tiled=True,
                       blockxsize=256, blockysize=256, compress="DEFLATE") as ds:
        ds.write(array, 1)
    tmp.replace(path)


def write_vrt(path: Path, transform: Affine, shape: tuple[int, int], crs, dtype: str, tile_dir: Path,
              tiles: list, nodata: float | None = None) -> None:
    """One raster of the grid over the tiles written for `tiles` (anything with r0, c0 and shape, named as
    `tile_name` names them); cells no tile covers read as 0, or as `nodata` when given."""
    t = transform
    kind, mark = ("SimpleSource", "") if nodata is None else ("ComplexSource", f"<NODATA>{nodata!r}</NODATA>")
    sources = []
    for b in tiles:
        rows, cols = b.shape
        sources.append(
            f'<{kind}><SourceFilename relativeToVRT="1">{escape(tile_dir.name)}/{tile_name(b)}'
            f'</SourceFilename><SourceBand>1</SourceBand><SrcRect xOff="0" yOff="0" xSize="{cols}" '
            f'ySize="{rows}"/><DstRect xOff="{b.c0}" yOff="{b.r0}" xSize="{cols}" ySize="{rows}"/>{mark}</{kind}>')
    srs = escape(CRS.from_user_input(crs_text(crs)).to_wkt())
    band_nodata = "" if nodata is None else f"<NoDataValue>{nodata!r}</NoDataValue>"
    path.write_text(
        f'<VRTDataset rasterXSize="{shape[1]}" rasterYSize="{shape[0]}"><SRS>{srs}</SRS>'
        f"<GeoTransform>{t.c!r}, {t.a!r}, {t.b!r}, {t.f!r}, {t.d!r}, {t.e!r}</GeoTransform>"
        f'<VRTRasterBand dataType="{VRT_TYPES[dtype]}" band="1">{band_nodata}{"".join(sources)}'
        f"</VRTRasterBand></VRTDataset>\n")
