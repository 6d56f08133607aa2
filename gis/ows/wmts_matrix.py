"""The WMTS tile matrix sets: WebMercatorQuad (OGC 2D TMS, GoogleMapsCompatible) and one in the city's UTM zone,
a square grid around the city's centre (a fixed grid: it must not move when the data change, or cached tiles and
clients' tiles would disagree). Levels: 0 is one tile over 40.96 km (160 m a pixel), 10 is 16 cm a pixel."""

from __future__ import annotations

import functools

import morecantile
from pyproj import CRS, Transformer

UTM_HALF_SIDE_M = 20_480
UTM_MAX_ZOOM = 10
MERCATOR_MAX_ZOOM = 20
WEB_MERCATOR = "WebMercatorQuad"


def utm_id(srid: int) -> str:
    """EPSG:32647 -> UTM47N, EPSG:32750 -> UTM50S."""
    zone, south = srid % 100, srid // 100 == 327
    return f"UTM{zone}{'S' if south else 'N'}"


@functools.lru_cache(maxsize=16)
def matrix_sets(metric_srid: int, center_lon: float, center_lat: float) -> dict[str, morecantile.TileMatrixSet]:
    """id -> tile matrix set, for a city whose centre and metric (UTM) CRS are given."""
    x, y = Transformer.from_crs(4326, metric_srid, always_xy=True).transform(center_lon, center_lat)
    x, y = round(x, -3), round(y, -3)  # a round origin: easy to read and to check
    utm = morecantile.TileMatrixSet.custom(
        [x - UTM_HALF_SIDE_M, y - UTM_HALF_SIDE_M, x + UTM_HALF_SIDE_M, y + UTM_HALF_SIDE_M],
        CRS.from_epsg(metric_srid), id=utm_id(metric_srid), minzoom=0, maxzoom=UTM_MAX_ZOOM,
        title=f"WGS 84 / UTM zone {utm_id(metric_srid)[3:]}: the city's grid")
    return {WEB_MERCATOR: morecantile.tms.get(WEB_MERCATOR), utm.id: utm}


def max_zoom(tms: morecantile.TileMatrixSet) -> int:
    return min(tms.maxzoom, MERCATOR_MAX_ZOOM)


def srid_of(tms: morecantile.TileMatrixSet) -> int:
    return tms.crs._pyproj_crs.to_epsg()


def limits(tms: morecantile.TileMatrixSet, bbox: tuple[float, float, float, float], zoom: int
           ) -> tuple[int, int, int, int]:
    """(min row, max row, min col, max col) of the tiles of level `zoom` over a lon/lat box, inside the matrix."""
    matrix = tms.matrix(zoom)
    west, south, east, north = bbox
    to = Transformer.from_crs(4326, srid_of(tms), always_xy=True)
    x0, y0, x1, y1 = to.transform_bounds(west, south, east, north)
    left, top = matrix.pointOfOrigin
    size = matrix.cellSize * matrix.tileWidth

    def clamp(v: float, high: int) -> int:
        return max(0, min(high - 1, int(v)))

    return (clamp((top - y1) / size, matrix.matrixHeight), clamp((top - y0) / size, matrix.matrixHeight),
            clamp((x0 - left) / size, matrix.matrixWidth), clamp((x1 - left) / size, matrix.matrixWidth))
