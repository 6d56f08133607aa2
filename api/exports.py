"""CSV and GeoPackage downloads of a feature selection."""

from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
from fastapi.responses import Response


def csv_response(frame: gpd.GeoDataFrame, name: str) -> Response:
    table = frame.drop(columns=frame.geometry.name).assign(wkt=frame.geometry.to_wkt())
    return Response(table.to_csv(index=False), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def gpkg_response(frame: gpd.GeoDataFrame, name: str) -> Response:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.gpkg"
        frame.to_file(path, layer=name, driver="GPKG")
        data = path.read_bytes()
    return Response(data, media_type="application/geopackage+sqlite3",
                    headers={"Content-Disposition": f'attachment; filename="{name}.gpkg"'})
