"""Coordinate reference systems offered by the API (OGC API - Features Part 2)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gis.core.errors import InvalidInput

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
_EPSG = re.compile(r"^(?:https?://www\.opengis\.net/def/crs/EPSG/0/|EPSG:|urn:ogc:def:crs:EPSG::)(\d{4,6})$")


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int
    # EPSG:4326 is latitude, longitude in OGC APIs; the database stores longitude, latitude.
    lat_lon: bool = False

    @property
    def geographic(self) -> bool:
        return self.srid == 4326

    @property
    def precision(self) -> int:
        return 7 if self.geographic else 3


def supported(metric_srid: int) -> list[Crs]:
    srids = dict.fromkeys([4326, 3857, 32647, 9477, metric_srid])
    return [Crs(CRS84, 4326)] + [Crs(EPSG_URI.format(s), s, lat_lon=(s == 4326)) for s in srids]


def parse(value: str | None, metric_srid: int, what: str = "crs") -> Crs:
    """A CRS URI (or EPSG:xxxx shorthand) -> Crs; CRS84 when absent."""
    if not value:
        return Crs(CRS84, 4326)
    value = value.strip().strip("<>")
    if value in (CRS84, "CRS84", "OGC:CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84"):
        return Crs(CRS84, 4326)
    match = _EPSG.match(value)
    offered = supported(metric_srid)
    if match:
        for crs in offered:
            if crs.srid == int(match.group(1)) and crs.uri != CRS84:
                return crs
    raise InvalidInput(f"{what} {value!r} is not supported; use one of: {', '.join(c.uri for c in offered)}")
