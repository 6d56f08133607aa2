"""The cities held: each row of the `kota` layer is a kab/kota (kota or kabupaten) with its metric CRS,
population and default map view. Every row of every layer belongs to one of them (`kabkota`, kept by the
database)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from gis.core.errors import InvalidInput

# SQLSTATE raised by the database (trigger petakota_kabkota) for a row outside every city held.
OUTSIDE_EVERY_CITY = "PKC01"


@dataclass(frozen=True)
class City:
    code: str
    name: str
    kind: str | None  # kota | kabupaten
    bbox: tuple[float, float, float, float]  # lon/lat
    area_ha: float | None
    population: int | None
    metric_crs: int | None  # EPSG code
    center: tuple[float, float]  # lon, lat of the default view
    zoom: int

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "kind": self.kind, "bbox": list(self.bbox),
                "area_ha": self.area_ha, "area_km2": None if self.area_ha is None else round(self.area_ha / 100, 2),
                "population": self.population,
                "metric_crs": f"EPSG:{self.metric_crs}" if self.metric_crs else None,
                "default_view": {"center": list(self.center), "zoom": self.zoom}}


def zoom_for(bbox: tuple[float, float, float, float]) -> int:
    """A web map zoom showing the whole box on a ~1000 px wide map."""
    span = max(bbox[2] - bbox[0], bbox[3] - bbox[1], 1e-6)
    return max(0, min(18, int(math.log2(360 * 1000 / 256 / span))))


def held_cities(conn: Connection) -> list[City]:
    """Every kab/kota held, by code."""
    rows = conn.execute(text(
        "SELECT kode, nama, jenis, area_ha, population, metric_crs, center_lon, center_lat, zoom, "
        "ST_XMin(geom) x0, ST_YMin(geom) y0, ST_XMax(geom) x1, ST_YMax(geom) y1 FROM kota ORDER BY kode")).all()
    out = []
    for r in rows:
        bbox = (r.x0, r.y0, r.x1, r.y1)
        center = (r.center_lon, r.center_lat) if r.center_lon is not None and r.center_lat is not None \
            else ((r.x0 + r.x1) / 2, (r.y0 + r.y1) / 2)
        out.append(City(r.kode, r.nama, r.jenis, bbox, r.area_ha, r.population, r.metric_crs, center,
                        r.zoom if r.zoom is not None else zoom_for(bbox)))
    return out


@contextmanager
def inside_cities() -> Iterator[None]:
    """Writes refused by the database for lying outside every city held become InvalidInput (a 400 naming the
    cities), like any other bad input."""
    try:
        yield
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != OUTSIDE_EVERY_CITY:
            raise
        diag = getattr(exc.orig, "diag", None)
        message = getattr(diag, "message_primary", None) or str(exc.orig).splitlines()[0]
        raise InvalidInput(f"{message}; nothing was written") from None
