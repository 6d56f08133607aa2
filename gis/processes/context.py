"""What every process gets: the database, settings and whether the caller sees private fields, plus the input
helpers the processes share (a bad input names itself)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import geopandas as gpd
from sqlalchemy import Engine, text

from gis.analyses.grid import Raster
from gis.core.db import make_engine
from gis.core.errors import InvalidInput
from gis.core.settings import Settings
from gis.data import store

_engines: dict[str, Engine] = {}  # one engine per database in each worker process


def _engine_for(settings: Settings) -> Engine:
    engine = _engines.get(settings.sqlalchemy_url)
    if engine is None:
        engine = _engines[settings.sqlalchemy_url] = make_engine(settings, pool_size=2)
    return engine


@dataclass
class Context:
    """`owner` and `job_id` name who ran the analysis and the job it runs in: result rasters belong to them.
    A context pickles without its engine (an analysis runs in a worker process, which opens its own)."""

    engine: Engine
    settings: Settings
    include_private: bool
    owner: str | None = None
    job_id: str | None = None

    def __reduce__(self):
        return _rebuild, (self.settings, self.include_private, self.owner, self.job_id)

    def layer(self, layer_id: str) -> gpd.GeoDataFrame:
        with self.engine.connect() as conn:
            return store.read_layer(conn, layer_id, self.include_private).rename_geometry("geometry")

    def raster(self, raster_id: str) -> Raster:
        with self.engine.connect() as conn:
            path = conn.execute(text("SELECT path FROM rasters WHERE id = :id AND (owner IS NULL OR owner = :o)"),
                                {"id": raster_id, "o": self.owner}).scalar()
        if path is None:
            raise InvalidInput(f"raster {raster_id!r} is not in the registry (see /rasters)")
        return Raster.open(self.settings.data_dir / path)

    def register_raster(self, raster_id: str, raster: Raster, title_id: str, title_en: str, units: str,
                        kind: str) -> dict:
        """Write a result raster as a COG and list it in the registry, so /rasters serves its tiles to the owner.
        In a job, the id is made unique to the job: two callers with the same inputs each own their raster."""
        if self.job_id:
            raster_id = f"{raster_id}_{self.job_id[:12]}"
        rel = f"rasters/results/{raster_id}.tif"
        # Excluded cells of a score surface are NaN: declare it as nodata so readers mask them.
        path = self.settings.data_dir / rel
        raster.write_cog(path, nodata=float("nan") if raster.array.dtype.kind == "f" else None)
        try:
            with self.engine.begin() as conn:
                store.write_rows(conn, "rasters", [{"id": raster_id, "title_id": title_id, "title_en": title_en,
                                                    "path": rel, "units": units, "kind": kind, "illustrative": True,
                                                    "source": "PetaKota analysis on illustrative inputs",
                                                    "acquired": None, "owner": self.owner, "job_id": self.job_id}],
                                 key=("id",))
        except Exception:  # e.g. its job was deleted meanwhile: no file without its registry row
            path.unlink(missing_ok=True)
            raise
        return {"id": raster_id, "tiles": f"/rasters/{raster_id}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png"}


def _rebuild(settings: Settings, include_private: bool, owner: str | None, job_id: str | None) -> Context:
    return Context(_engine_for(settings), settings, include_private, owner, job_id)


def _inside_city(ctx: Context, geom, name: str):
    city = ctx.layer("kota").union_all()
    if not geom.intersects(city):
        raise InvalidInput(f"input '{name}' lies outside the city ({ctx.settings.city.name})")
    return city


def _features(gdf: gpd.GeoDataFrame) -> dict:
    return json.loads(gdf.to_json(drop_id=True, na="null"))
